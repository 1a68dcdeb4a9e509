"""What the reader hands to dlt: the staged rows of each table written to one parquet file, routed to the table,
with the table's hints.

Each file becomes two dlt items: the table's hints as a table variant (one resource writes several tables with
different keys), then the file itself, imported into the load package as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import dlt
import duckdb

from ingestion.landing.sql import DLT_SQL_TYPES, lit
from ingestion.landing.target import Target
from ingestion.spec import QUARANTINE_COLUMNS, QUARANTINE_TABLE, ChildSpec, TableSpec

SCHEMA_CONTRACT = {"tables": "evolve", "columns": "evolve", "data_type": "freeze"}
"""New tables and columns are welcome (drift); an existing column never changes type."""


@dataclass(frozen=True)
class TableFile:
    """The data item of an imported parquet file: it only names the table the file belongs to."""

    table: str


def routed_table(item: TableFile) -> str:
    """Every resource's `table_name`: each file the reader hands to dlt says which table it loads."""
    return item.table


def file_items(table: str, path: Path, rows: int, hints: Any) -> list[Any]:
    """The items that make dlt import `path` into `table` with `hints`.

    First the table's hints as a table variant (an empty item: it only updates the schema), then the file
    itself, routed to the table by `routed_table` and hard-linked into the load package without rewriting.
    """
    return [
        dlt.mark.with_hints([], hints, create_table_variant=True),
        dlt.mark.with_file_import(str(path), "parquet", rows, TableFile(table)),
    ]


def root_hints(spec: TableSpec, columns: dict[str, Any]) -> Any:
    """Hints of the root table variant: the resource's key and disposition, and the batch's columns."""
    return dlt.mark.make_hints(table_name=spec.table, columns=columns, schema_contract=SCHEMA_CONTRACT)


def child_hints(child: ChildSpec, columns: dict[str, Any]) -> Any:
    """Hints of a child table variant: they start from the resource's, so each inherited one is overridden."""
    return dlt.mark.make_hints(
        table_name=child.table,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=list(child.key),
        merge_key=child.parent_key,
        columns=columns,
        schema_contract=SCHEMA_CONTRACT,
    )


def quarantine_hints(columns: dict[str, Any]) -> Any:
    return dlt.mark.make_hints(
        table_name=QUARANTINE_TABLE,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=["source_file", "source_line"],
        columns=columns,
    )


@dataclass
class Staged:
    """Rows of one output table waiting for the flush: a query per batch, their columns in first-seen order, the
    union of their column hints, and how to make the table's dlt hints of those."""

    make_hints: Any
    materialize: bool = False
    """Written even without rows: the table must exist for dbt and the checks (see `Staging.flush`)."""
    parts: list[str] = field(default_factory=list)
    """One SELECT per batch, of the table's columns."""
    tables: list[str] = field(default_factory=list)
    """Temp tables the parts read, dropped after the flush."""
    rows: int = 0
    columns: dict[str, None] = field(default_factory=dict)
    hints: dict[str, Any] = field(default_factory=dict)

    def add(self, select: str, tables: list[str]) -> None:
        self.parts.append(select)
        self.tables.extend(tables)


def declared_empty(spec: TableSpec, table: str) -> Staged:
    """No rows of `table`, with its declared columns and hints: the flush writes it to create the table."""
    if table == spec.table:
        hints, make_hints = spec.dlt_columns(), partial(root_hints, spec)
    elif table == QUARANTINE_TABLE:
        hints, make_hints = dict(QUARANTINE_COLUMNS), quarantine_hints
    else:
        child = next(c for c in spec.children if c.table == table)
        hints, make_hints = child.dlt_columns(spec.key_column.type), partial(child_hints, child)
    nulls = ", ".join(f'NULL::{DLT_SQL_TYPES[h["data_type"]]} AS "{name}"' for name, h in hints.items())
    staged = Staged(make_hints, materialize=True)
    staged.add(f"SELECT {nulls} LIMIT 0", [])
    staged.columns.update(dict.fromkeys(hints))
    staged.hints.update(hints)
    return staged


def write_parquet(con: duckdb.DuckDBPyConnection, target: Target, table: str, staged: Staged) -> Path:
    """COPY the staged rows of `table` to one parquet file.

    Columns follow the order the pipeline's schema already has for `table` (new ones last), and columns it knows
    that no staged batch has are written as nulls: dlt then imports the file as it is, since it matches the
    table column for column.
    """
    known = target.known_columns(table)
    selects = [
        f'"{n}"' if n in staged.columns else f'NULL::{DLT_SQL_TYPES.get(t, "VARCHAR")} AS "{n}"'
        for n, t in known.items()
    ]
    selects += [f'"{n}"' for n in staged.columns if n not in known]
    parts = " UNION ALL BY NAME ".join(f"({part})" for part in staged.parts)
    path = target.new_file(table)
    con.execute(
        f"COPY (SELECT {', '.join(selects)} FROM ({parts})) TO {lit(str(path))} "
        "(FORMAT parquet, COMPRESSION lz4)"
    )
    return path


def ordered_hints(target: Target, hints: dict[str, Any], table: str) -> dict[str, Any]:
    """`hints` in the column order `write_parquet` uses for `table` (see there)."""
    known = target.known_columns(table)
    order = [n for n in known if n in hints] + [n for n in hints if n not in known]
    return {name: hints[name] for name in order}
