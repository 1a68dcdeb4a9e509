"""A snapshot of the Dagster definitions: every asset key with its group, kinds, upstream keys, pool, automation
condition and checks, and the jobs, schedules and sensors. A change to the graph shows up as a reviewable diff of
tests/orchestration/snapshots/definitions.json, as dagster-open-platform reviews its definitions.

After an intended change, `UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/orchestration/test_definitions_snapshot.py`
rewrites the file; commit it with the change that caused it.
"""

from __future__ import annotations

import difflib
import importlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from core.settings import environment_under

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dg.Definitions]:
    """The definitions as a fresh checkout declares them: no ESP configured (a configured one syncs eagerly), so
    built anew, not the module another test of this process imported under its own environment."""
    with pytest.MonkeyPatch.context() as env:
        for name in [name for name in os.environ if name.startswith(("DESTINATIONS__", "ACTIVATION_"))]:
            env.delenv(name)
        for name, value in environment_under(tmp_path_factory.mktemp("snapshot")).items():
            env.setenv(name, value)
        import orchestration.definitions

        yield importlib.reload(orchestration.definitions).defs


def condition_structure(condition: dg.AutomationCondition) -> str:
    """`label=OPERATOR(children...)`, the whole tree: a change inside a labelled condition changes the text."""
    children = condition.children
    text = condition.name if not children else f"{condition.name}({', '.join(map(condition_structure, children))})"
    return f"{condition.get_label()}={text}" if condition.get_label() else text


def condition_name(condition: dg.AutomationCondition | None) -> str | None:
    return None if condition is None else condition.get_label() or condition_structure(condition)


def snapshot(defs: dg.Definitions) -> dict[str, Any]:
    graph = defs.resolve_asset_graph()
    conditions: dict[str, str] = {}
    assets: dict[str, Any] = {}
    for key in sorted(graph.materializable_asset_keys):
        node = graph.get(key)
        condition = node.automation_condition
        if condition is not None and condition.get_label():
            conditions[condition.get_label()] = condition_structure(condition)
        checks = {
            check.name: "blocking" if graph.get_check_spec(check).blocking else "warn"
            for check in graph.get_check_keys_for_assets({key})
        }
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "deps": sorted(parent.to_user_string() for parent in node.parent_keys),
            "pools": sorted(node.pools or ()),
            "automation_condition": condition_name(condition),
            "freshness_policy": None if node.freshness_policy is None else repr(node.freshness_policy),
            "checks": dict(sorted(checks.items())),
        }
    return {
        "automation_conditions": dict(sorted(conditions.items())),
        "assets": assets,
        "jobs": sorted(job.name for job in defs.resolve_all_job_defs() if not job.name.startswith("__")),
        "schedules": sorted(s.name for s in defs.schedules or ()),
        "sensors": {s.name: str(s.default_status.value) for s in sorted(defs.sensors or (), key=lambda s: s.name)},
    }


def test_definitions_match_the_reviewed_snapshot(defs: dg.Definitions) -> None:
    current = json.dumps(snapshot(defs), indent=2) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current)
    expected = SNAPSHOT.read_text() if SNAPSHOT.exists() else ""
    diff = "".join(difflib.unified_diff(expected.splitlines(True), current.splitlines(True), "snapshot", "now", n=1))
    assert not diff, f"the definitions changed; review, then refresh with UPDATE_SNAPSHOTS=1:\n{diff[:6000]}"
