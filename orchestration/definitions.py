"""The asset graph of the warehouse, as `dagster dev` shows it and `warehouse run` executes it.

    erasure  ->  crm / shop / analytics (dlt)  ->  staging -> intermediate -> marts (dbt)  ->  serving  ->  activation
    (ledger)        raw GX checks (blocking)        dbt tests, mart GX checks (blocking)   (DuckDB copy)  (ESP syncs)

Everything that opens the warehouse shares one pool (see `orchestration.resources`); runs execute their steps
in one process, so a run never contends with itself for DuckDB's single writer.
"""

from __future__ import annotations

import dagster as dg

from orchestration.assets.activation import sync_assets
from orchestration.assets.dbt import build_source_freshness_checks, dbt_models
from orchestration.assets.ingestion import raw_assets
from orchestration.assets.privacy import build_erasure_sensor, erasure
from orchestration.assets.serving import build_serving_asset, published_keys
from orchestration.automation import (
    automation_sensor,
    build_landing_sensor,
    daily_full_build,
    daily_full_build_schedule,
    full_refresh,
)
from orchestration.checks import MART_SUITES, RAW_SUITES, build_checks
from orchestration.resources import build_resources

raw_keys = [key for assets_def in raw_assets for key in assets_def.keys]
# A suite guards an asset of this graph; one whose mart is not (yet) in the dbt project is left out, and
# the definitions test names it.
suites = [s for s in RAW_SUITES + MART_SUITES if dg.AssetKey(list(s.asset)) in {*raw_keys, *dbt_models.keys}]

defs = dg.Definitions(
    assets=[
        erasure,
        *raw_assets,
        dbt_models,
        build_serving_asset(published_keys(dbt_models)),
        *sync_assets,
    ],
    asset_checks=[
        *build_checks(suites),
        *build_source_freshness_checks(),
    ],
    jobs=[daily_full_build, full_refresh],
    schedules=[daily_full_build_schedule],
    sensors=[
        automation_sensor,
        build_landing_sensor(raw_keys),
        build_erasure_sensor(dg.AssetSelection.assets(erasure).downstream() - dg.AssetSelection.groups("activation")),
    ],
    resources=build_resources(),
    executor=dg.in_process_executor,
)
