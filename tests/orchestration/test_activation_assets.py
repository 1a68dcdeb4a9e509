"""The ESP destinations in the graph: a configured one syncs after each publish, an unconfigured one is shown
but never run (no automation, not in "Materialize all"), and says what to set."""

from __future__ import annotations

import os

import dagster as dg
import pytest

from core.settings import Settings
from orchestration.assets.activation import build_defs
from orchestration.resources import WarehouseResource

ESP = dg.AssetKey(["activation", "esp"])
ESP_VARIABLES = ("DESTINATIONS__ESP__BASE_URL", "DESTINATIONS__ESP__LIST_ID", "DESTINATIONS__ESP__API_KEY")


def _defs(settings: Settings) -> dg.Definitions:
    """The activation assets beside a stand-in serving copy, as the project's Definitions merge them."""
    serving = dg.AssetSpec(["serving", "marts"])
    resources = {"warehouse": WarehouseResource()}
    return dg.Definitions.merge(build_defs(settings), dg.Definitions(assets=[serving], resources=resources))


@pytest.fixture
def unconfigured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("DESTINATIONS__")]:
        monkeypatch.delenv(name)


def test_an_unconfigured_destination_is_shown_but_never_run_and_says_what_to_set(
    unconfigured: None, settings: Settings
) -> None:
    defs = _defs(settings)
    graph = defs.resolve_asset_graph()
    node = graph.get(ESP)

    assert ESP not in graph.materializable_asset_keys
    assert node.automation_condition is None
    assert ESP not in defs.resolve_implicit_global_asset_job_def().asset_layer.selected_asset_keys
    assert all(variable in node.description for variable in ESP_VARIABLES)
    assert node.group_name == "activation" and node.parent_keys == {dg.AssetKey(["serving", "marts"])}


def test_a_configured_destination_syncs_after_each_publish(
    unconfigured: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ESP_VARIABLES:
        monkeypatch.setenv(variable, "https://us21.api.mailchimp.com" if variable.endswith("URL") else "x")
    defs = _defs(settings)
    graph = defs.resolve_asset_graph()
    node = graph.get(ESP)

    assert ESP in graph.materializable_asset_keys
    assert node.automation_condition is not None and node.automation_condition.get_label() == "eager"
    assert ESP in defs.resolve_implicit_global_asset_job_def().asset_layer.selected_asset_keys
    assert not any(variable in node.description for variable in ESP_VARIABLES)
