"""When things run: automation conditions, the landing-file sensor, the automation sensor and the jobs.

Raw assets run on their cron (a floor that keeps them within their freshness window even if no file event is
seen) and as soon as the landing sensor sees a new or changed file for them. Everything downstream runs when a
parent updated and the parents' blocking checks passed, so bad raw data never reaches the marts or serving.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import dagster as dg

from orchestration.resources import WarehouseResource

FULL_REFRESH_TAG = "warehouse/full_refresh"
"""Run tag read by the dlt and dbt assets: rebuild from scratch instead of incrementally."""


DOWNSTREAM_CONDITION = (
    dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
).with_label("eager_when_parent_checks_passed")
"""Models and serving: rebuild after any parent updated, unless a blocking check on a parent failed."""


def cron_within(minutes: int) -> str:
    """A cron ticking at least once per freshness window (15 -> every 15 minutes, 1440 -> daily 06:00)."""
    if minutes < 60:
        return f"*/{max(minutes, 1)} * * * *"
    if minutes < 24 * 60:
        return f"0 */{minutes // 60} * * *"
    return "0 6 * * *"


def raw_condition(freshness_minutes: int) -> dg.AutomationCondition:
    """Raw assets: a cron floor within their freshness window; new landing files go through the sensor."""
    return dg.AutomationCondition.on_cron(cron_within(freshness_minutes))


def _landing_fingerprints(landing_dir: Path) -> dict[str, str]:
    """One short digest per `<system>/<entity>` folder over its files' names, sizes and mtimes.

    A folder-level digest keeps the cursor small however many files the collector writes, and catches the
    three ways the contract says a landing folder changes: a new file, a grown file, a replaced file.
    """
    fingerprints: dict[str, str] = {}
    if not landing_dir.is_dir():
        return fingerprints
    for folder in sorted(p for p in landing_dir.glob("*/*") if p.is_dir() and not p.parts[-2].startswith("_")):
        digest = hashlib.sha1()
        for file in sorted(folder.glob("*.json*")):
            stat = file.stat()
            digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
        fingerprints[f"{folder.parent.name}/{folder.name}"] = digest.hexdigest()[:16]
    return fingerprints


def changed_raw_assets(
    previous: Mapping[str, str], current: Mapping[str, str], raw_keys: Iterable[dg.AssetKey]
) -> list[dg.AssetKey]:
    """Raw assets whose landing folder (`<system>/<entity>` -> `raw_<system>/<entity>`) changed."""
    known = set(raw_keys)
    changed = []
    for folder, digest in sorted(current.items()):
        if previous.get(folder) == digest:
            continue
        system, entity = folder.split("/", 1)
        key = dg.AssetKey([f"raw_{system}", entity])
        if key in known:
            changed.append(key)
    return changed


def build_landing_sensor(raw_keys: Iterable[dg.AssetKey]) -> dg.SensorDefinition:
    """Requests the raw assets whose landing files changed since the last tick (cursor: folder digests)."""
    raw_keys = list(raw_keys)

    @dg.sensor(
        name="landing_files_sensor",
        target=raw_keys,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Loads a raw table as soon as a new or changed landing file for it appears.",
    )
    def landing_files_sensor(
        context: dg.SensorEvaluationContext, warehouse: WarehouseResource
    ) -> dg.SensorResult | dg.SkipReason:
        previous = json.loads(context.cursor) if context.cursor else {}
        current = _landing_fingerprints(warehouse.settings.landing_dir)
        changed = changed_raw_assets(previous, current, raw_keys)
        cursor = json.dumps(current, sort_keys=True)
        if not changed:
            return dg.SensorResult(skip_reason="No new or changed landing files.", cursor=cursor)
        run_key = hashlib.sha1(cursor.encode()).hexdigest()[:16]
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=run_key, asset_selection=changed)],
            cursor=cursor,
        )

    return landing_files_sensor


automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Evaluates the assets' automation conditions: raw cron floors, then eager when checks pass.",
)

# The warehouse jobs stop at the serving copy: ESP syncs run on their own automation, only where a destination
# is configured, so a warehouse build never fails for want of email-platform credentials.
WAREHOUSE_SELECTION = dg.AssetSelection.all() - dg.AssetSelection.groups("activation")

daily_full_build = dg.define_asset_job(
    "daily_full_build",
    selection=WAREHOUSE_SELECTION,
    description="Every asset and check, incrementally: the nightly safety net behind the automation.",
)

full_refresh = dg.define_asset_job(
    "full_refresh",
    selection=WAREHOUSE_SELECTION,
    tags={FULL_REFRESH_TAG: "true"},
    description="Reload raw tables from all landing files and rebuild every model from scratch (manual).",
)

daily_full_build_schedule = dg.ScheduleDefinition(
    job=daily_full_build,
    cron_schedule="0 4 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
