"""What the reader hands to dlt: parquet files routed to their tables, with each table's hints.

Each file becomes two dlt items: the table's hints as a table variant (one resource writes several tables with
different keys), then the file itself, imported into the load package as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt

from ingestion.spec import QUARANTINE_TABLE, ChildSpec, TableSpec

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
