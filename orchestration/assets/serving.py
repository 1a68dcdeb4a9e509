"""The serving group: `serving/marts`, the atomic publish of the serving copy (serving.publish), then of what BI
tools read: the BI artifact (serving.bi_artifact) and, when SERVING_URL is set, the PostgreSQL target
(serving.postgres). Both are read from the serving copy just published, after its erasure guard.

It depends on the marts and on the dbt models made for consumers (`bi`, `activation`, models/serving/), which
dagster-dbt makes assets of their own: it runs only after all of them and their blocking checks passed.
"""

from collections.abc import Sequence

import dagster as dg

from orchestration.automation import DOWNSTREAM_CONDITION
from orchestration.resources import OWNERS, WAREHOUSE_POOL, WarehouseResource, dbt_project
from privacy.registry import read_registry
from serving.bi_artifact import publish_bi_artifact
from serving.postgres import publish_serving_target
from serving.publish import publish_serving

SERVING_KEY = dg.AssetKey(["serving", "marts"])
PUBLISHED_GROUPS = ("marts", "serving")
"""The dbt asset groups whose tables the serving copy holds: the marts, and the `bi` / `activation` models."""


def published_keys(dbt_models: dg.AssetsDefinition) -> list[dg.AssetKey]:
    """Every asset of `dbt_models` whose table the serving copy publishes."""
    return sorted(
        (key for key, group in dbt_models.group_names_by_key.items() if group in PUBLISHED_GROUPS),
        key=lambda key: key.to_user_string(),
    )


def build_serving_asset(upstream: Sequence[dg.AssetKey]) -> dg.AssetsDefinition:
    """The `serving/marts` asset, downstream of `upstream` (the tables it publishes)."""

    @dg.asset(
        key=SERVING_KEY,
        deps=list(upstream),
        group_name="serving",
        owners=OWNERS,
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
        # Not plain eager(): automation would then publish marts whose blocking check failed after the run that
        # built them stopped short of publishing.
        automation_condition=DOWNSTREAM_CONDITION,
        description=(
            "Read-only copy (SERVING_PATH, owner-only) of the marts, the masked `bi` schema and the consented "
            "`activation` profiles for the ESP, replaced atomically after their blocking checks passed; then the "
            "BI artifact (BI_SERVING_PATH: `bi` only, a new snapshot pooled readers see on their next query) and "
            "the PostgreSQL target if SERVING_URL is set. See docs/serving.md for which to connect where."
        ),
    )
    def serving_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        settings = warehouse.settings
        registry = read_registry(dbt_project.manifest_path, settings)
        published = publish_serving(settings.warehouse_path, settings.serving_path, settings, registry)
        context.log.info("Published %d marts to %s", len(published.row_counts), published.path)
        bi = publish_bi_artifact(published.path, settings.bi_serving_path)
        context.log.info("BI artifact %s: snapshot %s in effect", bi.path, bi.snapshot_id)
        if bi.catalog_replaced:
            context.log.info("The bi tables' columns changed: BI tools connected before must reconnect")
        metadata = {
            "path": dg.MetadataValue.path(str(published.path)),
            "tables": len(published.row_counts),
            "row_counts": dg.MetadataValue.json(published.row_counts),
            "consumer_row_counts": dg.MetadataValue.json(published.consumer_row_counts),
            "erased_rows_removed": published.erased_rows_removed,
            "bi_path": dg.MetadataValue.path(str(bi.path)),
            "bi_snapshot": bi.snapshot_id,
            "bi_effective_at": bi.effective_at.isoformat(),
            "bi_tables": len(bi.row_counts),
            "bi_row_counts": dg.MetadataValue.json(bi.row_counts),
            "bi_catalog_replaced": bi.catalog_replaced,
            "bi_snapshots_pruned": len(bi.pruned),
        }
        target = publish_serving_target(settings, published.path)  # raises ServingTargetError, URL redacted
        if target is not None:
            context.log.info("Published %d tables to %s", len(target.row_counts), target.target)
            metadata |= {
                "postgres_target": target.target,
                "postgres_tables": len(target.row_counts),
                "postgres_row_counts": dg.MetadataValue.json(target.row_counts),
            }
        return dg.MaterializeResult(metadata=metadata)

    return serving_marts
