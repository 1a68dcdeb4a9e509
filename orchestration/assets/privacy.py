"""The privacy group: the erasure asset, first in the graph, and the sensor that runs it after a request.

`warehouse erase` only records a request in the erasure ledger (a separate file, so it never waits for the
warehouse's writer). This asset applies every recorded request before anything is loaded: it deletes the
people's rows from raw tables and from the dbt tables that keep rows across runs, then the raw loads, dbt and the
serving publish of the same run rebuild everything from what is left. Its metadata holds counts only.
"""

import dagster as dg

from core.settings import Settings
from orchestration.automation import raw_condition
from orchestration.resources import OWNERS, WAREHOUSE_POOL, WarehouseResource, dbt_project
from privacy.erasure import erase_from_warehouse
from privacy.matching import ledger_snapshot
from privacy.registry import read_registry

ERASURE_KEY = dg.AssetKey(["privacy", "erasure"])


def build_erasure_asset(settings: Settings) -> dg.AssetsDefinition:
    """The erasure asset, on the most frequent raw cron of `settings`: the raw assets' cron condition waits for
    all their parents to have updated since the tick, and the erasure asset is their parent. Without a ledger it
    finishes without opening the warehouse."""

    @dg.asset(
        key=ERASURE_KEY,
        group_name="privacy",
        owners=OWNERS,
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
        automation_condition=raw_condition(min(settings.freshness_minutes.values())),
        description=(
            "Applies the erasure ledger (PRIVACY_LEDGER_PATH): deletes erased people from raw tables, their child "
            "tables, quarantine and the dbt tables, in the columns their YAML declares personal "
            "(`meta: {pii: ...}`), before the raw loads. See docs/privacy.md."
        ),
    )
    def erasure(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        settings = warehouse.settings
        registry = read_registry(dbt_project.manifest_path, settings)
        report = erase_from_warehouse(settings.warehouse_path, settings, registry)
        context.log.info(
            "Erasure: %d requests, %d rows deleted from %d tables", report.requests, report.total_deleted,
            len(report.rows_deleted),
        )  # fmt: skip
        return dg.MaterializeResult(
            metadata={
                "requests": report.requests,
                "identifiers": report.subjects_known,
                "identifiers_resolved_this_run": report.subjects_added,
                "rows_deleted": report.total_deleted,
                "rows_deleted_by_table": dg.MetadataValue.json(report.rows_deleted),
            }
        )

    return erasure


def applied_requests(instance: dg.DagsterInstance) -> int:
    """The requests the latest materialization of the erasure asset applied (its `requests` metadata); 0 when it
    never ran."""
    entry = instance.get_latest_materialization_event(ERASURE_KEY)
    materialization = entry.asset_materialization if entry is not None else None
    value = materialization.metadata.get("requests") if materialization is not None else None
    value = getattr(value, "value", value)
    return value if isinstance(value, int) else 0


def build_erasure_sensor(target: dg.AssetSelection) -> dg.SensorDefinition:
    """Runs the erasure asset and everything downstream when the ledger holds requests it has not seen.

    The cursor is the number of requests in the ledger (append-only; the identifiers a run resolves for a
    request join that request, so they trigger nothing). Without a cursor (the first tick after `warehouse ui`
    starts, or after the sensor was reset) the requests seen are those the erasure asset last applied, in
    whatever run: only requests recorded after it start a run, not every request ever made. A run re-applies
    older requests too: harmless.
    """

    @dg.sensor(
        name="erasure_requests_sensor",
        target=target,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Applies new erasure requests: erase, reload, rebuild and republish.",
    )
    def erasure_requests_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource) -> dg.SensorResult:
        snapshot = ledger_snapshot(warehouse.settings)
        requests = snapshot.requests if snapshot else 0
        if context.cursor is not None:
            seen = int(context.cursor)
        else:  # the instance is read only when there is something to compare
            seen = applied_requests(context.instance) if requests else 0
        if requests <= seen:
            return dg.SensorResult(skip_reason="No new erasure requests.", cursor=str(requests))
        return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"erasure-{requests}")], cursor=str(requests))

    return erasure_requests_sensor
