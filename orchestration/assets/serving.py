"""The serving group: `serving/marts`, the atomic publish of the serving copy (serving.publish).

It depends on the marts and on the dbt models made for consumers (`bi`, `activation`, models/serving/), which
dagster-dbt makes assets of their own: it runs only after all of them and their blocking checks passed.
"""

from collections.abc import Sequence

import dagster as dg

from orchestration.automation import DOWNSTREAM_CONDITION
from orchestration.resources import OWNERS, WAREHOUSE_POOL, WarehouseResource, dbt_project
from privacy.registry import read_registry
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
            "Read-only copy (SERVING_PATH) of the marts, the masked `bi` schema for BI tools and the consented "
            "`activation` profiles for the ESP, replaced atomically after their blocking checks passed. "
            "See docs/serving.md for which to connect where."
        ),
    )
    def serving_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        settings = warehouse.settings
        registry = read_registry(dbt_project.manifest_path, settings)
        published = publish_serving(settings.warehouse_path, settings.serving_path, settings, registry)
        context.log.info("Published %d marts to %s", len(published.row_counts), published.path)
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(published.path)),
                "tables": len(published.row_counts),
                "row_counts": dg.MetadataValue.json(published.row_counts),
                "consumer_row_counts": dg.MetadataValue.json(published.consumer_row_counts),
                "erased_rows_removed": published.erased_rows_removed,
            }
        )

    return serving_marts
