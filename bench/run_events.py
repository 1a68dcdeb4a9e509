"""Where the time of Dagster runs went, read from the instance's event log: waiting for a sensor, in the run
queue, loading, dbt, checks, publishing.

The arithmetic works on plain records (`Event`, `RunLog`), so it is tested without a Dagster instance;
`read_runs` turns an instance's runs into them. A step's part is named by what it produced, not by its op's
name: a step that materialized a `raw_*` table loaded, one that materialized `serving/marts` published, one whose
materializations name a dbt node (dagster-dbt's `unique_id` metadata) ran dbt (dbt's tests run inside that
step), a step that only evaluated checks ran checks (the Great Expectations suites and source freshness checks
are steps of their own); any other step (the erasure ledger's) is `other_steps`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STEP_START, STEP_ENDS = "STEP_START", ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED")
RUN_START, RUN_ENDS = "RUN_START", ("RUN_SUCCESS", "RUN_FAILURE", "RUN_CANCELED")
MATERIALIZATION, CHECK = "ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION"
KINDS = frozenset({STEP_START, *STEP_ENDS, RUN_START, *RUN_ENDS, MATERIALIZATION, CHECK, "RUN_DEQUEUED"})
"""The event types read: everything else in the log (logs, observations, engine events) is left out."""

PARTS = ("wait_for_sensor", "run_queue", "load", "dbt", "checks", "publish", "other_steps", "run_overhead")
"""Parts of a latency, in the order they happen; `unaccounted` is what is left of the total (see `split`)."""

SERVING_ASSET = "serving/marts"
DBT_NODE = "unique_id"
"""The metadata key dagster-dbt gives every materialization of a dbt node."""


@dataclass(frozen=True)
class Event:
    """One event of a run's log: unix seconds, its type's name, the step it belongs to, the asset it names, and
    for a materialization whether dbt made it."""

    timestamp: float
    kind: str
    step: str | None = None
    asset: str | None = None
    dbt: bool = False


@dataclass(frozen=True)
class RunLog:
    """A run: when it was created (queued, or started in process), its events, and who asked for it."""

    run_id: str
    created: float
    events: tuple[Event, ...]
    requested_by: str | None = None

    @property
    def started(self) -> float | None:
        return next((e.timestamp for e in self.events if e.kind == RUN_START), None)

    @property
    def ended(self) -> float | None:
        return next((e.timestamp for e in self.events if e.kind in RUN_ENDS), None)

    @property
    def success(self) -> bool | None:
        end = next((e.kind for e in self.events if e.kind in RUN_ENDS), None)
        return None if end is None else end == "RUN_SUCCESS"


@dataclass(frozen=True)
class Step:
    key: str
    start: float
    end: float | None
    part: str
    assets: tuple[str, ...] = ()


def part_of(materialized: Iterable[str], checked: bool, by_dbt: bool = False) -> str:
    """The part a step belongs to, from the assets it materialized (`by_dbt`: dbt made them) and whether it
    evaluated checks."""
    assets = set(materialized)
    if SERVING_ASSET in assets:
        return "publish"
    if any(asset.startswith("raw_") for asset in assets):
        return "load"
    if by_dbt:
        return "dbt"
    return "checks" if checked and not assets else "other_steps"


def steps(run: RunLog) -> list[Step]:
    """The run's steps in start order, each with its part; a step still running has end None."""
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    materialized: dict[str, list[str]] = {}
    checked: set[str] = set()
    by_dbt: set[str] = set()
    for event in run.events:
        if event.step is None:
            continue
        if event.kind == STEP_START:
            starts.setdefault(event.step, event.timestamp)
        elif event.kind in STEP_ENDS:
            ends[event.step] = event.timestamp
        elif event.kind == MATERIALIZATION and event.asset:
            materialized.setdefault(event.step, []).append(event.asset)
            if event.dbt:
                by_dbt.add(event.step)
        elif event.kind == CHECK:
            checked.add(event.step)
    return [
        Step(
            key,
            start,
            ends.get(key),
            part_of(materialized.get(key, ()), key in checked, key in by_dbt),
            tuple(materialized.get(key, ())),
        )
        for key, start in sorted(starts.items(), key=lambda item: item[1])
    ]


def _clipped(start: float | None, end: float | None, window: tuple[float, float]) -> float:
    """Seconds of [start, end] inside the window; an interval not ended yet runs to the window's end."""
    if start is None:
        return 0.0
    low, high = window
    return max(0.0, min(end if end is not None else high, high) - max(start, low))


def _union(intervals: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@dataclass
class Split:
    """Seconds per part of [start, end] (`PARTS`), the total, and what no part explains."""

    total: float
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def unaccounted(self) -> float:
        """Total minus the parts: the observer's polling lag after the publish, less any overlap of runs
        running side by side (then negative)."""
        return self.total - sum(self.parts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "total_s": round(self.total, 3),
            **{f"{name}_s": round(seconds, 3) for name, seconds in self.parts.items()},
            "unaccounted_s": round(self.unaccounted, 3),
        }


def split(start: float, end: float, runs: Iterable[RunLog]) -> Split:
    """Where [start, end] went, counting only what happened inside it.

    wait_for_sensor: time before the last run was created during which no run existed (a sensor had not yet
    asked for one); run_queue: created -> the run's process started executing (queue, launch, code loading);
    the step parts: each step's time by `part_of`; run_overhead: a run's execution time outside its steps
    (waiting for the pool, starting and ending the run). Time after the last run ended is left unaccounted: no
    run explains it (the observer had not looked yet).
    """
    window = (start, end)
    runs = sorted((run for run in runs if run.created < end), key=lambda run: run.created)
    parts = dict.fromkeys(PARTS, 0.0)
    lifetimes = [(max(run.created, start), min(run.ended or end, end)) for run in runs if (run.ended or end) > start]
    cursor = start
    for low, high in _union(lifetimes):  # gaps before and between runs; after the last one: unaccounted
        parts["wait_for_sensor"] += max(0.0, low - cursor)
        cursor = max(cursor, high)
    for run in runs:
        parts["run_queue"] += _clipped(run.created, run.started or end, window)
        in_steps = 0.0
        for step in steps(run):
            seconds = _clipped(step.start, step.end, window)
            parts[step.part] += seconds
            in_steps += seconds
        if run.started is not None:
            parts["run_overhead"] += max(0.0, _clipped(run.started, run.ended, window) - in_steps)
    return Split(end - start, parts)


def run_summary(run: RunLog) -> dict[str, Any]:
    """One run in a report: who asked for it, its outcome, and its steps with their parts and seconds."""
    return {
        "run_id": run.run_id,
        "requested_by": run.requested_by,
        "success": run.success,
        "queued_s": round((run.started or run.created) - run.created, 3),
        "seconds": round(run.ended - run.created, 3) if run.ended else None,
        "steps": [
            {
                "step": step.key,
                "part": step.part,
                "seconds": round(step.end - step.start, 3) if step.end else None,
                "assets": len(step.assets),
            }
            for step in steps(run)
        ],
    }


def read_runs(instance: Any, created_after: float) -> list[RunLog]:
    """The instance's runs created after `created_after` (unix seconds), oldest first, with their events."""
    import dagster as dg

    records = instance.get_run_records(
        filters=dg.RunsFilter(created_after=datetime.fromtimestamp(created_after, UTC)), ascending=True
    )
    return [read_run(instance, record) for record in records]


def read_run(instance: Any, record: Any) -> RunLog:
    """One run record and its log as a `RunLog`."""
    run = record.dagster_run
    events = []
    for entry in instance.all_logs(run.run_id):
        event = entry.dagster_event
        kind = event.event_type.name if event else None  # the enum's name: its values say PIPELINE_* still
        if kind not in KINDS:
            continue
        asset, by_dbt = None, False
        if kind == MATERIALIZATION:
            asset = event.asset_key.to_user_string()
            by_dbt = DBT_NODE in event.step_materialization_data.materialization.metadata
        elif kind == CHECK:
            asset = event.asset_check_evaluation_data.asset_key.to_user_string()
        events.append(Event(entry.timestamp, kind, event.step_key, asset, by_dbt))
    tags = run.tags
    requested_by = tags.get("dagster/sensor_name") or tags.get("dagster/schedule_name") or run.job_name
    return RunLog(run.run_id, record.create_timestamp.timestamp(), tuple(events), requested_by)
