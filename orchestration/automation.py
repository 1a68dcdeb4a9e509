"""When things run: automation conditions, the landing-file sensor, the automation sensor and the jobs.

Raw assets run on their cron (a floor that keeps them within their freshness window even if no file event is
seen) and as soon as the landing sensor sees a new or changed file for them that the loader has not read yet.
Everything downstream runs when a parent updated and the parents' blocking checks passed, so bad raw data never
reaches the marts or serving.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import dlt
from dlt.pipeline.exceptions import CannotRestorePipelineException

from core.settings import Settings
from ingestion.landing import scan_landing
from ingestion.landing.file_reads import HELD, NOT_READ, TOO_BIG
from ingestion.landing.files import resume_point
from ingestion.pipelines import SYSTEMS
from orchestration.resources import WarehouseResource

FULL_REFRESH_TAG = "warehouse/full_refresh"
"""Run tag read by the dlt and dbt assets: rebuild from scratch instead of incrementally."""

WHOLE_TABLE_CHECKS_TAG = "warehouse/whole_table_checks"
"""Run tag of the daily full build: every dbt test and quality suite reads whole tables."""


def checks_read_whole_tables(tags: Mapping[str, str]) -> bool:
    """Whether a run's checks read whole tables: the daily full build (and `warehouse run`, which executes it)
    and a full refresh. Any other run (the automation's) checks the rows it wrote: dbt tests of incremental
    models the rows written since their tests last passed, raw suites the rows of this run's loads
    (docs/quality.md). What one run misses, the next daily full build finds."""
    return tags.get(FULL_REFRESH_TAG) == "true" or tags.get(WHOLE_TABLE_CHECKS_TAG) == "true"


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
        key = _raw_key(folder)
        if key in known:
            changed.append(key)
    return changed


def _raw_key(folder: str) -> dg.AssetKey:
    system, entity = folder.split("/", 1)
    return dg.AssetKey([f"raw_{system}", entity])


def loader_marks(settings: Settings) -> dict[str, dict[str, Any]]:
    """What the loader recorded of each landing file it read (its dlt state, keyed by landing-relative path).

    A system whose pipeline holds a package a killed run left behind contributes nothing: its files' marks are
    committed, their rows not yet loaded. Read from dlt's local pipeline state, without opening the warehouse
    (a load may hold it).
    """
    marks: dict[str, dict[str, Any]] = {}
    for system in SYSTEMS:
        try:
            pipeline = dlt.attach(pipeline_name=system, pipelines_dir=str(settings.pipelines_dir))
        except CannotRestorePipelineException:  # never loaded
            continue
        try:
            if pipeline.has_pending_data:
                continue
            resources = pipeline.state.get("sources", {}).get(system, {}).get("resources", {})
            for state in resources.values():
                marks.update(state.get("files", {}))
        finally:
            pipeline.deactivate()
    return marks


def _nothing_new(path: Path, mark: Mapping[str, Any] | None, limit: int) -> bool:
    """The loader would take nothing from `path` now: a link or other entry it refuses, a file refused for its
    size that neither grew nor got a higher limit, or one read to its end whose consumed bytes still hash the same
    (`ingestion.landing.files.resume_point`: a replaced file of the same size is read again)."""
    if not mark:
        return False
    if NOT_READ in mark:
        return True
    try:
        size = path.stat().st_size
        refused = mark.get(TOO_BIG)
        if refused:
            return refused["size"] == size and limit <= refused["limit"]
        progress = {key: value for key, value in mark.items() if key != HELD}
        return bool(progress) and resume_point(path, progress) is None
    except OSError:  # gone since the listing: nothing to read
        return True


def unread_raw_assets(
    candidates: Iterable[dg.AssetKey], settings: Settings, marks: Mapping[str, Mapping[str, Any]]
) -> list[dg.AssetKey]:
    """The raw assets among `candidates` whose landing folder holds something the loader has not read yet."""
    landing = settings.landing_dir
    unread = []
    for key in candidates:
        folder = landing / key.path[0].removeprefix("raw_") / key.path[1]
        scan = scan_landing(folder, landing)
        entries = [*scan.files, *(path for path, _ in scan.refused)]
        if any(
            not _nothing_new(path, marks.get(path.relative_to(landing).as_posix()), settings.landing_max_file_bytes)
            for path in entries
        ):
            unread.append(key)
    return unread


def build_landing_sensor(raw_keys: Iterable[dg.AssetKey]) -> dg.SensorDefinition:
    """Requests the raw assets whose landing files changed since the last tick and hold lines not loaded yet.

    Cursor: one digest per landing folder. A folder counts as changed when its digest differs, and every folder
    does on the first tick (after a restore, or the first `warehouse ui`); a changed folder is loaded only when
    the loader's own marks (`loader_marks`) say a file of it has something unread. So opening the UI after
    `warehouse run`, or a `warehouse run` while the UI is open, launches nothing, and a new, grown or replaced
    file launches its table's load.
    """
    raw_keys = list(raw_keys)

    @dg.sensor(
        name="landing_files_sensor",
        target=raw_keys,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Loads a raw table as soon as a landing file for it holds lines the loader has not read.",
    )
    def landing_files_sensor(
        context: dg.SensorEvaluationContext, warehouse: WarehouseResource
    ) -> dg.SensorResult | dg.SkipReason:
        settings = warehouse.settings
        previous = json.loads(context.cursor) if context.cursor else {}
        current = _landing_fingerprints(settings.landing_dir)
        changed = changed_raw_assets(previous, current, raw_keys)
        unread = unread_raw_assets(changed, settings, loader_marks(settings)) if changed else []
        cursor = json.dumps(current, sort_keys=True)
        if not unread:
            reason = "Landing files changed, all read already." if changed else "No new or changed landing files."
            return dg.SensorResult(skip_reason=reason, cursor=cursor)
        run_key = hashlib.sha1(cursor.encode()).hexdigest()[:16]
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=run_key, asset_selection=unread)],
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
    tags={WHOLE_TABLE_CHECKS_TAG: "true"},
    description=(
        "Every asset incrementally, every check over whole tables: the nightly safety net behind the automation."
    ),
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
