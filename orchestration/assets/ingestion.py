"""The crm, shop and analytics groups: one dlt asset per resource, keyed by the raw table dbt reads.

dagster-dlt names assets `<source>_<resource>` with an upstream `dlt_<source>_<resource>` placeholder; dbt
names its sources `raw_<system>/<table>`. The translator keys every dlt resource `["raw_<system>", <table>]`,
the key the dbt translator gives the matching source, so the lineage runs unbroken raw table -> staging ->
marts. Child tables (`orders__line_items`) are written by their parent's resource and belong to its asset.

The definitions' settings declare the assets (freshness windows); a run loads with its `WarehouseResource`'s.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import dagster as dg
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from core.settings import Settings
from ingestion.pipelines import (
    SYSTEMS,
    derive_after_load,
    finish_pending,
    loading,
    make_pipeline,
    make_source,
    run_warnings,
)
from orchestration.assets.privacy import ERASURE_KEY
from orchestration.automation import FULL_REFRESH_TAG, raw_condition
from orchestration.resources import OWNERS, WAREHOUSE_POOL, WarehouseResource


def raw_asset_key(system: str, table: str) -> dg.AssetKey:
    """The key shared by a dlt resource and the dbt source over its table."""
    return dg.AssetKey([f"raw_{system}", table.split("__", 1)[0]])


@dataclass
class RawTableTranslator(DagsterDltTranslator):
    """Names, groups, freshness and automation of one system's raw tables."""

    system: str = ""
    freshness_minutes: int = 60

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        table = data.resource.table_name if isinstance(data.resource.table_name, str) else data.resource.name
        window = timedelta(minutes=self.freshness_minutes)
        return (
            super()
            .get_asset_spec(data)
            .replace_attributes(
                key=raw_asset_key(self.system, table),
                deps=[ERASURE_KEY],  # privacy: erasures are applied before any load
                group_name=self.system,
                owners=OWNERS,
                kinds={"dlt", "duckdb"},
                freshness_policy=dg.FreshnessPolicy.time_window(fail_window=window, warn_window=window * 0.8),
                automation_condition=raw_condition(self.freshness_minutes),
            )
        )


def build_raw_assets(system: str, settings: Settings) -> dg.AssetsDefinition:
    """One multi-asset per system: a dlt pipeline run loads all of that system's resources in one package.

    `settings` declare it: the freshness window, and the source and pipeline dagster-dlt reads its resources
    from. A run builds them again with the settings of its `WarehouseResource`.
    """
    translator = RawTableTranslator(system=system, freshness_minutes=settings.freshness_minutes[system])

    @dlt_assets(
        dlt_source=make_source(system, settings),
        dlt_pipeline=make_pipeline(system, settings),
        name=f"load_raw_{system}",
        dagster_dlt_translator=translator,
        pool=WAREHOUSE_POOL,
    )
    def _load(
        context: dg.AssetExecutionContext, dlt: DagsterDltResource, warehouse: WarehouseResource
    ) -> Iterator[dg.MaterializeResult]:
        # Source and pipeline are built again here, not reused from definition time: the run's settings
        # (LANDING_DIR, WAREHOUSE_PATH) decide which files are read and written.
        run_settings = warehouse.settings
        full_refresh = context.run.tags.get(FULL_REFRESH_TAG) == "true"
        # One connection for the whole run: dlt would open and close (checkpoint) the file for every phase.
        with loading(run_settings) as connection:
            pipeline = make_pipeline(system, run_settings, connection)
            if finish_pending(pipeline):
                context.log.info(f"loaded the package a killed run of {system} left behind")
            results = list(
                dlt.run(
                    context=context,
                    dlt_source=make_source(system, run_settings),
                    dlt_pipeline=pipeline,
                    dagster_dlt_translator=translator,
                    # Parquet loader files: the ingestion package's fast path (see ingestion.pipelines.load).
                    loader_file_format="parquet",
                    refresh="drop_sources" if full_refresh else None,
                )
            )
            derive_after_load(system, connection)
            # Files not read or held back, fields kept as JSON: what `warehouse load` prints, here in the step's
            # log and on the table's materialization.
            warnings = run_warnings(pipeline, system)
            # Rows this run delivered per table. dagster-dlt's own `rows_loaded` looks the table up by the
            # resource's table_name, which is a function here (child tables are routed by it), so never finds it.
            normalize = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
            delivered = dict(normalize.row_counts) if normalize else {}
        for warning in warnings:
            context.log.warning(warning)
        # Row counts of the whole table, read once dlt closed the file. (dagster-dlt's fetch_row_count fails
        # on a resource that had nothing new to load: there is no load job to take the table name from.)
        for result in results:
            name = result.asset_key.path[-1]
            table = warehouse.table_metadata(f"raw_{system}", name)
            mine = [warning for warning in warnings if warning.startswith(f"raw_{system}.{name}:")]
            metadata = {
                **(result.metadata or {}),
                **table,
                "rows_loaded": dg.MetadataValue.int(delivered.get(name, 0)),
                "load_warnings": dg.MetadataValue.json(mine),
            }
            yield dg.MaterializeResult(asset_key=result.asset_key, metadata=metadata)

    return _load


def build_defs(settings: Settings) -> dg.Definitions:
    """The raw assets of every system."""
    return dg.Definitions(assets=[build_raw_assets(system, settings) for system in SYSTEMS])
