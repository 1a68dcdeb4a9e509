"""Automation, evaluated in process: new landing files request their raw asset; updates flow downstream."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from orchestration.resources import WarehouseResource

# A moment between all cron ticks of the raw assets (every 15 min, hourly, daily at 06:00).
QUIET_TIME = datetime(2026, 3, 2, 10, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("automation")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LANDING_DIR", str(root / "landing"))
        patch.setenv("WAREHOUSE_PATH", str(root / "warehouse.duckdb"))
        patch.setenv("SERVING_PATH", str(root / "serving.duckdb"))
        patch.setenv("DLT_PIPELINES_DIR", str(root / "dlt"))
        yield root


@pytest.fixture(scope="module")
def defs(env: Path) -> dg.Definitions:
    from orchestration.definitions import defs

    return defs


def _report_materialized(instance: dg.DagsterInstance, graph, keys) -> None:
    """Record each asset as materialized, with every blocking check on it passed."""
    for key in keys:
        instance.report_runless_asset_event(dg.AssetMaterialization(key))
        for check_key in graph.get(key).check_keys:
            instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(asset_key=key, check_name=check_key.name, passed=True)
            )


def _requested(result: dg.EvaluateAutomationConditionsResult) -> set[dg.AssetKey]:
    return {r.key for r in result.results if isinstance(r.key, dg.AssetKey) and r.true_subset.size > 0}


def test_an_updated_raw_table_requests_exactly_what_is_downstream_of_it(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    contacts = dg.AssetKey(["raw_crm", "contacts"])
    with dg.instance_for_test() as instance:
        _report_materialized(instance, graph, graph.toposorted_asset_keys)
        baseline = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=QUIET_TIME)
        assert _requested(baseline) == set(), "all fresh: nothing to do"

        _report_materialized(instance, graph, [contacts])
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=baseline.cursor, evaluation_time=QUIET_TIME + timedelta(minutes=1)
        )

    # An ESP sync without a configured destination has no automation condition: it never runs on its own.
    downstream = {
        key
        for key in dg.AssetSelection.assets(contacts).downstream().resolve(graph) - {contacts}
        if graph.get(key).automation_condition is not None
    }
    assert dg.AssetKey(["serving", "marts"]) in downstream
    assert _requested(result) == downstream


def _after_check(defs: dg.Definitions, asset: dg.AssetKey, check: str, passed: bool) -> set[dg.AssetKey]:
    """What automation requests after `asset` is materialized again and its `check` evaluates to `passed`."""
    graph = defs.resolve_asset_graph()
    with dg.instance_for_test() as instance:
        _report_materialized(instance, graph, graph.toposorted_asset_keys)
        baseline = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=QUIET_TIME)

        instance.report_runless_asset_event(dg.AssetMaterialization(asset))
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=asset, check_name=check, passed=passed, severity=dg.AssetCheckSeverity.ERROR
            )
        )
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=baseline.cursor, evaluation_time=QUIET_TIME + timedelta(minutes=1)
        )
    return _requested(result)


def test_a_failed_blocking_check_on_a_mart_holds_the_serving_copy(defs: dg.Definitions) -> None:
    profiles = dg.AssetKey(["marts", "customer_profiles"])

    assert dg.AssetKey(["serving", "marts"]) in _after_check(defs, profiles, "one_profile_per_customer", True)
    assert _after_check(defs, profiles, "one_profile_per_customer", False) == set()


def test_a_failed_raw_quality_suite_warns_and_the_data_keeps_flowing(defs: dg.Definitions) -> None:
    orders = dg.AssetKey(["raw_shop", "orders"])
    graph = defs.resolve_asset_graph()
    downstream = {
        key
        for key in dg.AssetSelection.assets(orders).downstream().resolve(graph) - {orders}
        if graph.get(key).automation_condition is not None
    }

    assert _after_check(defs, orders, "non_negative_prices", False) == downstream


def test_a_new_landing_file_requests_its_raw_asset_once(defs: dg.Definitions, env: Path) -> None:
    sensor = defs.resolve_sensor_def("landing_files_sensor")
    folder = env / "landing" / "shop" / "orders"
    folder.mkdir(parents=True)
    (folder / "orders-b0000-p0000.jsonl").write_text('{"id": 1}\n')

    resources = {"warehouse": WarehouseResource()}  # reads the landing dir from the environment, as a tick does
    with dg.instance_for_test() as instance:

        def tick(cursor: str | None = None) -> dg.SensorResult:
            context = dg.build_sensor_context(instance=instance, definitions=defs, cursor=cursor, resources=resources)
            return sensor(context)

        first = tick()
        second = tick(first.cursor)
        (folder / "orders-b0000-p0000.jsonl").write_text('{"id": 1}\n{"id": 2}\n')  # the file grew
        third = tick(second.cursor)

    assert [r.asset_selection for r in first.run_requests] == [[dg.AssetKey(["raw_shop", "orders"])]]
    assert second.run_requests == []
    assert [r.asset_selection for r in third.run_requests] == [[dg.AssetKey(["raw_shop", "orders"])]]


def test_the_landing_sensor_launches_nothing_for_files_the_loader_already_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening the UI after `warehouse run` (no cursor yet), or a `warehouse run` while the UI is open (a cursor
    from before it), requests no load; a grown file still requests its table."""
    from demo_data.generator import GeneratorConfig, generate
    from ingestion.pipelines import SYSTEMS, load
    from orchestration.automation import build_landing_sensor
    from tests.conftest import settings_for

    for name, value in settings_for(tmp_path).items():
        monkeypatch.setenv(name, value)
    settings = WarehouseResource().settings
    generate(GeneratorConfig(customers=5, days=1, seed=1), settings.landing_dir)
    every_table = [
        dg.AssetKey([f"raw_{folder.parent.name}", folder.name])
        for folder in sorted(settings.landing_dir.glob("*/*"))
        if not folder.parent.name.startswith("_")
    ]
    sensor = build_landing_sensor(every_table)
    with dg.instance_for_test() as instance:

        def tick(cursor: str | None = None) -> dg.SensorResult:
            resources = {"warehouse": WarehouseResource()}
            return sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources))

        before_load = tick()
        load(SYSTEMS, settings)
        ui_opened, ui_open_during_run = tick(), tick(before_load.cursor)
        (customers,) = settings.landing_dir.glob("shop/customers/*.jsonl")
        customers.write_bytes(customers.read_bytes() + customers.read_bytes().splitlines(True)[0])
        grown = tick(ui_opened.cursor)

    delivered = {key for key in every_table if any((settings.landing_dir / key.path[0][4:] / key.path[1]).iterdir())}
    assert [set(r.asset_selection) for r in before_load.run_requests] == [delivered]
    assert ui_opened.run_requests == [] and ui_open_during_run.run_requests == []
    assert [r.asset_selection for r in grown.run_requests] == [[dg.AssetKey(["raw_shop", "customers"])]]
