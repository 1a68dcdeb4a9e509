"""The staging, intermediate and marts groups: one asset per dbt model, dbt tests as asset checks.

The translator maps each dbt source to the raw asset that loads it (`["raw_<system>", <table>]`), puts models
in the asset group of their layer (folder), owned by the owner of their dbt group (models/_groups.yml), and
gives them the downstream automation condition. dbt source freshness (`error_after` in the sources' YAML)
becomes Dagster last-update freshness checks on the raw assets.

The manifest is prepared when the definitions are built, with their settings: dbt parses when the manifest is
missing or the project changed since it was parsed (`orchestration.resources.prepare_manifest`). dbt builds the
profile's `prod` target with the settings of the run's `WarehouseResource`, given to its process explicitly
(`core.dbt_cli.dbt_env_file`).
"""

import json
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from core.dbt_cli import dbt_env_file
from core.settings import Settings
from orchestration.assets.ingestion import raw_asset_key
from orchestration.automation import DOWNSTREAM_CONDITION, FULL_REFRESH_TAG, checks_read_whole_tables
from orchestration.resources import (
    OWNERS,
    WAREHOUSE_POOL,
    WarehouseResource,
    dbt_project,
    invocation_target_path,
    prepare_manifest,
)

LAYERS = ("staging", "intermediate", "marts", "serving")
"""Model folders, each its own asset group (serving: the `bi` and `activation` models, beside the publish);
anything else (seeds, snapshots) joins staging."""


def load_manifest(settings: Settings) -> Mapping[str, Any]:
    """The dbt manifest Dagster builds its assets from, parsed with `settings` when it must be."""
    return json.loads(prepare_manifest(settings).read_text())


class WarehouseDbtTranslator(DagsterDbtTranslator):
    """dbt sources keyed as their raw assets, models as the tables they write; grouped by layer, owned, automated."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return raw_asset_key(dbt_resource_props["source_name"], dbt_resource_props["name"])
        key = super().get_asset_key(dbt_resource_props)
        alias = dbt_resource_props.get("alias")
        if alias and alias != dbt_resource_props["name"]:  # bi_dim_customers writes bi.dim_customers: bi/dim_customers
            return dg.AssetKey([*key.path[:-1], alias])
        return key

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        folder = dbt_resource_props["fqn"][1] if len(dbt_resource_props["fqn"]) > 2 else ""
        return folder if folder in LAYERS else "staging"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        """The owner of the model's dbt group as Dagster writes owners (`team:<name>`, and the email if given);
        dagster-dbt passes the group's properties in `group`. Without a group: the project's OWNERS."""
        group = dbt_resource_props.get("group")
        owner = (group.get("owner") if isinstance(group, Mapping) else None) or {}
        owners = [f"team:{owner['name']}"] if owner.get("name") else []
        owners += [owner["email"]] if isinstance(owner.get("email"), str) else owner.get("email") or []
        return owners or OWNERS

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        return DOWNSTREAM_CONDITION


translator = WarehouseDbtTranslator(
    # Child tables (`orders__line_items`) are sources of their own in dbt but written by the parent's dlt
    # resource: several sources share the parent's raw asset key.
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_duplicate_source_asset_keys=True)
)


def _relations(manifest: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """unique_id -> (schema, table) of every model, seed and snapshot, as dbt resolved them."""
    return {
        unique_id: (node["schema"], node.get("alias") or node["name"])
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] in ("model", "seed", "snapshot")
    }


TESTS_SCOPE_VARIABLE = "WAREHOUSE_TESTS_SCOPE"
"""dbt's environment variable choosing what its data tests read (dbt_project/macros/tests/sized_to_run.sql):
`rows_written`, the rows incremental models wrote since their tests last passed, or `whole_tables`. An
environment variable and not a dbt var: a var's value is part of what dbt's partial parse is valid for, so a
new value would make every run parse the whole project again; the macro reads it only while tests execute."""


def scope_of_tests(tags: Mapping[str, str]) -> str:
    """The value of TESTS_SCOPE_VARIABLE for a run with `tags`."""
    return "whole_tables" if checks_read_whole_tables(tags) else "rows_written"


def add_dbt_env(env_file: Path, values: Mapping[str, str]) -> None:
    """Adds `values` to the variables the invocation's dbt starts with (`core.dbt_cli.dbt_env_file`, read by
    `core/dbt_launcher.py`); the file keeps its owner-only mode."""
    written = json.loads(env_file.read_text())
    env_file.write_text(json.dumps({**written, **values}))


def _unique_id(event: Any) -> str | None:
    """The dbt node an Output of dagster-dbt stands for (its metadata holds it as a text metadata value)."""
    if not isinstance(event, dg.Output):
        return None
    value = (event.metadata or {}).get("unique_id")
    return getattr(value, "value", value)


def build_dbt_assets(manifest: Mapping[str, Any]) -> dg.AssetsDefinition:
    """One asset per dbt model of `manifest`, its tests as checks, built by one `dbt build`."""

    @dbt_assets(
        manifest=manifest,
        project=dbt_project,
        dagster_dbt_translator=translator,
        name="dbt_models",
        pool=WAREHOUSE_POOL,
    )
    def dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
    ) -> Iterator[Any]:
        """`dbt build` of the selected models, tests as checks; `--full-refresh` in the full-refresh job. Tests
        of incremental models read the rows written since they last passed, except in the daily full build and a
        full refresh (`scope_of_tests`).

        Each model's materialization and each test's check is handed to Dagster as dbt reports it, so the UI
        and `warehouse run` follow the build model by model. Row counts and column types come after dbt exits,
        as one observation per table read over one read-only connection: while dbt builds, its process holds
        DuckDB's write lock, and no other process may open the file, even read-only (dagster-dbt's
        fetch_row_counts waits for the same reason).
        """
        # Unit tests check SQL logic on fixtures, not data: they belong to CI (`make test`), and dbt advises
        # leaving them out of production builds (they also need incremental models to exist already).
        args = ["build", "--exclude-resource-type", "unit_test"]
        if context.run.tags.get(FULL_REFRESH_TAG) == "true":
            args.append("--full-refresh")
        target_path = invocation_target_path(context.run.run_id, warehouse.settings)
        built: dict[dg.AssetKey, tuple[str, str]] = {}
        with dbt_env_file(target_path, warehouse.settings) as env_file:
            add_dbt_env(env_file, {TESTS_SCOPE_VARIABLE: scope_of_tests(context.run.tags)})
            invocation = dbt.cli(args, context=context, raise_on_error=False, target_path=target_path)
            relations = _relations(invocation.manifest)
            for event in invocation.stream():
                yield event
                unique_id = _unique_id(event)
                if unique_id in relations:
                    built[context.asset_key_for_output(event.output_name)] = relations[unique_id]
        metadata = warehouse.tables_metadata(built.values())
        for key, relation in built.items():
            if metadata.get(relation):
                yield dg.AssetObservation(asset_key=key, metadata=metadata[relation])
        if not invocation.is_successful():
            failed = [
                f"{result['unique_id']} ({result['status']})"
                for result in invocation.get_artifact("run_results.json")["results"]
                if result["status"] in ("error", "fail", "runtime error")
            ]
            raise dg.Failure(
                description=f"dbt build failed: {', '.join(failed) or 'see the dbt logs'}",
                metadata={"failed": dg.MetadataValue.json(failed)},
            )

    return dbt_models


def _window(freshness: Mapping[str, Any], level: str) -> timedelta | None:
    after = freshness.get(level) or {}
    if not after.get("count") or not after.get("period"):
        return None
    return timedelta(**{f"{after['period']}s": after["count"]})


def build_source_freshness_check(source: Mapping[str, Any]) -> dg.AssetChecksDefinition | None:
    """dbt's `source freshness` for one source table, as a check on the raw asset that loads it.

    Same rule as dbt: the newest `loaded_at_field` against `warn_after` / `error_after`. It complements the
    assets' FreshnessPolicy: that one watches when Dagster last materialized, this one when data last arrived.
    Not blocking: stale data is an alert, not a reason to stop building.
    """
    config = source.get("config") or {}
    freshness = source.get("freshness") or config.get("freshness") or {}
    loaded_at = source.get("loaded_at_field") or config.get("loaded_at_field")
    warn_after, error_after = _window(freshness, "warn_after"), _window(freshness, "error_after")
    if not loaded_at or not (warn_after or error_after):
        return None
    relation = f'"{source["schema"]}"."{source["identifier"] or source["name"]}"'

    @dg.asset_check(
        asset=raw_asset_key(source["source_name"], source["name"]),
        name=f"source_freshness_{source['name']}",
        description=f"dbt source freshness of {source['source_name']}.{source['name']}: newest {loaded_at}.",
        pool=WAREHOUSE_POOL,
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.read_only() as connection:
            try:
                (age_seconds,) = connection.execute(
                    f"SELECT epoch(now() - max({loaded_at})) FROM {relation}"
                ).fetchone()
            except duckdb.CatalogException:  # the system's first delivery has not come: not created yet
                age_seconds = None
        age = timedelta(seconds=age_seconds) if age_seconds is not None else None
        # No rows yet is not stale data: a warning that says so, which never stops a run.
        severity, passed, description = dg.AssetCheckSeverity.WARN, False, "no data yet"
        if age is not None:
            passed, description = True, None
            if error_after and age > error_after:
                passed, severity = False, dg.AssetCheckSeverity.ERROR
            elif warn_after and age > warn_after:
                passed = False
        return dg.AssetCheckResult(
            passed=passed,
            severity=severity,
            description=description,
            metadata={
                "status": description or ("fresh" if passed else "stale"),
                "age_minutes": None if age is None else round(age.total_seconds() / 60, 1),
                "warn_after_minutes": warn_after.total_seconds() / 60 if warn_after else None,
                "error_after_minutes": error_after.total_seconds() / 60 if error_after else None,
            },
        )

    return _check


def build_source_freshness_checks(manifest: Mapping[str, Any]) -> list[dg.AssetChecksDefinition]:
    """One freshness check per dbt source table of `manifest` that declares freshness."""
    sources = sorted(manifest["sources"].values(), key=lambda source: source["unique_id"])
    return [check for source in sources if (check := build_source_freshness_check(source)) is not None]


def build_defs(settings: Settings) -> dg.Definitions:
    """The dbt models and their tests, and dbt's source freshness as checks on the raw assets."""
    manifest = load_manifest(settings)
    return dg.Definitions(assets=[build_dbt_assets(manifest)], asset_checks=build_source_freshness_checks(manifest))
