"""dbt run by hand, as docs/developing.md describes it: in a checkout's dbt_project/, with no variable set, the
profile finds the README's files, builds the `dev` target into data/dev.duckdb and only reads the production
warehouse; every model has a group with an owner, which Dagster shows; the selectors select their layers."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.settings import DBT_PROJECT_DIR

pytestmark = pytest.mark.slow  # dbt parses the whole project (a copy of it), once for the module

SELECTORS = ("staging", "intermediate", "marts", "serving", "customer_marts", "identity")

# dbt run by hand, several commands in one process: the first parses, the others reuse its manifest.
BY_HAND = """
    import json, sys
    from dbt.cli.main import dbtRunner

    parsed = dbtRunner().invoke(["parse", "--quiet"])
    assert parsed.success, parsed.exception
    dbt = dbtRunner(manifest=parsed.result)
    report = {"selectors": {}}
    for name in sys.argv[1:]:
        listed = dbt.invoke(["ls", "--selector", name, "--resource-type", "model", "--output", "name", "--quiet"])
        report["selectors"][name] = sorted(listed.result)
    report["seed"] = dbt.invoke(["seed", "--select", "month_names", "--quiet"]).success
    shown = dbt.invoke(["show", "--inline", "select count(*) as n from {{ source('crm', 'contacts') }}", "--quiet"])
    report["source_rows"] = shown.result.results[0].agate_table.rows[0][0] if shown.success else None
    print(json.dumps(report))
"""


@dataclass(frozen=True)
class HandRun:
    checkout: Path
    report: Mapping[str, Any]
    warehouse_digest_before: str

    @property
    def data(self) -> Path:
        return self.checkout / "data"

    @property
    def manifest(self) -> Mapping[str, Any]:
        return json.loads((self.checkout / "dbt_project" / "target" / "manifest.json").read_text())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def by_hand(tmp_path_factory: pytest.TempPathFactory) -> HandRun:
    """A copy of the dbt project in a checkout with a production warehouse at the README's path
    (data/warehouse.duckdb, two CRM contacts), and dbt run in its dbt_project/ with none of the product's
    variables set."""
    checkout = tmp_path_factory.mktemp("checkout")
    shutil.copytree(DBT_PROJECT_DIR, checkout / "dbt_project", ignore=shutil.ignore_patterns("target", "logs"))
    (checkout / "data").mkdir()
    warehouse = checkout / "data" / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create schema raw_crm; create table raw_crm.contacts as select * from range(2) r(id)")
    before = _digest(warehouse)
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("WAREHOUSE_PATH", "SERVING_PATH", "LANDING_DIR") and not name.startswith("DBT_")
    }
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(BY_HAND), *SELECTORS],
        cwd=checkout / "dbt_project",
        env={**env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return HandRun(checkout, json.loads(completed.stdout.strip().splitlines()[-1]), before)


def test_by_hand_dbt_builds_the_dev_file_beside_the_warehouse_and_reads_sources_from_the_warehouse(
    by_hand: HandRun,
) -> None:
    assert by_hand.report["seed"], "dbt seed in the dev target failed"
    assert by_hand.report["source_rows"] == 2, "sources are read from data/warehouse.duckdb"
    with duckdb.connect(str(by_hand.data / "dev.duckdb"), read_only=True) as dev:
        assert dev.execute("select count(*) from seeds.month_names").fetchone()[0] > 0


def test_by_hand_dbt_never_writes_the_production_warehouse(by_hand: HandRun) -> None:
    assert _digest(by_hand.data / "warehouse.duckdb") == by_hand.warehouse_digest_before
    assert {path.name for path in by_hand.data.iterdir()} <= {"warehouse.duckdb", "dev.duckdb", "dev.duckdb.wal"}


def test_every_model_has_a_group_with_an_owner_and_marts_and_serving_are_public(by_hand: HandRun) -> None:
    manifest = by_hand.manifest
    owners = {group["name"]: group["owner"] for group in manifest["groups"].values()}
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]

    assert models and all(owners.get(model["group"], {}).get("name") for model in models), "model without owner"
    layers = {model["name"]: (model["fqn"][1], model["access"]) for model in models}
    assert {access for layer, access in layers.values() if layer in ("marts", "serving")} == {"public"}
    assert {access for layer, access in layers.values() if layer in ("staging", "intermediate")} <= {
        "protected",
        "private",
    }


def test_dagster_shows_each_model_s_group_owner_and_keeps_layers_as_asset_groups(by_hand: HandRun) -> None:
    from orchestration.assets.dbt import LAYERS, translator
    from orchestration.resources import dbt_project

    manifest = by_hand.manifest
    owners = {group["name"]: group["owner"]["name"] for group in manifest["groups"].values()}
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] != "model":
            continue
        spec = translator.get_asset_spec(manifest, unique_id, dbt_project)
        assert spec.owners == [f"team:{owners[node['group']]}"], unique_id
        assert spec.group_name == node["fqn"][1] and spec.group_name in LAYERS, unique_id


def test_each_layer_selector_selects_the_models_of_its_folder(by_hand: HandRun) -> None:
    manifest, selected = by_hand.manifest, by_hand.report["selectors"]
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]
    for layer in ("staging", "intermediate", "marts", "serving"):
        assert selected[layer] == sorted(model["name"] for model in models if model["fqn"][1] == layer), layer
    identity = sorted(model["name"] for model in models if model["group"] == "identity")
    assert selected["identity"] == identity and "customer_identity_map" in identity


def test_customer_marts_selects_the_customer_marts_and_everything_upstream_only(by_hand: HandRun) -> None:
    nodes, selected = by_hand.manifest["nodes"], set(by_hand.report["selectors"]["customer_marts"])
    upstream, todo = set(), [f"model.email_warehouse.{name}" for name in ("customer_profiles", "customer_segments")]
    todo.append("model.email_warehouse.customer_identity_map")
    while todo:
        unique_id = todo.pop()
        if unique_id in nodes and unique_id not in upstream:
            upstream.add(unique_id)
            todo += nodes[unique_id]["depends_on"].get("nodes", [])
    assert selected == {nodes[node]["name"] for node in upstream if nodes[node]["resource_type"] == "model"}
    assert "fct_events" not in selected and not selected & set(by_hand.report["selectors"]["serving"])
