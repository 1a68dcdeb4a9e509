"""`warehouse`: the one command for everything a person runs by hand.

Each subcommand is a thin shell over a library function, so that Dagster assets, tests and this command share
one implementation. The settings are read here, once, before a subcommand runs, and handed to the library
functions as arguments. Heavy imports (dlt, dagster, dbt) happen inside the commands: `warehouse --help` stays
fast. The commands of running the graph are here; the others live with their area: `cli.data` (generate,
collect, load), `cli.serving` (show, sql), `cli.metrics`, `cli.activation` (sync), `cli.privacy` (erase),
`cli.identity`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from cli import activation, data, identity, metrics, privacy, serving
from cli.console import console, settings_of, summary_table
from core.files import restrict_umask
from core.settings import get_settings

if TYPE_CHECKING:
    from orchestration.headless import RunReport
    from orchestration.progress import ProgressEvent

app = typer.Typer(
    help="A dbt-centred ELT warehouse for personalized email marketing (dlt + dbt + Dagster on DuckDB).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Generate demo data, load it, build the marts, serve them: see each command's --help."""
    restrict_umask()  # personal data (warehouse, serving copy, landing files, logs) 0600, dbt/dlt children too
    ctx.obj = get_settings()


def run(
    ctx: typer.Context,
    job: Annotated[str, typer.Option(help="Job of the Definitions: daily_full_build or full_refresh.")] = (
        "daily_full_build"
    ),
) -> None:
    """Materialize the Dagster asset graph in this process: load, build, check, publish the serving copy.

    Says what it does as it goes: each step, each raw table loaded, each dbt model as dbt finishes it (a
    progress bar on a terminal, plain lines otherwise), then rows per raw table and per mart with the change
    since the previous run. Runs whose process died are marked failed first, so they never keep the warehouse.
    A step waiting for the warehouse says which run holds it. Ctrl-C or SIGTERM stops the run (marked canceled,
    or failed if a step was running; exit code 130), and dbt never outlives this process.
    """
    import signal
    import sys

    from orchestration.headless import run_graph

    # Ctrl-C and SIGTERM stop a run alike, also when a background shell started this with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with RunProgress(Console(file=sys.stdout)) as shown:  # bound now: the run sends dbt's stdout to its log file
        try:
            report = run_graph(job, settings=settings_of(ctx), progress=shown.event, notice=shown.line)
        except KeyboardInterrupt:
            shown.stop()
            console.print("[red]Interrupted[/] before any step ran: nothing was loaded or built.")
            raise typer.Exit(code=130) from None
    if report.interrupted:
        how = "canceled" if report.canceled else "failed in the step it was running"
        console.print(
            f"[red]Interrupted[/]: run {report.run_id[:8]} {how}; the serving copy keeps the last good marts. "
            f"Logs: {report.log_path}"
        )
        raise typer.Exit(code=130)
    console.print(
        summary_table(
            f"Run {report.run_id[:8]} ({job})",
            ["", "count"],
            [
                ("assets materialized", len(report.materialized)),
                ("checks passed", len(report.checks_passed)),
                ("checks warned", len(report.checks_warned)),
                ("checks failed", len(report.checks_failed)),
            ],
        )
    )
    raw = [(t.table, t.loaded or 0, t.rows, signed(t.change)) for t in report.tables if t.table.startswith("raw_")]
    if raw:
        console.print(summary_table("Raw tables", ["table", "loaded", "rows", "change"], raw))
    if report.mart_rows:
        console.print(summary_table("Marts (serving copy)", ["mart", "rows", "change"], mart_changes(report)))
    verdicts = (("[yellow]check warned[/]", report.checks_warned), ("[red]check failed[/]", report.checks_failed))
    for label, checks in verdicts:
        for check in checks:
            reason = report.check_reasons.get(check)
            console.print(f"{label}: {check}" + (f" ({reason})" if reason else ""), highlight=False)
    if not report.success:
        for failure in report.failures:
            console.print(f"[red]failed[/]: {failure}")
        console.print(
            f"[red]The run failed: the serving copy keeps the last good marts.[/] Logs: {report.log_path}; "
            "details per step: warehouse ui"
        )
        raise typer.Exit(code=1)
    serving.print_connections(settings_of(ctx))
    console.print(f"dbt and dlt output: {report.log_path}")


def signed(change: int | None) -> str:
    """A change in rows as the summaries print it: +12, -3, 0; empty when there was nothing to compare with."""
    return "" if change is None else f"{change:+,}" if change else "0"


def mart_changes(report: RunReport) -> list[tuple[str, int, str]]:
    """(mart, rows, change since the serving copy before the run) per mart; `new` for a mart it did not hold."""
    before = report.previous_mart_rows
    rows = []
    for mart, count in sorted(report.mart_rows.items()):
        change = "" if before is None else signed(count - before[mart]) if mart in before else "new"
        rows.append((mart, count, change))
    return rows


class RunProgress:
    """What `warehouse run` shows while the run goes, from the run's `ProgressEvent`s.

    On a terminal: a progress bar over the steps (and over dbt's nodes while dbt runs) with a line above it for
    each raw table loaded, each dbt model, seed or snapshot built and each dbt test that did not pass. Elsewhere
    (a log, CI, a pipe): the same lines, and each step's start and end, as plain text the moment they happen,
    each with the seconds since the run started."""

    def __init__(self, out: Console) -> None:
        import time

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._out, self._started, self._clock = out, time.monotonic(), time.monotonic
        self._bar = None
        if out.is_terminal:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            self._bar = Progress(*columns, console=out)
            self._task = self._bar.add_task("preparing dbt manifest", total=None)
        else:
            self.line("preparing dbt manifest")
        self._built: set[str] = set()
        self._steps = (0, 0)

    def __enter__(self) -> RunProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()

    def line(self, text: str) -> None:
        """A line for the person watching: above the bar on a terminal, else a timestamped plain line."""
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        else:
            stamp = f"[{self._clock() - self._started:7.1f}s]"
            self._out.print(stamp, text, markup=False, highlight=False, soft_wrap=True)
            self._out.file.flush()

    def event(self, event: ProgressEvent) -> None:
        text = self.describe(event)
        if text is not None:
            self.line(text)
        if self._bar is None:
            return
        if event.kind == "step":
            self._steps = (event.done, event.total)
            description = event.name if event.status == "started" else None
            self._bar.update(self._task, completed=event.done, total=event.total, description=description)
        elif event.kind == "dbt":
            described = f"dbt {event.name}" if event.status == "START" else None
            self._bar.update(self._task, completed=event.done, total=event.total, description=described)
            if event.done == event.total:  # dbt finished its last node: back to the steps
                self._bar.update(self._task, completed=self._steps[0], total=self._steps[1])

    def describe(self, event: ProgressEvent) -> str | None:
        """The line an event gets, or None when the bar (or nothing) shows it."""
        if event.kind == "step":
            if event.status == "started":
                return None if self._bar is not None else f"{event.name} started"
            if event.status == "succeeded" and self._bar is not None:
                return None
            return f"{event.name} {event.status} ({event.done}/{event.total} steps)"
        if event.kind == "dbt":
            if event.status in ("START", "NO-OP") or (event.status == "PASS" and event.node != "seed"):
                return None  # passing tests: the bar counts them
            self._built.add(event.name.replace(".", "/"))
            took = "" if event.seconds is None else f" in {event.seconds:.1f}s"
            return f"dbt {event.done}/{event.total} {event.status} {event.node or 'node'} {event.name}{took}"
        if event.name in self._built or event.rows is None:  # a dbt model's, said when dbt finished it
            return None
        loaded = "" if event.loaded is None else f", {event.loaded:,} loaded"
        return f"{event.name}: {event.rows:,} row{'' if event.rows == 1 else 's'}{loaded}"


def ui(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Port of the Dagster UI on 127.0.0.1.")] = 3000,
) -> None:
    """Open the asset graph in the Dagster UI (dagster dev: webserver and daemon, this workspace).

    This process becomes `dagster dev`, so Ctrl-C and `kill` reach it directly. dagster dev stops on SIGTERM by
    mapping it to its SIGINT handler, which is not installed when it starts with SIGINT ignored, as a background
    shell (`nohup`, `&`, CI) starts it: SIGINT is restored first, or nothing but SIGKILL would stop it.
    """
    import os
    import signal
    import sys

    import dagster as dg

    from orchestration.dead_runs import fail_dead_runs
    from orchestration.headless import WORKSPACE_YAML, ensure_dagster_home

    home = ensure_dagster_home(settings_of(ctx))
    # runs killed earlier would keep the warehouse pool from the UI's
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for dead in fail_dead_runs(instance):
            console.print(dead.describe(), markup=False, highlight=False)
    console.print(f"Dagster UI on http://127.0.0.1:{port} (instance in {home}); Ctrl-C stops it.")
    sys.stdout.flush()
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port), "-w", str(WORKSPACE_YAML)]
    os.chdir(WORKSPACE_YAML.parent)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execve(dagster, command, {**os.environ, "DAGSTER_HOME": str(home)})


# In the order `warehouse --help` lists them.
app.command()(data.generate)
app.command()(run)
app.command()(serving.show)
app.command()(ui)
app.command()(data.collect)
app.command()(data.load)
app.command()(activation.sync)
app.command()(serving.sql)
app.command()(metrics.metrics)
app.command()(privacy.erase)
app.command()(identity.explain)
app.add_typer(identity.identity_app, name="identity")


def main() -> None:  # pragma: no cover - console entry point
    app()
