"""The erasure asset sits first in the graph, in the writer pool, and a new request starts a run."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

from core.settings import get_settings
from privacy.ledger import ErasureLedger
from tests.conftest import settings_for

ERASURE = dg.AssetKey(["privacy", "erasure"])


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dg.Definitions]:
    root = tmp_path_factory.mktemp("privacy_graph")
    with pytest.MonkeyPatch.context() as env:
        for name, value in settings_for(root).items():
            env.setenv(name, value)
        from orchestration.definitions import defs

        yield defs


def test_every_raw_load_runs_after_the_erasure_in_the_writer_pool(defs: dg.Definitions) -> None:
    from orchestration.resources import WAREHOUSE_POOL

    graph = defs.resolve_asset_graph()
    raw = [key for key in graph.materializable_asset_keys if key.path[0].startswith("raw_")]
    job = defs.resolve_job_def("daily_full_build")
    upstream = job.graph.dependency_structure

    assert raw and all(ERASURE in graph.get(key).parent_keys for key in raw)
    loads = [node.name for node in job.graph.nodes if node.name.startswith("load_raw_")]
    assert loads and all(
        "privacy__erasure" in {output.node_name for output in upstream.all_upstream_outputs_from_node(name)}
        for name in loads
    ), "the erasure step runs before every load step, not just beside it in the graph"
    assert job.graph.node_named("privacy__erasure").definition.pool == WAREHOUSE_POOL


def test_a_new_erasure_request_starts_one_run_of_everything_but_the_esp_syncs(
    defs: dg.Definitions, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    for name, value in settings_for(tmp_path).items():
        monkeypatch.setenv(name, value)
    sensor = defs.resolve_sensor_def("erasure_requests_sensor")
    graph = defs.resolve_asset_graph()

    from orchestration.resources import WarehouseResource

    def tick(cursor: str | None) -> dg.SensorResult:
        return sensor(dg.build_sensor_context(cursor=cursor, resources={"warehouse": WarehouseResource()}))

    quiet = tick(None)
    ErasureLedger(get_settings()).record([("email", "someone@example.com")])
    requested = tick(quiet.cursor)
    again = tick(requested.cursor)

    assert quiet.run_requests == [] and again.run_requests == []
    assert len(requested.run_requests) == 1
    targeted = defs.resolve_job_def(sensor.job_name).asset_layer.selected_asset_keys
    assert ERASURE in targeted and dg.AssetKey(["serving", "marts"]) in targeted
    assert not any(graph.get(key).group_name == "activation" for key in targeted)
