"""What the dbt asset adds to dagster-dbt's events once dbt has exited: each built table's row count and columns,
read over one connection, for the nodes dagster-dbt names in its Outputs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from orchestration.assets.dbt import _unique_id
from orchestration.resources import WarehouseResource


def test_the_dbt_node_of_an_output_is_read_from_its_text_metadata() -> None:
    output = dg.Output(None, output_name="marts_orders", metadata={"unique_id": "model.shop.fct_orders"})

    assert _unique_id(output) == "model.shop.fct_orders"
    assert _unique_id(dg.AssetCheckResult(passed=True, asset_key="marts/fct_orders")) is None


def test_tables_get_row_counts_and_columns_views_columns_only_and_missing_relations_nothing(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("CREATE SCHEMA marts; CREATE SCHEMA staging")
        connection.execute("CREATE TABLE marts.fct_orders (order_id VARCHAR, amount DECIMAL(10, 2))")
        connection.execute("INSERT INTO marts.fct_orders VALUES ('a', 1), ('b', 2), ('c', 3)")
        connection.execute("CREATE VIEW staging.stg_orders AS SELECT order_id FROM marts.fct_orders")
    resource = WarehouseResource(warehouse_path=str(warehouse))

    metadata = resource.tables_metadata([("marts", "fct_orders"), ("staging", "stg_orders"), ("marts", "gone")])

    assert set(metadata) == {("marts", "fct_orders"), ("staging", "stg_orders")}
    table = metadata[("marts", "fct_orders")]
    assert table["dagster/row_count"] == dg.MetadataValue.int(3)
    assert [(c.name, c.type) for c in table["dagster/column_schema"].columns] == [
        ("order_id", "VARCHAR"),
        ("amount", "DECIMAL(10,2)"),
    ]
    view = metadata[("staging", "stg_orders")]
    assert "dagster/row_count" not in view, "counting a view runs its query"
    assert [c.name for c in view["dagster/column_schema"].columns] == ["order_id"]
    assert resource.table_metadata("marts", "fct_orders") == table
