"""The erasure ledger: who asked to be forgotten, held only as salted hashes.

The ledger is its own small DuckDB file (`PRIVACY_LEDGER_PATH`), not a table of the warehouse: a person's request
is recorded at once even while a pipeline run holds the warehouse's single writer lock, and every layer that must
honour it (the landing reader, dbt, the serving publish, the ESP sync) reads it through this module.

Identifiers are normalized, then hashed with a secret salt (`ERASURE_SALT`). Without the salt the hashes cannot be
matched against a list of guessed emails; with it, the pipeline can recognise the person on every re-delivery.
When `ERASURE_SALT` is unset, a random salt is created once beside the ledger (`.erasure_salt`, mode 0600), which
keeps demos working; production sets the variable from its secret store.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import duckdb

from ingestion.settings import Settings, get_settings

SubjectKind = Literal["email", "phone", "customer_id", "crm_contact_id", "shop_customer_id", "anonymous_id", "user_id"]
SUBJECT_KINDS: tuple[str, ...] = SubjectKind.__args__  # type: ignore[attr-defined]

_LEDGER_DDL = """
create table if not exists erasure_requests (
    subject_hash varchar not null,      -- sha256(salt, kind, normalized value), hex
    subject_kind varchar not null,      -- one of SUBJECT_KINDS
    request_id varchar not null,        -- groups the identifiers of one request
    requested_at timestamptz not null,
    primary key (subject_hash, subject_kind)
)
"""


def normalize_subject(kind: str, value: str) -> str:
    """The form an identifier is hashed in, so ' Jane@X.com ' and 'jane@x.com' are one subject."""
    if kind not in SUBJECT_KINDS:
        raise ValueError(f"unknown subject kind {kind!r}; expected one of {', '.join(SUBJECT_KINDS)}")
    value = value.strip()
    if not value:
        raise ValueError(f"an empty {kind} cannot be erased")
    if kind == "email":
        return value.lower()
    if kind == "phone":
        return re.sub(r"[^\d+]", "", value)
    return value


def subject_hash(kind: str, value: str, salt: str) -> str:
    """Salted SHA-256 of the normalized identifier (hex): what the ledger and every filter compare."""
    normalized = normalize_subject(kind, value)
    return hashlib.sha256(f"{salt}\x1f{kind}\x1f{normalized}".encode()).hexdigest()


def ledger_path(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    configured = os.environ.get("PRIVACY_LEDGER_PATH")
    return Path(configured).resolve() if configured else settings.data_dir / "privacy.duckdb"


def erasure_salt(settings: Settings | None = None) -> str:
    """`ERASURE_SALT`, or the salt created once beside the ledger when the variable is unset."""
    configured = os.environ.get("ERASURE_SALT", "").strip()
    if configured:
        return configured
    salt_file = ledger_path(settings).with_name(".erasure_salt")
    if salt_file.exists():
        return salt_file.read_text().strip()
    salt_file.parent.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(32)
    fd = os.open(salt_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(salt)
    return salt


@dataclass(frozen=True)
class ErasureRequest:
    request_id: str
    subjects: tuple[tuple[str, str], ...]
    """(kind, hash) pairs recorded for this request."""


class ErasureLedger:
    """Append-only ledger of erasure requests. Short-lived connections: never holds the file open."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.path = ledger_path(settings)
        self.salt = erasure_salt(settings)

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        if read_only and not self.path.exists():
            raise FileNotFoundError(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.path), read_only=read_only)
        if not read_only:
            con.execute(_LEDGER_DDL)
        return con

    def record(self, subjects: Iterable[tuple[str, str]], request_id: str | None = None) -> ErasureRequest:
        """Record the (kind, raw value) identifiers of one request; only their hashes are written."""
        hashed = tuple((kind, subject_hash(kind, value, self.salt)) for kind, value in subjects)
        if not hashed:
            raise ValueError("an erasure request needs at least one identifier")
        request_id = request_id or secrets.token_hex(8)
        now = datetime.now(UTC)
        with self._connect(read_only=False) as con:
            con.executemany(
                "insert into erasure_requests values (?, ?, ?, ?) on conflict do nothing",
                [(digest, kind, request_id, now) for kind, digest in hashed],
            )
        return ErasureRequest(request_id=request_id, subjects=hashed)

    def hashes(self, kind: str | None = None) -> set[str]:
        """Every recorded hash (of one kind, if given). An absent ledger means nobody asked yet."""
        if not self.path.exists():
            return set()
        with self._connect(read_only=True) as con:
            if kind is None:
                rows = con.execute("select subject_hash from erasure_requests").fetchall()
            else:
                rows = con.execute(
                    "select subject_hash from erasure_requests where subject_kind = ?", [kind]
                ).fetchall()
        return {row[0] for row in rows}

    def is_erased(self, kind: str, value: str | None) -> bool:
        if value is None or not str(value).strip():
            return False
        return subject_hash(kind, str(value), self.salt) in self.hashes(kind)
