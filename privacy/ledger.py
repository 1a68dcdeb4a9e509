"""The erasure ledger: who asked to be forgotten, held only as salted hashes.

The ledger is its own small DuckDB file (`PRIVACY_LEDGER_PATH`), not a table of the warehouse: a person's request
is recorded at once even while a pipeline run holds the warehouse's single writer lock, and every layer that must
honour it (the landing reader, dbt, the serving publish, the ESP sync) reads it through this module.

Identifiers are normalized, then hashed with a secret salt (`ERASURE_SALT`). Without the salt the hashes cannot be
matched against a list of guessed emails; with it, the pipeline can recognise the person on every re-delivery.
When `ERASURE_SALT` is unset, a random salt is created once beside the ledger (`.erasure_salt`, mode 0600), which
keeps demos working; production sets the variable from its secret store. The ledger file is private to its owner
(mode 0600, core.files) like the salt: a hash is still a person's pseudonym.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import duckdb

from core.files import duckdb_files, make_private, private_umask
from core.settings import Settings, erasure_salt

SubjectKind = Literal[
    "email", "phone", "customer_id", "crm_contact_id", "shop_customer_id", "anonymous_id", "user_id",
    "helpdesk_user_id", "helpdesk_ticket_id",
]  # fmt: skip
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


_PHONE_NOISE = r"[^0-9+]"
"""Everything but ASCII digits and '+' is dropped from phones (ASCII on purpose: DuckDB's RE2 agrees)."""
_SQL_EDGE_WHITESPACE = (
    r"^[\t-\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]+"
    r"|[\t-\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]+$"
)
"""The characters Python's `str.strip()` removes, as an RE2 class: SQL trims exactly what Python trims."""


def normalize_subject(kind: str, value: str) -> str:
    """The form an identifier is hashed in, so ' Jane@X.com ' and 'jane@x.com' are one subject.

    `sql_normalized_subject` is the same function in DuckDB SQL; a test holds them together.
    """
    if kind not in SUBJECT_KINDS:
        raise ValueError(f"unknown subject kind {kind!r}; expected one of {', '.join(SUBJECT_KINDS)}")
    value = value.strip()
    if not value:
        raise ValueError(f"an empty {kind} cannot be erased")
    if kind == "email":
        return value.lower()
    if kind == "phone":
        return re.sub(_PHONE_NOISE, "", value)
    return value


def subject_hash(kind: str, value: str, salt: str) -> str:
    """Salted SHA-256 of the normalized identifier (hex): what the ledger and every filter compare."""
    normalized = normalize_subject(kind, value)
    return hashlib.sha256(f"{salt}\x1f{kind}\x1f{normalized}".encode()).hexdigest()


def sql_normalized_subject(kind: str, value_sql: str) -> str:
    """DuckDB SQL of `normalize_subject(kind, <value_sql>)`; NULL where the value is null or blank."""
    if kind not in SUBJECT_KINDS:
        raise ValueError(f"unknown subject kind {kind!r}")
    trimmed = f"regexp_replace(CAST({value_sql} AS VARCHAR), '{_SQL_EDGE_WHITESPACE}', '', 'g')"
    if kind == "email":
        trimmed = f"lower({trimmed})"
    elif kind == "phone":
        trimmed = f"regexp_replace({trimmed}, '{_PHONE_NOISE}', '', 'g')"
    return f"nullif({trimmed}, '')"


def install_subject_hash(con: duckdb.DuckDBPyConnection, salt: str) -> None:
    """Define `subject_hash_<kind>(value)` macros in `con`: `subject_hash` of one kind, vectorized in DuckDB.

    The salt is bound as a literal of a temporary macro: it lives only in this connection, never in a table.
    """
    quoted_salt = salt.replace("'", "''")
    for kind in SUBJECT_KINDS:
        con.execute(
            f"CREATE OR REPLACE TEMP MACRO subject_hash_{kind}(v) AS "
            f"sha256('{quoted_salt}' || chr(31) || '{kind}' || chr(31) || {sql_normalized_subject(kind, 'v')})"
        )


@dataclass(frozen=True)
class ErasureRequest:
    request_id: str
    subjects: tuple[tuple[str, str], ...]
    """(kind, hash) pairs recorded for this request."""


class ErasureLedger:
    """Append-only ledger of erasure requests. Short-lived connections: never holds the file open."""

    def __init__(self, settings: Settings) -> None:
        self.path = settings.ledger_path
        self.salt = erasure_salt(settings)

    @contextmanager
    def _connect(self, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one block; a writing one creates the file (and its `.wal`) 0600, and tightens a file
        an earlier version created readable to others."""
        if read_only:
            if not self.path.exists():
                raise FileNotFoundError(self.path)
            with duckdb.connect(str(self.path), read_only=True) as con:
                yield con
            return
        with private_umask():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            make_private(*duckdb_files(self.path))
            with duckdb.connect(str(self.path)) as con:
                con.execute(_LEDGER_DDL)
                yield con

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

    def record_hashes(self, entries: Iterable[tuple[str, str, str]]) -> int:
        """Record already-hashed (subject_hash, kind, request_id) rows: identifiers the pipeline resolved for
        a request (the person's other ids, found in the warehouse). Returns how many were new."""
        rows = [(digest, kind, request_id) for digest, kind, request_id in entries if kind in SUBJECT_KINDS]
        if not rows:
            return 0
        now = datetime.now(UTC)
        with self._connect(read_only=False) as con:
            (before,) = con.execute("select count(*) from erasure_requests").fetchone()
            con.executemany(
                "insert into erasure_requests values (?, ?, ?, ?) on conflict do nothing",
                [(digest, kind, request_id, now) for digest, kind, request_id in rows],
            )
            (after,) = con.execute("select count(*) from erasure_requests").fetchone()
        return after - before

    def entries(self) -> list[tuple[str, str, str]]:
        """Every (subject_hash, subject_kind, request_id) recorded; [] when nobody asked yet."""
        if not self.path.exists():
            return []
        with self._connect(read_only=True) as con:
            return con.execute(
                "select subject_hash, subject_kind, request_id from erasure_requests order by requested_at"
            ).fetchall()

    def is_erased(self, kind: str, value: str | None) -> bool:
        if value is None or not str(value).strip():
            return False
        return subject_hash(kind, str(value), self.salt) in self.hashes(kind)
