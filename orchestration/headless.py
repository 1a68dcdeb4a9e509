"""`warehouse run` without a UI: the same Definitions, executed in this process against a local instance.

There is one orchestration path. This module does not know the steps of the pipeline; it executes a job of
`orchestration.definitions:defs` (by default `daily_full_build`, every asset and check), reports progress from
the instance's event log while the run goes, and sums the run up from the events.

The instance lives in the settings' DAGSTER_HOME (default `<data dir>/dagster_home`, beside the warehouse), so
`warehouse ui` shows the runs `warehouse run` made. The run reads the settings it is given: their paths are
the run's `WarehouseResource` configuration.

A run records its process in its tags and first fails the runs whose process is gone (`orchestration.dead_runs`),
so a killed run never keeps the warehouse pool. While a step waits for the pool, the run says who holds it and
stops on Ctrl-C or SIGTERM (`orchestration.pool_wait`).
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster._core.events import RunFailureReason

from core.settings import PROJECT_ROOT, Settings

DAGSTER_YAML = PROJECT_ROOT / "dagster.yaml"
WORKSPACE_YAML = PROJECT_ROOT / "workspace.yaml"

Progress = Callable[[int, int, str], None]
"""Called with (steps finished, steps in the run, what is running now)."""
Notice = Callable[[str], None]
"""Called with a line for the person waiting: a dead run failed, whom a step waits for."""


@dataclass
class RunReport:
    """What a run did, read back from its events."""

    run_id: str
    success: bool
    interrupted: bool = False
    """Stopped by SIGINT or SIGTERM: canceled (`canceled`), or failed if a step was running."""
    canceled: bool = False
    materialized: list[str] = field(default_factory=list)
    checks_passed: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)
    """Checks that failed with ERROR severity: the blocking ones stop what is downstream of their asset."""
    checks_warned: list[str] = field(default_factory=list)
    """Checks that failed with WARN severity: the run goes on."""
    check_reasons: dict[str, str] = field(default_factory=dict)
    """Why a check warned or failed, where it says ("no data yet", how many rows were unexpected)."""
    failures: list[str] = field(default_factory=list)
    """One line per failed step: the step and its error message."""
    mart_rows: dict[str, int] = field(default_factory=dict)
    serving_path: Path | None = None
    log_path: Path | None = None
    """dbt's and dlt's output of the run."""


def ensure_dagster_home(settings: Settings) -> Path:
    """The settings' Dagster home (DAGSTER_HOME, else `<data dir>/dagster_home`), with the project's
    dagster.yaml."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(DAGSTER_YAML, home / "dagster.yaml")
    return home


def run_graph(
    job_name: str = "daily_full_build",
    instance: dg.DagsterInstance | None = None,
    *,
    settings: Settings,
    progress: Progress | None = None,
    tags: dict[str, str] | None = None,
    notice: Notice | None = None,
) -> RunReport:
    """Execute `job_name` in process; never raises for a failed step (see `RunReport.success`).

    A SIGINT or SIGTERM while the graph executes ends the run (`RunReport.interrupted`); before that (the dbt
    parse) it raises KeyboardInterrupt if the signal's handler does.
    """
    from dagster._core.utils import make_new_run_id

    from orchestration.dead_runs import fail_dead_runs, owner_tags
    from orchestration.pool_wait import waiting_politely
    from orchestration.resources import prepare_manifest

    prepare_manifest(settings, force=True)
    from orchestration.definitions import defs

    if instance is None:
        instance = dg.DagsterInstance.from_config(str(ensure_dagster_home(settings)))
    for dead in fail_dead_runs(instance):
        if notice:
            notice(dead.describe())
    job = defs.resolve_job_def(job_name)
    run_id = make_new_run_id()
    stop = threading.Event()
    watcher = threading.Thread(
        target=_watch, args=(instance, run_id, len(job.graph.node_defs), progress, stop), daemon=True
    )
    if progress:
        watcher.start()
    log_path = Path(instance.root_directory or settings.data_dir) / "logs" / f"run-{run_id[:8]}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # dbt's and dlt's log lines go to stdout (the UI keeps them per step); here, into a file.
        with log_path.open("w") as log_file, contextlib.redirect_stdout(log_file), waiting_politely(notice):
            result = job.execute_in_process(
                instance=instance,
                run_id=run_id,
                raise_on_error=False,
                tags={**(tags or {}), **owner_tags()},
                # The CLI shows progress and a summary; Dagster's own console logger would drown them.
                run_config={
                    "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
                    "resources": {"warehouse": {"config": warehouse_config(settings)}},
                },
            )
    except KeyboardInterrupt:  # outside Dagster's handling of interrupts: while it prepared the run
        _cancel(instance, run_id)
        raise
    finally:
        stop.set()
        if watcher.is_alive():
            watcher.join(timeout=5)
    report = _report(result, settings.serving_path)
    report.log_path = log_path
    return report


def warehouse_config(settings: Settings) -> dict[str, str]:
    """The run configuration of `WarehouseResource` that points a run at the settings' files."""
    return {
        "warehouse_path": str(settings.warehouse_path),
        "serving_path": str(settings.serving_path),
        "landing_dir": str(settings.landing_dir),
    }


def _cancel(instance: dg.DagsterInstance, run_id: str) -> None:
    """Record a run interrupted before Dagster could as canceled, and free whatever it claimed."""
    from orchestration.dead_runs import UNFINISHED

    run = instance.get_run_by_id(run_id)
    if run is not None and run.status in UNFINISHED:
        instance.report_run_canceled(run, message="Interrupted (SIGINT or SIGTERM) while the run was prepared.")
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)


def _watch(instance: dg.DagsterInstance, run_id: str, steps: int, progress: Progress, stop: threading.Event) -> None:
    """Poll the run's step events and report how far it got; ends when the run returns."""
    finished, running = 0, "starting"
    step_events = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
    step_events |= {dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.STEP_SKIPPED}
    cursor = None
    while not stop.wait(0.5):
        connection = instance.get_records_for_run(run_id, cursor=cursor, of_type=step_events)
        cursor = connection.cursor
        for record in connection.records:
            event = record.event_log_entry.dagster_event
            if event.event_type == dg.DagsterEventType.STEP_START:
                running = event.step_key
            else:
                finished += 1
        progress(finished, steps, running)


def _report(result: dg.ExecuteInProcessResult, serving: Path) -> RunReport:
    report = RunReport(run_id=result.run_id, success=result.success)
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            report.materialized.append(event.asset_key.to_user_string())
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            if evaluation.passed:
                report.checks_passed.append(name)
                continue
            warned = evaluation.severity == dg.AssetCheckSeverity.WARN
            (report.checks_warned if warned else report.checks_failed).append(name)
            if evaluation.description:
                report.check_reasons[name] = evaluation.description
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            report.failures.append(f"{event.step_key}: {_failure_message(event.step_failure_data)}")
        elif event.event_type == dg.DagsterEventType.RUN_CANCELED:
            report.interrupted = report.canceled = True
        elif (
            event.event_type == dg.DagsterEventType.RUN_FAILURE
            and getattr(event.event_specific_data, "failure_reason", None) == RunFailureReason.UNEXPECTED_TERMINATION
        ):
            report.interrupted = True  # what Dagster reports for a run it stopped in a step on SIGINT / SIGTERM
    if serving.exists():
        report.serving_path = serving
        report.mart_rows = mart_row_counts(serving)
    return report


def _failure_message(failure: Any) -> str:
    """The user's own failure description if there is one, else the innermost error's first line."""
    if failure.user_failure_data is not None and failure.user_failure_data.description:
        return failure.user_failure_data.description
    error = failure.error
    while error is not None and error.cause is not None:
        error = error.cause
    return error.message.strip().splitlines()[0] if error is not None else "unknown error"


def mart_row_counts(path: Path) -> dict[str, int]:
    """Rows per table of the `marts` schema of a DuckDB file (the serving copy or the warehouse)."""
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY table_name"
            ).fetchall()
        ]
        return {t: connection.execute(f'SELECT count(*) FROM marts."{t}"').fetchone()[0] for t in tables}


@dataclass
class Built:
    """What the serving copy holds, for `warehouse show`."""

    mart_rows: dict[str, int]
    segment_sizes: list[tuple[str, int]]
    sample_profile: list[tuple[str, str]]


def describe_serving(path: Path, settings: Settings) -> Built:
    """Row counts, segment sizes and one profile (PII masked) of a serving copy."""
    from orchestration.checks import mask, personal_columns

    with duckdb.connect(str(path), read_only=True) as connection:
        tables = {
            name
            for (name,) in connection.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'"
            ).fetchall()
        }
        segments: list[tuple[str, int]] = []
        if "customer_segments" in tables:
            segments = connection.execute(
                "SELECT segment_name, count(*) FROM marts.customer_segments GROUP BY 1 ORDER BY 2 DESC, 1"
            ).fetchall()
        profile: list[tuple[str, str]] = []
        if "customer_profiles" in tables:
            # The most complete profile with orders: a sample worth looking at.
            cursor = connection.execute(
                "SELECT * FROM marts.customer_profiles ORDER BY orders_count DESC NULLS LAST, customer_id LIMIT 1"
            )
            row = cursor.fetchone()
            if row is not None:
                columns = [d[0] for d in cursor.description]
                personal = personal_columns(settings)
                profile = [(c, str(mask(v) if c in personal else v)) for c, v in zip(columns, row, strict=True)]
    return Built(mart_rows=mart_row_counts(path), segment_sizes=segments, sample_profile=profile)
