"""The asset graph of the warehouse, as `dagster dev` shows it and `warehouse run` executes it.

    erasure  ->  crm / shop / analytics (dlt)  ->  staging -> intermediate -> marts (dbt)  ->  serving  ->  activation
    (ledger)        raw GX checks (blocking)        dbt tests, mart GX checks (blocking)   (DuckDB copy)  (ESP syncs)

One module per area (`orchestration/assets/`), merged here in the order data flows; then the quality checks
over the whole graph, when things run (`orchestration.automation`), and the resources. Everything that opens
the warehouse shares one pool (see `orchestration.resources`); runs execute their steps in one process, so a
run never contends with itself for DuckDB's single writer.

The settings read here declare the graph (freshness windows, the dbt manifest, the ESP destinations); a run
reads its own when it starts, through `WarehouseResource`.
"""

from __future__ import annotations

import dagster as dg

from core.files import restrict_umask
from core.settings import get_settings
from orchestration import automation
from orchestration.assets import activation, dbt, ingestion, privacy
from orchestration.assets.serving import build_serving_asset, published_keys
from orchestration.checks import MART_SUITES, RAW_SUITES, build_checks
from orchestration.resources import build_resources

restrict_umask()  # before anything is created: run workers and the dbt/dlt processes they start inherit it
settings = get_settings()

privacy_defs = dg.Definitions(assets=[privacy.build_erasure_asset(settings)])
ingestion_defs = ingestion.build_defs(settings)
dbt_defs = dbt.build_defs(settings)
(dbt_models,) = dbt_defs.assets
serving_defs = dg.Definitions(assets=[build_serving_asset(published_keys(dbt_models))])
activation_defs = activation.build_defs(settings)

raw_keys = [key for assets_def in ingestion_defs.assets for key in assets_def.keys]
# A suite guards an asset of this graph; one whose mart is not (yet) in the dbt project is left out, and
# the definitions test names it.
suites = [s for s in RAW_SUITES + MART_SUITES if dg.AssetKey(list(s.asset)) in {*raw_keys, *dbt_models.keys}]

defs = dg.Definitions.merge(
    privacy_defs,
    ingestion_defs,
    dbt_defs,
    serving_defs,
    activation_defs,
    dg.Definitions(
        asset_checks=build_checks(suites),
        jobs=[automation.daily_full_build, automation.full_refresh],
        schedules=[automation.daily_full_build_schedule],
        sensors=[
            automation.automation_sensor,
            automation.build_landing_sensor(raw_keys),
            privacy.build_erasure_sensor(
                (
                    dg.AssetSelection.assets(privacy.ERASURE_KEY).downstream() - dg.AssetSelection.groups("activation")
                ).materializable()  # an unconfigured ESP destination is in the graph, not runnable
            ),
        ],
        resources=build_resources(),
        executor=dg.in_process_executor,
    ),
)
