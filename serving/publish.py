"""The serving copy: what BI tools and the ESP sync read, a read-only file replaced atomically after checks passed.

Nothing may read the warehouse while dlt or dbt write it (DuckDB: one writer, and no readers from other
processes meanwhile). Consumers read `SERVING_PATH` instead: a separate DuckDB file holding only the schemas they
need (docs/contracts.md section 4): `marts`, and the dbt models made for consumers, `bi` (every mart, personal
data hashed) and `activation` (who the email platform may mail). Each publish copies them into a complete new
file beside it and renames it over the old one (`os.replace`, atomic on one file system), so a reader sees the
old tables or the new ones, never a mix and never an error: a connection opened before the rename keeps reading
the old file until it closes.

The file holds clear emails (`marts`, `activation`), so it is its owner's only (0600): the ESP sync, erasure and
`warehouse metrics` read it as the pipeline's user. BI tools read the BI artifact published from it
(serving.bi_artifact: the `bi` tables only, fresh for pooled connections) or the PostgreSQL target.

What those tables hold is defined in dbt (models/serving/), with contracts and tests; this module only copies.
Its one addition is a guard: people in the erasure ledger are deleted from the copied `bi` and `activation`
tables, so that a request recorded after this run's erasure step still never reaches a consumer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core.files import duckdb_files, make_private, private_umask
from core.settings import Settings
from privacy.matching import LedgerSnapshot, install_ledger, ledger_snapshot, tables
from privacy.models import delete_from_model
from privacy.registry import PiiRegistry

MARTS_SCHEMA = "marts"
CONSUMER_SCHEMAS = ("bi", "activation")
"""The dbt serving models' schemas (models/serving/): `bi` for BI tools, `activation` for the email platform."""

Guard = Callable[[duckdb.DuckDBPyConnection], int]
"""Runs on the new file's copied tables before the rename; returns rows deleted."""


@dataclass(frozen=True)
class Published:
    path: Path
    row_counts: dict[str, int]
    """Rows per mart."""
    consumer_row_counts: dict[str, int] = field(default_factory=dict)
    """Rows per `bi.*` / `activation.*` table, after the erasure guard."""
    erased_rows_removed: int = 0
    """Rows of erased people the guard deleted from the copy."""


def remove_abandoned_publishes(serving: Path) -> list[Path]:
    """Delete the half-written files of publishes whose process is gone (killed before its rename).

    Their names carry the publisher's pid (`.<serving name>.<pid>.publishing`, and DuckDB's `.wal` beside it);
    a live publisher's file is never touched. Returns the files removed.
    """
    removed = []
    for leftover in serving.parent.glob(f".{serving.name}.*.publishing*"):
        pid = leftover.name[len(serving.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not process_exists(int(pid)):
            leftover.unlink(missing_ok=True)
            removed.append(leftover)
    return removed


def process_exists(pid: int) -> bool:
    """Whether process `pid` is alive (also someone else's): a publish it started may still be writing."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def publish_serving(warehouse: Path, serving: Path, settings: Settings, registry: PiiRegistry) -> Published:
    """The serving copy of contract section 4: `marts`, `bi` and `activation`, published atomically, without
    the people the erasure ledger holds now (found in the columns `registry` declares personal)."""
    snapshot = ledger_snapshot(settings)
    guard = None if snapshot is None else (lambda connection: remove_erased_people(connection, snapshot, registry))
    return publish_schemas(warehouse, serving, (MARTS_SCHEMA, *CONSUMER_SCHEMAS), guard)


def publish_marts(warehouse: Path, serving: Path, schema: str = MARTS_SCHEMA) -> Published:
    """The serving copy of one schema alone (the marts by default)."""
    return publish_schemas(warehouse, serving, (schema,))


def publish_schemas(warehouse: Path, serving: Path, schemas: Sequence[str], guard: Guard | None = None) -> Published:
    """Copy every table of `schemas` from the warehouse into a new file, then atomically replace `serving`.

    A schema the warehouse lacks is left out. `guard` runs on the new file before the rename. The new file is
    fully written and closed (checkpointed, no WAL left) before the rename. A failure on the way leaves the
    previous serving file untouched. The file is its owner's only (0600): it holds `marts` and `activation` in
    clear; BI tools read the BI artifact (serving.bi_artifact) instead.
    """
    serving.parent.mkdir(parents=True, exist_ok=True)
    staging_file = serving.with_name(f".{serving.name}.{os.getpid()}.publishing")
    staging_file.unlink(missing_ok=True)
    remove_abandoned_publishes(serving)
    try:
        with private_umask():
            connection = duckdb.connect(str(staging_file))
        try:
            connection.execute(f"ATTACH {sql_string(str(warehouse))} AS warehouse (READ_ONLY)")
            for schema in schemas:
                copy_schema(connection, schema)
            connection.execute("DETACH warehouse")
            erased = guard(connection) if guard is not None else 0
            counts = row_counts(connection)
            connection.execute("CHECKPOINT")
        finally:
            connection.close()
        make_private(*duckdb_files(staging_file))  # created before this module set the umask, or by a laxer one
        os.replace(staging_file, serving)
    finally:
        staging_file.unlink(missing_ok=True)
    return Published(
        path=serving,
        row_counts={table: rows for (schema, table), rows in counts.items() if schema == schemas[0]},
        consumer_row_counts={f"{s}.{t}": rows for (s, t), rows in counts.items() if s != schemas[0]},
        erased_rows_removed=erased,
    )


def copy_schema(connection: duckdb.DuckDBPyConnection, schema: str) -> None:
    """Every table of the attached warehouse's `schema`, copied into the same schema of `connection`."""
    tables = [
        name
        for (name,) in connection.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'warehouse' AND schema_name = ? "
            "ORDER BY table_name",
            [schema],
        ).fetchall()
    ]
    if not tables:
        return
    connection.execute(f"CREATE SCHEMA {quoted(schema)}")
    for table in tables:
        relation = f"{quoted(schema)}.{quoted(table)}"
        connection.execute(f"CREATE TABLE {relation} AS SELECT * FROM warehouse.{relation}")


def row_counts(connection: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], int]:
    """(schema, table) -> rows, for every table of the new file."""
    return {
        (schema, table): connection.execute(f"SELECT count(*) FROM {quoted(schema)}.{quoted(table)}").fetchone()[0]
        for schema, table in tables(connection)
    }


def remove_erased_people(connection: duckdb.DuckDBPyConnection, snapshot: LedgerSnapshot, registry: PiiRegistry) -> int:
    """Delete the rows of people in the ledger `snapshot` from every copied `bi` / `activation` table.

    A guard, not the audience's definition: dbt builds from marts the erasure asset already cleaned, so this
    finds only people whose request came after it. A row goes when a column its model's YAML declares personal
    (`registry`) holds an erased identifier, in clear (`activation`, the pseudonym customer_id of `bi`) or as
    the ledger's hash (the masked columns of `bi`). Returns the rows deleted.
    """
    install_ledger(connection, snapshot)
    return sum(
        delete_from_model(connection, registry, schema, table)
        for schema, table in tables(connection)
        if schema in CONSUMER_SCHEMAS
    )


def sql_string(text: str) -> str:
    """`text` as a SQL string literal: a path from settings may hold a quote."""
    return "'" + text.replace("'", "''") + "'"


def quoted(identifier: str) -> str:
    """`identifier` as a quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'
