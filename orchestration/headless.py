"""`warehouse run` without a UI: the same Definitions, executed in this process against a local instance.

There is one orchestration path. This module does not know the steps of the pipeline; it executes a job of
`orchestration.definitions:defs` (by default `daily_full_build`, every asset and check), reports progress while
the run goes (`orchestration.progress`: steps and materializations from the instance's event log, each dbt node
as dbt reports it on stdout), and sums the run up from the events: rows per table with the change since the table's
previous materialization (Dagster's metadata), rows per mart with the change since the serving copy before the
run.

The instance lives in the settings' DAGSTER_HOME (default `<data dir>/dagster_home`, beside the warehouse), so
`warehouse ui` shows the runs `warehouse run` made. The run reads the settings it is given: their paths are
the run's `WarehouseResource` configuration.

A run records its process in its tags and first fails the runs whose process is gone (`orchestration.dead_runs`),
so a killed run never keeps the warehouse pool. While a step waits for the pool, the run says who holds it and
stops on Ctrl-C or SIGTERM (`orchestration.pool_wait`). After a run, only the newest KEPT_RUNS dbt target dirs
and run logs are kept.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster._core.events import RunFailureReason

from core.settings import PROJECT_ROOT, Settings
from orchestration.progress import (
    ROW_COUNT,
    ROWS_LOADED,
    DbtProgressTee,
    Progress,
    int_value,
    watch_run,
)

DAGSTER_YAML = PROJECT_ROOT / "dagster.yaml"
WORKSPACE_YAML = PROJECT_ROOT / "workspace.yaml"


Notice = Callable[[str], None]
"""Called with a line for the person waiting: a dead run failed, whom a step waits for."""


@dataclass(frozen=True)
class TableRows:
    """Rows of one table after the run, the rows this run loaded into it, and its rows after the previous
    materialization (None: none recorded)."""

    table: str
    rows: int
    loaded: int | None = None
    previous: int | None = None

    @property
    def change(self) -> int | None:
        return None if self.previous is None else self.rows - self.previous


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
    previous_mart_rows: dict[str, int] | None = None
    """Rows per mart of the serving copy before the run; None: there was none."""
    tables: list[TableRows] = field(default_factory=list)
    """Every table this run materialized that says its rows, in the order they were materialized."""
    serving_path: Path | None = None
    log_path: Path | None = None
    """dbt's and dlt's output of the run."""


def ensure_dagster_home(settings: Settings) -> Path:
    """The settings' Dagster home (DAGSTER_HOME, else `<data dir>/dagster_home`), with the project's
    dagster.yaml: copied when missing, and again when the project's changed while the copy still starts with
    its first line (a copy without it is the user's own and is left alone)."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    copy, project = home / "dagster.yaml", DAGSTER_YAML.read_text()
    if not copy.exists():
        shutil.copyfile(DAGSTER_YAML, copy)
    else:
        mine = copy.read_text()
        if mine != project and mine.partition("\n")[0] == project.partition("\n")[0]:
            shutil.copyfile(DAGSTER_YAML, copy)
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
    from orchestration.resources import (
        DBT_PROJECT_DIR,
        KEPT_RUNS,
        RECENT_RUN_SECONDS,
        dbt_project,
        keep_newest,
        prepare_manifest,
    )

    prepare_manifest(settings)  # parses only when the project or its environment changed since the last parse
    from orchestration.definitions import defs

    if instance is None:
        instance = dg.DagsterInstance.from_config(str(ensure_dagster_home(settings)))
    for dead in fail_dead_runs(instance):
        if notice:
            notice(dead.describe())
    job = defs.resolve_job_def(job_name)
    previous_rows = latest_row_counts(instance, job.asset_layer.selected_asset_keys)
    previous_marts = mart_row_counts(settings.serving_path) if settings.serving_path.exists() else None
    run_id = make_new_run_id()
    stop = threading.Event()
    watcher = threading.Thread(
        target=watch_run, args=(instance, run_id, len(job.graph.node_defs), progress, stop), daemon=True
    )
    if progress:
        watcher.start()
    log_dir = Path(instance.root_directory or settings.data_dir) / "logs"
    log_path = log_dir / f"run-{run_id[:8]}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # dbt's and dlt's log lines go to stdout (the UI keeps them per step); here, into a file, and dbt's
        # result lines also to `progress`, node by node.
        with (
            log_path.open("w") as log_file,
            contextlib.redirect_stdout(DbtProgressTee(log_file, progress)),
            waiting_politely(notice),
        ):
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
        # Runs on other warehouses of this checkout share target/dagster/runs/: one may still use its dir.
        keep_newest(DBT_PROJECT_DIR / dbt_project.target_path / "runs", KEPT_RUNS, spared_seconds=RECENT_RUN_SECONDS)
        keep_newest(log_dir, KEPT_RUNS, "run-*.log", spared_seconds=RECENT_RUN_SECONDS)
    report = _report(result.all_events, result.run_id, result.success, settings.serving_path, previous_rows)
    report.previous_mart_rows = previous_marts
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


def latest_row_counts(instance: dg.DagsterInstance, keys: Iterable[dg.AssetKey]) -> dict[str, int]:
    """Rows of each asset's table at its latest materialization, where its metadata says (any run's)."""
    counts = {}
    for key, entry in instance.get_latest_materialization_events(keys).items():
        materialization = entry.asset_materialization if entry is not None else None
        rows = int_value(materialization.metadata.get(ROW_COUNT)) if materialization is not None else None
        if rows is not None:
            counts[key.to_user_string()] = rows
    return counts


def _report(
    events: Iterable[Any], run_id: str, success: bool, serving: Path, previous_rows: Mapping[str, int]
) -> RunReport:
    report = RunReport(run_id=run_id, success=success)
    for event in events:
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            name = event.asset_key.to_user_string()
            report.materialized.append(name)
            metadata = event.materialization.metadata
            rows = int_value(metadata.get(ROW_COUNT))
            if rows is not None:
                loaded = int_value(metadata.get(ROWS_LOADED))
                report.tables.append(TableRows(name, rows, loaded, previous_rows.get(name)))
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
