"""Matching values against the erasure ledger inside DuckDB, by hash: the SQL every erasure step shares.

The ledger holds salted SHA-256 hashes only. `install_ledger` copies them into a temporary table of one
connection with the `subject_hash_<kind>` macros (the same normalization and salt as `privacy.ledger`), so a
table's values are hashed and compared in one vectorized query and no identifier of an erased person is ever
needed in clear text.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from core.settings import Settings
from privacy.ledger import ErasureLedger, install_subject_hash

TOKEN_KINDS = ("email", "phone", "crm_contact_id", "shop_customer_id", "anonymous_id", "user_id")
_TOKENS_SQL = (
    "list_concat("
    r"""regexp_extract_all({text}, '"((?:[^"\\]|\\.)*)"', 1), """
    r"""regexp_extract_all({text}, '[^\s"'',;:<>(){{}}\[\]]+@[^\s"'',;:<>(){{}}\[\]]+'), """
    r"""regexp_extract_all({text}, '\+?[0-9][0-9 ().-]{{5,}}[0-9]'))"""
)
"""Candidate identifiers inside a line that may not be JSON (truncated, broken): quoted strings, things that look
like emails, runs of digits that look like ids or phones."""


@dataclass(frozen=True)
class LedgerSnapshot:
    salt: str
    entries: list[tuple[str, str, str]]
    """(subject_hash, subject_kind, request_id)."""

    @property
    def requests(self) -> int:
        return len({request for _, _, request in self.entries})


def ledger_snapshot(settings: Settings) -> LedgerSnapshot | None:
    """The ledger's hashes now, or None when no erasure was ever requested (then nothing is created)."""
    if not settings.ledger_path.exists():
        return None
    ledger = ErasureLedger(settings)
    entries = ledger.entries()
    return LedgerSnapshot(salt=ledger.salt, entries=entries) if entries else None


def install_ledger(con: duckdb.DuckDBPyConnection, snapshot: LedgerSnapshot) -> None:
    """`erased_subjects(subject_hash, subject_kind, request_id)` and the hash macros, in `con` only."""
    install_subject_hash(con, snapshot.salt)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE erased_subjects "
        "(subject_hash VARCHAR, subject_kind VARCHAR, request_id VARCHAR, PRIMARY KEY (subject_hash, subject_kind))"
    )
    con.executemany("INSERT OR IGNORE INTO erased_subjects VALUES (?, ?, ?)", snapshot.entries)


def subjects_list(pairs: list[tuple[str, str]]) -> str:
    """SQL list of {k, h} structs: (kind, value SQL) pairs hashed."""
    return "[" + ", ".join(f"{{'k': '{kind}', 'h': subject_hash_{kind}({value})}}" for kind, value in pairs) + "]"


def token_subjects(text_sql: str) -> str:
    """SQL: the {k, h} structs of every candidate token of a text, hashed under every token kind."""
    tokens = _TOKENS_SQL.format(text=text_sql)
    hashed = ", ".join(f"{{'k': '{kind}', 'h': subject_hash_{kind}(t)}}" for kind in TOKEN_KINDS)
    return f"flatten(list_transform({tokens}, t -> [{hashed}]))"


def hash_in_ledger(kind: str, value_sql: str) -> str:
    """SQL: the value, hashed as `kind`, is an erased subject."""
    ledger = f"SELECT subject_hash FROM erased_subjects WHERE subject_kind = '{kind}'"
    return f"subject_hash_{kind}({value_sql}) IN ({ledger})"


def clear_or_hash_in_ledger(kind: str, value_sql: str) -> str:
    """SQL: the value is an erased subject of `kind`, in clear or as the ledger's own hash (the masked `bi`
    models hash a declared column exactly as the ledger does)."""
    ledger = f"SELECT subject_hash FROM erased_subjects WHERE subject_kind = '{kind}'"
    return f"({hash_in_ledger(kind, value_sql)} OR CAST({value_sql} AS VARCHAR) IN ({ledger}))"


def delete_where(con: duckdb.DuckDBPyConnection, schema: str, table: str, condition: str) -> int:
    """Delete the rows of one table matching `condition`; returns how many."""
    (deleted,) = con.execute(f'DELETE FROM "{schema}"."{table}" WHERE {condition}').fetchone()
    return deleted


def tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(schema, table) of every table of the connection's database (views hold no rows to delete)."""
    return con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND NOT temporary ORDER BY ALL"
    ).fetchall()


def columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = ? AND table_name = ?",
            [schema, table],
        ).fetchall()
    }
