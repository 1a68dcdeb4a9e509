"""The whole asset graph, materialized in process on small data, as `warehouse run` does it.

The first run checked here is that of issue 8's scenario (tests/activation/scenario.py, the session fixture
`activation_run`): generated data, the whole graph, nothing run before it. The last test runs the graph once
more on the scenario's files, after its two runs.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.headless import RunReport
from tests.activation.scenario import Scenario

pytestmark = pytest.mark.slow


@dataclass
class Built:
    root: Path
    instance: dg.DagsterInstance
    first: RunReport
    first_warehouse_marts: dict[str, int]
    environment: dict[str, str]
    unset: tuple[str, ...]


@pytest.fixture(scope="module")
def built(activation_run: Scenario) -> Built:
    """Small generated landing data and one full in-process run of `daily_full_build`, the first on its files."""
    return Built(
        root=activation_run.root,
        instance=activation_run.instance,
        first=activation_run.first_report,
        first_warehouse_marts=activation_run.first_warehouse_marts,
        environment=activation_run.environment,
        unset=activation_run.unset,
    )


def test_the_whole_graph_materializes_with_all_checks_passing(built: Built) -> None:
    from orchestration.definitions import defs

    report = built.first
    # `warehouse run` builds the warehouse jobs' selection: everything but the ESP syncs.
    every_asset = {
        key.to_user_string() for key in defs.resolve_job_def("daily_full_build").asset_layer.selected_asset_keys
    }
    assert "activation/esp" not in every_asset

    assert report.success, report.failures
    assert report.checks_failed == []
    assert set(report.materialized) == every_asset
    assert report.mart_rows["customer_profiles"] > 0
    assert report.mart_rows == built.first_warehouse_marts
    assert report.previous_mart_rows is None, "the first run: no serving copy to compare with"
    raw = {table.table: table for table in report.tables if table.table.startswith("raw_")}
    events = raw["raw_analytics/events"]
    assert (events.loaded, events.previous) == (events.rows, None), "events are appended: all loaded, all new"


def test_the_run_s_dbt_build_starts_from_the_prepared_partial_parse(built: Built) -> None:
    """Each run's dbt gets its own target dir; it must start from the parse `prepare_manifest` made."""
    from orchestration.resources import DBT_PROJECT_DIR, dbt_project

    runs = DBT_PROJECT_DIR / dbt_project.target_path / "runs"
    (target,) = runs.glob(f"{built.first.run_id[:8]}-*")
    logs = sorted(target.glob("dbt.log*"))  # dbt rotates its log at 10 MB: the parse is in the first file
    messages = [json.loads(line)["info"]["msg"] for log in logs for line in log.read_text().splitlines()]
    assert not [message for message in messages if "Unable to do partial parsing" in message]
    assert any(message.startswith("Partial parsing enabled") for message in messages)


def test_a_bad_row_warns_and_flows_while_a_collapsed_segment_holds_the_serving_copy(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One order with a negative total is flagged and the rest is built; a segment that collapsed since the last
    publish fails a blocking check, so the serving copy keeps the last good marts."""
    for name, value in built.environment.items():
        monkeypatch.setenv(name, value)
    for name in built.unset:
        monkeypatch.delenv(name, raising=False)
    from core.settings import get_settings
    from orchestration.headless import run_graph

    orders = built.root / "landing" / "shop" / "orders"
    order = json.loads(next(iter(sorted(orders.glob("*.jsonl")))).read_text().splitlines()[0])
    order.update(id=order["id"] + 10**9, name="#corrupt", order_number=999_999, total_price="-250.00")
    (orders / "orders-b9999-p0000.jsonl").write_text(json.dumps(order) + "\n")
    (built.root / "landing" / "crm" / "contacts" / "elsewhere.jsonl").symlink_to("/etc/hostname")
    serving = built.root / "serving.duckdb"
    with duckdb.connect(str(serving)) as connection:  # the last publish had a far larger segment
        (segment,) = connection.execute(
            "SELECT segment_name FROM marts.customer_segments GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
        connection.execute(
            "INSERT INTO marts.customer_segments BY NAME "
            "SELECT s.* REPLACE (s.customer_id || '-' || CAST(c.n AS VARCHAR) AS customer_id) "
            "FROM marts.customer_segments AS s CROSS JOIN range(30) AS c(n) WHERE s.segment_name = ?",
            [segment],
        )
    published = serving.stat().st_ino

    report = run_graph(instance=built.instance, settings=get_settings())

    assert not report.success
    (orders,) = [table for table in report.tables if table.table == "raw_shop/orders"]
    assert (orders.loaded, orders.change) == (1, 1), "the one new order, loaded and counted"
    assert "raw_shop/orders:non_negative_prices" in report.checks_warned
    assert "marts/customer_segments:segment_sizes_within_bounds" in report.checks_failed, report.failures
    assert "marts/fct_orders" in report.materialized, "a warning on raw data does not stop the build"
    with duckdb.connect(str(built.root / "warehouse.duckdb"), read_only=True) as connection:
        flagged = connection.execute(
            "SELECT invalid_reason FROM staging.stg_shop__orders WHERE order_name = '#corrupt'"
        ).fetchall()
    assert flagged == [("negative total",)]
    contacts = built.instance.get_latest_materialization_event(dg.AssetKey(["raw_crm", "contacts"]))
    (warning,) = contacts.asset_materialization.metadata["load_warnings"].value
    assert "elsewhere.jsonl" in warning, "what the load did not read is on the table's materialization"
    assert not any(key.startswith("serving/") for key in report.materialized)
    assert serving.stat().st_ino == published, "the serving copy was not republished"
