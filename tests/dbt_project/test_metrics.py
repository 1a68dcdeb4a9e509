"""The semantic layer (dbt_project/models/semantic/, docs/metrics.md): dbt parses it into a semantic manifest with
the named metrics, and MetricFlow's answers on the demo warehouse equal the same sums and counts written by hand
in SQL over the marts; `warehouse metrics` prints them and reads nothing but its read-only file."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import typer
from metricflow.data_table.mf_table import MetricFlowDataTable
from metricflow.engine.metricflow_engine import MetricFlowEngine
from typer.testing import CliRunner

from cli.metrics import (
    MetricRequest,
    MissingTablesError,
    metricflow_engine,
    metrics,
    query_metrics,
    read_only_marts,
    semantic_manifest,
)
from tests.conftest import BuiltWarehouse

pytestmark = pytest.mark.slow  # reads the demo warehouse the session builds

METRICS = {
    "revenue",
    "orders",
    "average_order_value",
    "active_customers",
    "active_customers_30d",
    "cumulative_revenue",
    "revenue_per_active_customer",
    "units_sold",
    "customers",
    "buying_customers",
    "consenting_customers",
    "email_consent_rate",
    "lifetime_value",
    "average_lifetime_value",
    "segment_size",
}


@pytest.fixture(scope="module")
def manifest_path(built_warehouse: BuiltWarehouse) -> Path:
    """The semantic manifest `warehouse metrics` parses for the demo warehouse's settings."""
    return semantic_manifest(built_warehouse.settings)


@pytest.fixture(scope="module")
def engine(manifest_path: Path, built_warehouse: BuiltWarehouse) -> Iterator[MetricFlowEngine]:
    with metricflow_engine(manifest_path, built_warehouse.warehouse_path) as mf:
        yield mf


@pytest.fixture(scope="module")
def marts(built_warehouse: BuiltWarehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(built_warehouse.warehouse_path), read_only=True) as connection:
        yield connection


def _rows(table: MetricFlowDataTable) -> list[dict[str, object]]:
    return [dict(zip(table.column_names, row, strict=True)) for row in table.rows]


def _by(table: MetricFlowDataTable, key: str, value: str) -> dict[object, float]:
    """{group-by value: metric value}, days as dates."""
    result = {}
    for row in _rows(table):
        group = row[key]
        result[group.date() if hasattr(group, "date") else group] = row[value]
    return result


def _assert_close(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        assert actual[key] is not None and math.isclose(actual[key], float(value), rel_tol=1e-9, abs_tol=1e-6), key


def test_dbt_parse_writes_a_semantic_manifest_with_the_metrics_on_the_marts(manifest_path: Path) -> None:
    manifest = json.loads(manifest_path.read_text())
    assert {metric["name"] for metric in manifest["metrics"]} == METRICS
    assert {model["node_relation"]["schema_name"] for model in manifest["semantic_models"]} == {"marts"}
    (spine,) = manifest["project_configuration"]["time_spines"]
    assert spine["node_relation"]["alias"] == "dim_date" and spine["primary_column"]["name"] == "date_day"


def test_revenue_and_orders_by_day_are_the_revenue_orders_of_fct_orders(
    engine: MetricFlowEngine, marts: duckdb.DuckDBPyConnection
) -> None:
    table = query_metrics(engine, MetricRequest(["revenue", "orders"], ["metric_time__day"]))
    expected = marts.execute(
        "select order_date, sum(net_revenue_reporting), count(*) from marts.fct_orders where is_revenue group by 1"
    ).fetchall()
    assert len(expected) > 30  # demo data: 60 days of orders
    # Days with only test or cancelled orders have no revenue, and zero revenue orders.
    revenue = {day: value for day, value in _by(table, "metric_time__day", "revenue").items() if value is not None}
    _assert_close(revenue, {day: total for day, total, _ in expected})
    orders = {day: count for day, count in _by(table, "metric_time__day", "orders").items() if count}
    assert orders == {day: count for day, _, count in expected}


def test_revenue_by_country_is_by_the_shipping_country_of_the_order(
    engine: MetricFlowEngine, marts: duckdb.DuckDBPyConnection
) -> None:
    table = query_metrics(engine, MetricRequest(["revenue", "orders"], ["location__country_code"]))
    expected = marts.execute(
        """
        select locations.country_code, sum(orders.net_revenue_reporting), count(*)
        from marts.fct_orders as orders
        left join marts.dim_locations as locations on orders.shipping_location_key = locations.location_key
        where orders.is_revenue
        group by 1
        """
    ).fetchall()
    assert len(expected) > 5
    _assert_close(_by(table, "location__country_code", "revenue"), {country: total for country, total, _ in expected})
    assert _by(table, "location__country_code", "orders") == {country: count for country, _, count in expected}


def test_average_order_value_is_revenue_per_order(engine: MetricFlowEngine) -> None:
    table = query_metrics(
        engine, MetricRequest(["revenue", "orders", "average_order_value"], ["location__country_code"])
    )
    rows = _rows(table)
    assert rows
    for row in rows:
        assert math.isclose(row["average_order_value"], row["revenue"] / row["orders"], rel_tol=1e-9)


def test_segment_sizes_are_the_people_in_customer_segments(
    engine: MetricFlowEngine, marts: duckdb.DuckDBPyConnection
) -> None:
    table = query_metrics(engine, MetricRequest(["segment_size"], ["segment_membership__segment_name"]))
    expected = dict(marts.execute("select segment_name, count(*) from marts.customer_segments group by 1").fetchall())
    assert len(expected) >= 5
    assert _by(table, "segment_membership__segment_name", "segment_size") == expected


def test_consent_rate_and_lifetime_value_by_rfm_segment_are_customer_profiles(
    engine: MetricFlowEngine, marts: duckdb.DuckDBPyConnection
) -> None:
    request = MetricRequest(
        ["customers", "email_consent_rate", "lifetime_value", "average_lifetime_value"], ["customer__rfm_segment"]
    )
    rows = {row["customer__rfm_segment"]: row for row in _rows(query_metrics(engine, request))}
    expected = marts.execute(
        """
        select
            rfm_segment, count(*), avg(case when email_consent then 1.0 else 0.0 end), sum(lifetime_value),
            sum(lifetime_value) / nullif(count(*) filter (where orders_count > 0), 0)
        from marts.customer_profiles
        group by 1
        """
    ).fetchall()
    assert rows.keys() == {segment for segment, *_ in expected}
    for segment, customers, consent_rate, lifetime_value, average_lifetime_value in expected:
        row = rows[segment]
        assert row["customers"] == customers
        assert math.isclose(row["email_consent_rate"], consent_rate, rel_tol=1e-9)
        assert math.isclose(row["lifetime_value"], lifetime_value, rel_tol=1e-9, abs_tol=1e-6)
        if average_lifetime_value is None:  # "No Orders"
            assert row["average_lifetime_value"] is None
        else:
            assert math.isclose(row["average_lifetime_value"], average_lifetime_value, rel_tol=1e-9)


def test_orders_join_profiles_through_the_customer_key_of_the_marts(
    engine: MetricFlowEngine, marts: duckdb.DuckDBPyConnection
) -> None:
    """The customer entity of customer_profiles recomputes the marts' customer_key from customer_id: revenue by a
    profile's RFM segment equals the same join through dim_customers."""
    table = query_metrics(engine, MetricRequest(["revenue"], ["customer__rfm_segment"]))
    expected = marts.execute(
        """
        select profiles.rfm_segment, sum(orders.net_revenue_reporting)
        from marts.fct_orders as orders
        left join marts.dim_customers as customers on orders.customer_key = customers.customer_key
        left join marts.customer_profiles as profiles on customers.customer_id = profiles.customer_id
        where orders.is_revenue
        group by 1
        """
    ).fetchall()
    revenue = {segment: value for segment, value in _by(table, "customer__rfm_segment", "revenue").items() if value}
    _assert_close(revenue, dict(expected))
    assert None not in revenue or None in dict(expected)  # guest orders only; no profile lost to the join


def test_active_customers_30d_counts_distinct_buyers_of_the_trailing_30_days(
    engine: MetricFlowEngine, marts: duckdb.DuckDBPyConnection
) -> None:
    (last_day,) = marts.execute("select max(order_date) from marts.fct_orders where is_revenue").fetchone()
    table = query_metrics(
        engine,
        MetricRequest(
            ["active_customers_30d"],
            ["metric_time__day"],
            where=[f"{{{{ TimeDimension('metric_time', 'day') }}}} = '{last_day}'"],
        ),
    )
    (expected,) = marts.execute(
        "select count(distinct customer_key) from marts.fct_orders "
        "where is_revenue and order_date > cast(? as date) - 30 and order_date <= ?",
        [last_day, last_day],
    ).fetchone()
    assert expected > 0
    assert _by(table, "metric_time__day", "active_customers_30d") == {last_day: expected}


def test_the_connection_reads_only_its_file(built_warehouse: BuiltWarehouse, tmp_path: Path) -> None:
    """--where is typed SQL: it can read the attached marts, no other file, and cannot switch that back on."""
    secret = tmp_path / "secret.txt"
    secret.write_text("salt")
    with read_only_marts(built_warehouse.warehouse_path, "warehouse") as connection:
        assert connection.execute("select count(*) from marts.fct_orders").fetchone()[0] > 0
        for statement in (
            f"select * from read_text('{secret}')",
            f"attach '{tmp_path / 'other.duckdb'}' as other",
            "set enable_external_access = true",
            "create table marts.scratch as select 1",
        ):
            with pytest.raises(duckdb.Error):
                connection.execute(statement)


def test_a_serving_copy_answers_as_the_warehouse(
    engine: MetricFlowEngine, manifest_path: Path, built_warehouse: BuiltWarehouse, tmp_path: Path
) -> None:
    """The serving copy is another file, so another catalog than the manifest's: it is attached under that name."""
    serving = tmp_path / "serving.duckdb"
    models = json.loads(manifest_path.read_text())["semantic_models"]
    tables = {(model["node_relation"]["schema_name"], model["node_relation"]["alias"]) for model in models}
    with duckdb.connect(str(serving)) as connection:  # what the publish does: the marts copied into a new file
        connection.execute(f"attach '{built_warehouse.warehouse_path}' as built (read_only)")
        connection.execute("create schema marts")
        for schema, table in {*tables, ("marts", "dim_date")}:
            connection.execute(f"create table {schema}.{table} as select * from built.{schema}.{table}")
    request = MetricRequest(["revenue", "customers"], ["customer__country_code"], order_by=["customer__country_code"])
    with metricflow_engine(manifest_path, serving) as copy:
        assert _rows(query_metrics(copy, request)) == _rows(query_metrics(engine, request))


def test_a_file_without_the_marts_is_refused_by_name(manifest_path: Path, tmp_path: Path) -> None:
    """A serving copy published without `marts` (or an unbuilt warehouse) says which tables it lacks."""
    empty = tmp_path / "serving.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(MissingTablesError, match="marts.fct_orders"), metricflow_engine(manifest_path, empty):
        pass


def test_warehouse_metrics_prints_the_metrics_and_lists_them(
    built_warehouse: BuiltWarehouse, manifest_path: Path, marts: duckdb.DuckDBPyConnection
) -> None:
    app = typer.Typer()

    @app.callback()
    def root(ctx: typer.Context) -> None:
        ctx.obj = built_warehouse.settings

    app.command()(metrics)
    runner = CliRunner()

    result = runner.invoke(
        app, ["metrics", "orders", "revenue", "--group-by", "metric_time__month", "--source", "warehouse"]
    )
    assert result.exit_code == 0, result.output
    (orders,) = marts.execute("select count(*) from marts.fct_orders where is_revenue").fetchone()
    cells = [[cell.strip() for cell in line.replace("┃", "│").split("│")] for line in result.output.splitlines()]
    header = next(row for row in cells if "metric_time__month" in row)
    months = [row for row in cells if row[0][:4].isdigit()]
    assert [row[0] for row in months] == sorted(row[0] for row in months)  # in the order of the group-bys
    assert sum(int(row[header.index("orders")].replace(",", "")) for row in months) == orders
    assert len(months) >= 2  # demo data: 60 days
    (last_month,) = marts.execute(
        "select cast(date_trunc('month', max(order_date)) as date) from marts.fct_orders where is_revenue"
    ).fetchone()
    one_month = runner.invoke(
        app, ["metrics", "orders", "-g", "metric_time__month", "--start", str(last_month), "--source", "warehouse"]
    )
    assert one_month.exit_code == 0, one_month.output
    assert str(last_month) in one_month.output and str(months[0][0]) not in one_month.output
    listing = runner.invoke(app, ["metrics"])
    assert listing.exit_code == 0, listing.output
    assert all(name in listing.output for name in ("average_order_value", "email_consent_rate", "segment_size"))
    unknown = runner.invoke(app, ["metrics", "no_such_metric", "--source", "warehouse"])
    assert unknown.exit_code == 1 and "Query failed" in unknown.output
    unpublished = runner.invoke(app, ["metrics", "revenue"])  # the session's warehouse has no serving copy
    assert unpublished.exit_code == 1 and "run `warehouse run` first" in " ".join(unpublished.output.split())
