"""The erasure sensor's first tick: it starts from what the erasure asset last applied, so opening the UI does not
re-apply every request ever made (and rebuild the whole graph) when nothing new was recorded."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from core.settings import Settings
from orchestration.assets.privacy import ERASURE_KEY, build_erasure_sensor
from orchestration.resources import WarehouseResource
from privacy.ledger import ErasureLedger

sensor = build_erasure_sensor(dg.AssetSelection.assets(ERASURE_KEY))


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def record_requests(settings: Settings, count: int) -> None:
    ledger = ErasureLedger(settings)
    for number in range(count):
        ledger.record([("email", f"person{number}@example.com")])


def erasure_applied(instance: dg.DagsterInstance, requests: int) -> None:
    """What a run of the erasure asset leaves in the instance: a materialization with the requests it applied."""
    instance.report_runless_asset_event(dg.AssetMaterialization(ERASURE_KEY, metadata={"requests": requests}))


def first_tick(instance: dg.DagsterInstance) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=None, resources={"warehouse": WarehouseResource()})
    return sensor(context)


def test_the_first_tick_starts_nothing_when_the_last_erasure_applied_every_request(
    isolated_env: Settings, instance: dg.DagsterInstance
) -> None:
    record_requests(isolated_env, 2)
    erasure_applied(instance, requests=2)

    result = first_tick(instance)

    assert result.run_requests == []
    assert result.cursor == "2"


def test_the_first_tick_runs_a_request_recorded_after_the_last_erasure(
    isolated_env: Settings, instance: dg.DagsterInstance
) -> None:
    record_requests(isolated_env, 3)
    erasure_applied(instance, requests=2)

    result = first_tick(instance)

    assert [request.run_key for request in result.run_requests] == ["erasure-3"]
    assert result.cursor == "3"


def test_the_first_tick_runs_the_requests_when_erasure_never_ran(
    isolated_env: Settings, instance: dg.DagsterInstance
) -> None:
    record_requests(isolated_env, 1)

    result = first_tick(instance)

    assert [request.run_key for request in result.run_requests] == ["erasure-1"]
