"""The serving group: a read-only copy of the marts for BI tools, replaced atomically after checks passed.

BI tools cannot read the warehouse while dlt or dbt write it (DuckDB: one writer, and no readers from other
processes meanwhile). They read `SERVING_PATH` instead: a separate DuckDB file holding only the marts. Each
publish writes a complete new file beside it and renames it over the old one (`os.replace`, atomic on one
file system), so a reader sees the old marts or the new ones, never a mix and never an error: a connection
opened before the rename keeps reading the old file until it closes.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.resources import OWNERS, WAREHOUSE_POOL, WarehouseResource

MARTS_SCHEMA = "marts"


@dataclass(frozen=True)
class Published:
    path: Path
    row_counts: dict[str, int]


def publish_marts(warehouse: Path, serving: Path, schema: str = MARTS_SCHEMA) -> Published:
    """Copy every table of `schema` from the warehouse into a new file, then atomically replace `serving`.

    The new file is fully written and closed (checkpointed, no WAL left) before the rename. A failure on the
    way leaves the previous serving file untouched.
    """
    serving.parent.mkdir(parents=True, exist_ok=True)
    staging_file = serving.with_name(f".{serving.name}.{os.getpid()}.publishing")
    staging_file.unlink(missing_ok=True)
    row_counts: dict[str, int] = {}
    try:
        connection = duckdb.connect(str(staging_file))
        try:
            connection.execute(f"ATTACH '{warehouse}' AS warehouse (READ_ONLY)")
            tables = [
                name
                for (name,) in connection.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = 'warehouse' "
                    "AND schema_name = ? ORDER BY table_name",
                    [schema],
                ).fetchall()
            ]
            connection.execute(f'CREATE SCHEMA "{schema}"')
            for table in tables:
                connection.execute(f'CREATE TABLE "{schema}"."{table}" AS SELECT * FROM warehouse."{schema}"."{table}"')
                row_counts[table] = connection.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
            connection.execute("DETACH warehouse")
            connection.execute("CHECKPOINT")
        finally:
            connection.close()
        os.replace(staging_file, serving)
    finally:
        staging_file.unlink(missing_ok=True)
    return Published(path=serving, row_counts=row_counts)


def build_serving_asset(mart_keys: Sequence[dg.AssetKey]) -> dg.AssetsDefinition:
    """The `serving/marts` asset: depends on every mart, so runs only after their blocking checks passed."""

    @dg.asset(
        key=["serving", "marts"],
        deps=list(mart_keys),
        group_name="serving",
        owners=OWNERS,
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
        automation_condition=dg.AutomationCondition.eager(),
        description=(
            "Read-only copy of the marts for BI tools (SERVING_PATH), replaced atomically after the marts' "
            "blocking checks passed. See docs/serving.md for how to connect."
        ),
    )
    def serving_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        published = publish_marts(warehouse.warehouse, warehouse.serving)
        context.log.info("Published %d marts to %s", len(published.row_counts), published.path)
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(published.path)),
                "tables": len(published.row_counts),
                "row_counts": dg.MetadataValue.json(published.row_counts),
            }
        )

    return serving_marts
