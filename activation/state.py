"""The sync state: what each destination was last sent, per member, in its own small DuckDB file.

Only the difference between what the serving copy says now and what the destination last accepted is sent. So
per (destination, member) the store keeps a hash of the synced fields and the tags as the ESP holds them, and it
is updated after every batch: a run that dies half-way resumes where it stopped, and a failed member keeps its
old hash and its error, so the next run sends it again. Members are keyed by Mailchimp's subscriber hash (MD5 of
the email); emails themselves are not stored, only the erasure ledger's salted hash of each, so an erasure that
arrives after the person left the serving copy is still recognised.

The file (`SYNC_STATE_PATH`) is separate from the warehouse, whose single writer may be busy while a sync runs.
A sync holds the file for its duration, which also stops two syncs of the same file from interleaving.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

import duckdb
import pyarrow as pa

MemberStatus = Literal["active", "pending", "archived"]
"""active: the ESP accepted the member's fields; pending: sent, not (yet) accepted; archived: removed by us."""

_DDL = """
create table if not exists sync_members (
    destination varchar not null,
    subscriber_hash varchar not null,   -- md5(lower(email)): the ESP's member id
    subject_hash varchar not null,      -- the erasure ledger's salted hash of the email
    status varchar not null,            -- active | pending | archived
    fields_hash varchar,                -- hash of the fields the ESP last accepted; null: never accepted
    tags varchar[] not null,            -- segment tags the ESP holds for the member, as far as we set them
    last_error varchar,                 -- why the last attempt failed (retried next run); null when fine
    failures integer not null,          -- consecutive failed runs
    updated_at timestamptz not null,
    primary key (destination, subscriber_hash)
);
create table if not exists sync_runs (
    run_id varchar primary key,
    destination varchar not null,
    mode varchar not null,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    outcome varchar not null,           -- succeeded | partial | aborted
    added integer, updated integer, removed integer, failed integer, invalid integer,
    skipped_no_consent integer, skipped_erased integer, skipped_absent integer, unchanged integer,
    error varchar
);
-- Who was left out and why, tags changed (SyncResult.report(), counts only) as JSON; added to older files.
alter table sync_runs add column if not exists report varchar;
"""


@dataclass(frozen=True)
class MemberState:
    subscriber_hash: str
    subject_hash: str
    status: MemberStatus
    fields_hash: str | None
    tags: frozenset[str]
    last_error: str | None = None
    failures: int = 0

    def failed(self, reason: str) -> MemberState:
        return replace(self, last_error=reason, failures=self.failures + 1)

    @property
    def may_exist(self) -> bool:
        """True when the ESP may hold the member as a contact we manage (so a removal has to reach it)."""
        return self.status != "archived"


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    destination: str
    mode: str
    started_at: datetime
    outcome: str
    counts: dict[str, int]
    error: str | None
    report: dict[str, object] | None = None
    """SyncResult.report(): counts only, never an email."""


RUN_COUNTS = (
    "added",
    "updated",
    "removed",
    "failed",
    "invalid",
    "skipped_no_consent",
    "skipped_erased",
    "skipped_absent",
    "unchanged",
)


class SyncStateStore:
    """Read and write the sync state; a context manager holding one connection for one sync."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self._con: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> Self:
        if self.read_only and not self.path.exists():
            return self  # nothing synced yet: every read answers empty
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = duckdb.connect(str(self.path), read_only=self.read_only)
        if not self.read_only:
            self._con.execute(_DDL)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def members(self, destination: str) -> dict[str, MemberState]:
        """Every member this destination was ever sent (and not forgotten), by subscriber hash."""
        if self._con is None:
            return {}
        rows = self._con.execute(
            "select subscriber_hash, subject_hash, status, fields_hash, tags, last_error, failures "
            "from sync_members where destination = ?",
            [destination],
        ).fetchall()
        return {row[0]: MemberState(row[0], row[1], row[2], row[3], frozenset(row[4]), row[5], row[6]) for row in rows}

    def save(self, destination: str, states: Iterable[MemberState]) -> None:
        """Upsert member states in one transaction (one batch's outcome is recorded whole or not at all)."""
        states = list(states)
        if not states:
            return
        now = datetime.now(UTC)
        incoming = pa.table(
            {
                "destination": pa.array([destination] * len(states), pa.string()),
                "subscriber_hash": pa.array([s.subscriber_hash for s in states], pa.string()),
                "subject_hash": pa.array([s.subject_hash for s in states], pa.string()),
                "status": pa.array([s.status for s in states], pa.string()),
                "fields_hash": pa.array([s.fields_hash for s in states], pa.string()),
                "tags": pa.array([sorted(s.tags) for s in states], pa.list_(pa.string())),
                "last_error": pa.array([s.last_error for s in states], pa.string()),
                "failures": pa.array([s.failures for s in states], pa.int32()),
                "updated_at": pa.array([now] * len(states), pa.timestamp("us", tz="UTC")),
            }
        )
        self._write("insert or replace into sync_members select * from incoming", incoming=incoming)

    def forget(self, destination: str, subscriber_hashes: Iterable[str]) -> None:
        """Drop members entirely (after an erasure reached the ESP: nothing of them is kept here either)."""
        hashes = list(subscriber_hashes)
        if hashes:
            self._write(
                "delete from sync_members where destination = ? and list_contains(?, subscriber_hash)",
                [destination, hashes],
            )

    def record_run(self, run: RunRecord) -> None:
        columns = ["run_id", "destination", "mode", "started_at", "finished_at", "outcome", *RUN_COUNTS]
        self._write(
            f"insert into sync_runs ({', '.join(columns)}, error, report) "
            f"values ({', '.join('?' for _ in columns)}, ?, ?)",
            [
                run.run_id,
                run.destination,
                run.mode,
                run.started_at,
                datetime.now(UTC),
                run.outcome,
                *(run.counts.get(name, 0) for name in RUN_COUNTS),
                run.error,
                None if run.report is None else json.dumps(run.report, sort_keys=True),
            ],
        )

    def runs(self, destination: str) -> list[dict[str, object]]:
        """Past runs of a destination, oldest first."""
        if self._con is None:
            return []
        cursor = self._con.execute("select * from sync_runs where destination = ? order by started_at", [destination])
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def _write(self, sql: str, parameters: list[object] | None = None, *, incoming: pa.Table | None = None) -> None:
        if self._con is None or self.read_only:
            raise RuntimeError("the sync state store is open read-only (dry run) or closed")
        self._con.execute("begin transaction")
        try:
            if incoming is not None:
                self._con.register("incoming", incoming)
            self._con.execute(sql, parameters)
        except BaseException:
            self._con.execute("rollback")
            raise
        finally:
            if incoming is not None:
                self._con.unregister("incoming")
        self._con.execute("commit")
