"""`warehouse`: the one command for everything a person runs by hand.

Each subcommand is a thin shell over a library function, so that Dagster assets, tests and this command share
one implementation. Heavy imports (dlt, dagster, dbt) happen inside the commands: `warehouse --help` stays fast.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.settings import get_settings

app = typer.Typer(
    help="A dbt-centred ELT warehouse for personalized email marketing (dlt + dbt + Dagster on DuckDB).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console()


@app.callback()
def _root() -> None:
    """Generate demo data, load it, build the marts, serve them: see each command's --help."""


def summary_table(title: str, columns: list[str], rows: list[tuple]) -> Table:
    """The closing summary every command prints: one small table, right-aligned numbers."""
    table = Table(title=title, title_justify="left", show_edge=False)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    return table


@app.command()
def generate(
    customers: Annotated[int, typer.Option(help="People in the base population.")] = 2_000,
    days: Annotated[int, typer.Option(help="Days of history (orders, events) before --as-of.")] = 60,
    seed: Annotated[int, typer.Option(help="Same seed and --as-of: byte-identical files.")] = 42,
    increment: Annotated[
        int,
        typer.Option(
            help="Write the K-th incremental batch on top of an earlier generation (0: base): new people, "
            "changed records, and the orders and events since the previous batch's end."
        ),
    ] = 0,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            help="End of the generated window (UTC); nothing is written after it. Default: now (the base's "
            "to the minute), so each increment covers the time since the previous batch, however short."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Landing directory. Default: $LANDING_DIR.")] = None,
    rate: Annotated[
        list[str] | None,
        typer.Option(help="Override a dirt rate, e.g. --rate invalid_email=0.05 (repeatable; see DirtRates)"),
    ] = None,
    gzip: Annotated[
        bool, typer.Option("--gzip", help="Write gzip-compressed parts (*.jsonl.gz), a ninth of the disk.")
    ] = False,
) -> None:
    """Write realistic, dirty landing files (HubSpot, Shopify, Segment shapes) and ground truth in _truth/.

    Without --as-of every batch ends now: type the base, then --increment 1, 2... whenever you like.

    No timestamp is after its batch's end; the same seed and --as-of values give byte-identical files.
    """
    from demo_data.dirt import DirtRates, parse_rate_options
    from demo_data.generator import GeneratorConfig
    from demo_data.generator import generate as run_generator

    out_dir = out or get_settings().landing_dir
    try:
        rates = DirtRates().with_overrides(parse_rate_options(rate)) if rate else None
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--rate") from error
    config = GeneratorConfig(
        customers=customers, days=days, seed=seed, increment=increment, as_of=as_of, rates=rates, gzip=gzip
    )
    try:
        result = run_generator(config, out_dir, console=console)
    except ValueError as error:  # bad parameters or no base generation to increment: say so, no traceback
        console.print(f"[red]warehouse generate: {error}[/red]")
        raise typer.Exit(code=2) from error
    console.print(
        summary_table(
            f"Generated batch {increment} in {out_dir}",
            ["files", "rows"],
            [(name, rows) for name, rows in sorted(result.rows.items())],
        )
    )
    console.print(
        f"{sum(result.rows.values()):,} rows in {result.seconds:.1f}s "
        f"({result.rows_per_second:,.0f} rows/s); ground truth in {out_dir / '_truth'}"
    )


@app.command()
def run(
    job: Annotated[str, typer.Option(help="Job of the Definitions: daily_full_build or full_refresh.")] = (
        "daily_full_build"
    ),
) -> None:
    """Materialize the Dagster asset graph in this process: load, build, check, publish the serving copy.

    Runs whose process died are marked failed first, so they never keep the warehouse. A step waiting for the
    warehouse says which run holds it. Ctrl-C or SIGTERM stops the run (marked canceled, or failed if a step was
    running; exit code 130), and dbt never outlives this process.
    """
    import signal
    import sys

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from orchestration.headless import run_graph

    # Ctrl-C and SIGTERM stop a run alike, also when a background shell started this with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(file=sys.stdout),  # bound now: the run sends dbt's stdout to its log file
    ) as progress:
        task = progress.add_task("preparing dbt manifest", total=None)

        def on_progress(done: int, total: int, running: str) -> None:
            progress.update(task, completed=done, total=total, description=running)

        def notice(message: str) -> None:
            progress.console.print(message, markup=False, highlight=False)

        try:
            report = run_graph(job, progress=on_progress, notice=notice)
        except KeyboardInterrupt:
            progress.stop()
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
    if report.mart_rows:
        console.print(
            summary_table("Marts (serving copy)", ["mart", "rows"], sorted(report.mart_rows.items()))
        )
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
    console.print(f"Serving copy for BI tools: {report.serving_path} (see docs/serving.md)")
    console.print(f"dbt and dlt output: {report.log_path}")


@app.command()
def show() -> None:
    """What the last run built: rows per mart, segment sizes, a sample profile (masked), what to try next."""
    from orchestration.headless import describe_serving

    serving = get_settings().serving_path
    if not serving.exists():
        console.print(f"[red]No serving copy at {serving}[/]: run `warehouse run` first.")
        raise typer.Exit(code=1)
    built = describe_serving(serving)
    console.print(summary_table(f"Marts in {serving}", ["mart", "rows"], sorted(built.mart_rows.items())))
    if built.segment_sizes:
        console.print(summary_table("Segments", ["segment", "customers"], built.segment_sizes))
    if built.sample_profile:
        console.print(
            summary_table("A sample profile (email masked)", ["column", "value"], built.sample_profile)
        )
    console.print(
        "Next: [bold]make ui[/] for the asset graph, or query the marts read-only:\n"
        '  warehouse sql "select rfm_segment, count(*) from marts.customer_profiles group by 1 order by 2 desc"'
    )


@app.command()
def ui(
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

    home = ensure_dagster_home()
    with dg.DagsterInstance.get() as instance:  # runs killed earlier would keep the warehouse pool from the UI's
        for dead in fail_dead_runs(instance):
            console.print(dead.describe(), markup=False, highlight=False)
    console.print(f"Dagster UI on http://127.0.0.1:{port} (instance in {home}); Ctrl-C stops it.")
    sys.stdout.flush()
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port), "-w", str(WORKSPACE_YAML)]
    os.chdir(WORKSPACE_YAML.parent)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execv(dagster, command)


@app.command()
def collect(
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0: all of them).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).", min=0, max=65535)] = 8088,
    max_batch_kb: Annotated[int, typer.Option(help="Largest request body (Segment: 500).", min=1)] = 500,
    max_message_kb: Annotated[int, typer.Option(help="Largest message accepted (Segment: 32).", min=1)] = 32,
    rotate_mb: Annotated[int, typer.Option(help="Start a new events file past this size.", min=1)] = 64,
    rotate_seconds: Annotated[int, typer.Option(help="Start a new events file past this age.", min=1)] = 300,
    out: Annotated[Path | None, typer.Option(help="Landing directory. Default: $LANDING_DIR.")] = None,
) -> None:
    """Serve the Segment HTTP Tracking API; accepted events land in <landing>/analytics/events/.

    Clients authenticate with the write key in $COLLECTOR_WRITE_KEY, e.g. segment-analytics-python with
    host="http://127.0.0.1:8088".
    """
    from collector import CollectorLimits, CollectorServer, serve

    settings = get_settings()
    if not settings.collector_write_key:
        console.print("[red]No write key:[/] set COLLECTOR_WRITE_KEY to the key your Segment clients send.")
        raise typer.Exit(code=2)
    limits = CollectorLimits(
        max_request_bytes=max_batch_kb * 1024,
        max_message_bytes=max_message_kb * 1024,
        max_file_bytes=rotate_mb * 1024 * 1024,
        max_file_age_seconds=rotate_seconds,
    )

    def announce(server: CollectorServer) -> None:
        console.print(f"Collecting on {server.url}/v1/batch (track, page, identify, ...); Ctrl-C to stop")
        console.print(f"Writing events to {server.events_dir}")

    landing_dir = out or settings.landing_dir
    try:
        stats = serve(host, port, landing_dir, settings.collector_write_key, limits=limits, announce=announce)
    except OSError as exc:
        console.print(f"[red]Cannot listen on {host}:{port} or write to {landing_dir}:[/] {exc}")
        raise typer.Exit(code=1) from exc
    console.print(
        summary_table(
            "Collector summary",
            ["", "count"],
            [
                ("messages written", stats.messages_written),
                ("requests accepted", stats.requests_accepted),
                ("requests rejected", stats.requests_rejected),
            ]
            + [(f"  HTTP {status}", n) for status, n in sorted(stats.statuses.items()) if status != 200],
        )
    )


@app.command()
def load(
    system: Annotated[
        str | None, typer.Option(help="Load only this system: crm, shop or analytics. Default: all three.")
    ] = None,
) -> None:
    """Load new landing files into raw_crm / raw_shop / raw_analytics; bad lines are quarantined."""
    from rich.markup import escape
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from core.warehouse import WarehouseUnavailable
    from ingestion.pipelines import SYSTEMS
    from ingestion.pipelines import load as run_load

    if system is not None and system not in SYSTEMS:
        raise typer.BadParameter(f"expected one of {', '.join(SYSTEMS)}", param_hint="--system")
    systems = (system,) if system else SYSTEMS
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True) as bar:
        task = bar.add_task("loading", total=len(systems))

        def advance(name: str) -> None:
            bar.update(task, description=f"loading {name}", advance=0 if name == systems[0] else 1)

        try:
            summary = run_load(systems, on_system=advance)
        except WarehouseUnavailable as error:  # busy, or not writable: a message, not a traceback
            bar.stop()
            console.print(f"[red]Not loaded:[/] {escape(str(error))}", soft_wrap=True)
            raise typer.Exit(code=1) from error
    console.print(
        summary_table(
            "Loaded (rows this run; lines quarantined or superseded by a newer version this run; rows in table)",
            ["table", "loaded", "quarantined", "superseded", "total"],
            [(f"raw_{t.system}.{t.table}", t.loaded, t.quarantined, t.superseded, t.total) for t in summary.tables],
        )
    )
    console.print(
        f"{summary.rows_loaded:,} rows loaded, {summary.rows_quarantined:,} lines quarantined; "
        f"warehouse: {summary.warehouse_path}"
    )
    for t in (t for t in summary.tables if t.conflicts):  # ids reused for other content: quarantined, not dropped
        console.print(
            f"[yellow]Conflicts:[/] raw_{t.system}.{t.table}: {t.conflicts:,} "
            f"{'delivery' if t.conflicts == 1 else 'deliveries'} re-used an id already delivered with different "
            f"content; quarantined in raw_{t.system}.quarantine, the first delivery kept",
            soft_wrap=True,
        )
    for warning in summary.warnings:  # files not read or held back, fields kept as JSON (also in the log)
        console.print(f"[yellow]Warning:[/] {escape(warning)}", soft_wrap=True)


@app.command()
def sync(
    destination: Annotated[str, typer.Option(help="Destination name (config: DESTINATIONS__<NAME>__*).")] = "esp",
    mode: Annotated[
        str, typer.Option(help="upsert (create + update), mirror (also untag and archive), update-only.")
    ] = "upsert",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; send nothing.")] = False,
    export: Annotated[
        Path | None, typer.Option(help="Instead of syncing, write <segment>.csv and .parquet into this directory.")
    ] = None,
) -> None:
    """Send consented profiles and segment tags to the email platform (only what changed since the last sync)."""
    from activation.sync import SYNC_MODES
    from activation.sync import sync as run_sync

    if mode not in SYNC_MODES:
        raise typer.BadParameter(f"expected one of {', '.join(SYNC_MODES)}", param_hint="--mode")
    if export is not None:
        from activation.export import export_segments

        try:
            exports = export_segments(export)
        except (FileNotFoundError, LookupError, ValueError) as error:
            console.print(f"[red]warehouse sync --export: {error}[/red]")
            raise typer.Exit(code=2) from error
        console.print(
            summary_table(f"Segments exported to {export}", ["segment", "rows"], [(e.segment, e.rows) for e in exports])
        )
        return
    try:
        result = run_sync(destination, mode, dry_run=dry_run)
    except (FileNotFoundError, LookupError, ValueError) as error:
        console.print(f"[red]warehouse sync: {error}[/red]")
        raise typer.Exit(code=2) from error
    for kind, examples in result.examples.items():
        console.print(f"[dim]e.g. {kind}:[/] {', '.join(examples)}")
    for who, reason in result.failures:
        console.print(f"[yellow]failed[/]: {who}: {reason}")
    verb = "would be " if dry_run else ""
    console.print(
        summary_table(
            f"Sync to {result.destination} ({result.mode})",
            ["members", "count"],
            [
                (f"{verb}added", result.added),
                (f"{verb}updated", result.updated),
                (f"{verb}removed", result.removed),
                ("failed", result.failed),
                ("invalid", result.invalid),
                ("skipped-no-consent", result.skipped_no_consent),
                ("skipped-erased", result.skipped_erased),
            ]
            + ([("skipped-absent", result.skipped_absent)] if result.mode == "update-only" else [])
            + [("unchanged", result.unchanged)],
        )
    )
    if dry_run:
        console.print("Dry run: nothing was sent and the sync state is unchanged.")
    if result.aborted:
        console.print(f"[red]The sync stopped early[/]: {result.aborted}\nWhat was not sent is sent by the next run.")
        raise typer.Exit(code=1)
    if result.failed:
        console.print("[yellow]Rejected members are recorded in the sync state and retried by the next run.[/]")


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="A SQL query, e.g. \"select * from marts.customer_profiles limit 5\".")],
    limit: Annotated[int, typer.Option(help="Rows to print at most.", min=1)] = 50,
) -> None:
    """Query the serving copy read-only, as a BI tool would (no DuckDB CLI needed)."""
    import duckdb

    serving = get_settings().serving_path
    if not serving.exists():
        console.print(f"[red]No serving copy at {serving}[/]: run `warehouse run` first.")
        raise typer.Exit(code=1)
    try:
        with duckdb.connect(str(serving), read_only=True) as con:
            cursor = con.execute(query)
            columns = [d[0] for d in cursor.description or []]
            rows = cursor.fetchmany(limit + 1)
    except duckdb.Error as exc:
        console.print(f"[red]Query failed:[/] {exc}")
        raise typer.Exit(code=1) from exc
    table = Table(show_edge=False)
    for column in columns:
        table.add_column(column)
    for row in rows[:limit]:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
    more = " (more not shown; raise --limit)" if len(rows) > limit else ""
    console.print(f"{min(len(rows), limit):,} rows from {serving}{more}")


@app.command()
def erase(
    email: Annotated[str | None, typer.Option(help="Erase the person with this email.")] = None,
    customer_id: Annotated[str | None, typer.Option(help="Erase this customer (cus_...) of the serving copy.")] = None,
) -> None:
    """Record an erasure request (GDPR art. 17 / CCPA delete); the next `warehouse run` removes the person.

    Only salted hashes are written to the erasure ledger: of the given identifier and of every other one the
    serving copy knows for the person (their records' ids, emails, phones). See docs/privacy.md.
    """
    from privacy.erasure import count_by_kind, resolve_subjects
    from privacy.ledger import ErasureLedger

    if (email is None) == (customer_id is None):
        console.print("[red]warehouse erase: give exactly one of --email or --customer-id[/red]")
        raise typer.Exit(code=2)
    kind, value = ("email", email) if email is not None else ("customer_id", customer_id)
    if not value.strip():
        console.print(f"[red]warehouse erase: the {kind} is empty[/red]")
        raise typer.Exit(code=2)
    settings = get_settings()
    subjects = resolve_subjects(settings.serving_path, kind, value)
    request = ErasureLedger(settings).record(subjects)
    console.print(
        summary_table(f"Erasure request {request.request_id} recorded", ["identifiers (hashed)", "count"],
                      list(count_by_kind(subjects).items()))
    )  # fmt: skip
    console.print("The next `warehouse run` removes this person from the warehouse, the serving copy and the ESP.")


identity_app = typer.Typer(
    help="The identity match model: train its parameters (docs/identity.md).", no_args_is_help=True
)
app.add_typer(identity_app, name="identity")

IDENTITY_TRAINING_MODELS = "+int_identity_pairs_compared +int_identity_pairs_sampled"
"""What training reads, with everything it is built from (staging included: a loaded warehouse suffices)."""


@identity_app.command("train")
def identity_train(
    training_data: Annotated[
        str | None, typer.Option(help="What the warehouse holds, recorded with the parameters (e.g. 'FEBRL2').")
    ] = None,
) -> None:
    """Re-estimate the match model's m and u on this warehouse's records and rewrite its seeds.

    Builds the comparison tables (blocked and random pairs) from the loaded records (`warehouse load` suffices),
    estimates u from random pairs and m by EM over the blocked pairs, without labels, and rewrites
    dbt_project/seeds/identity/identity_match_parameters.csv and identity_match_training.csv (a new version).
    The next `warehouse run` scores with them; commit the seeds to keep runs repeatable.
    """
    from cli import identity_training
    from cli.identity_training import match_weights, train, write_seeds
    from core.dbt_cli import DbtError, run_dbt

    settings = get_settings()
    try:
        run_dbt(
            ["build", "--select", IDENTITY_TRAINING_MODELS, "--indirect-selection", "cautious",
             "--vars", "{identity_training: true}"],
            settings,
        )
        parameters, sizes = train(settings.warehouse_path)
    except (DbtError, ValueError) as error:
        console.print(f"[red]warehouse identity train: {error}[/red]")
        raise typer.Exit(code=1) from error
    version = write_seeds(
        parameters, sizes, training_data or f"the warehouse {settings.warehouse_path}",
        seeds_dir=identity_training.SEEDS_DIR,
    )
    console.print(
        summary_table(
            f"Match parameters version {version}: prior {parameters.prior:.4g}, {parameters.iterations} EM iterations",
            ["comparison", "level", "m", "u", "weight (bits)"],
            [(c, level, f"{parameters.m[c][level]:.4g}", f"{parameters.u[c][level]:.4g}", f"{w:+.2f}")
             for c, level, w in match_weights(parameters)],
        )
    )
    console.print(f"Trained on {sizes['records']:,} records, {sizes['blocked_pairs']:,} blocked and "
                  f"{sizes['random_pairs']:,} random pairs; `warehouse run` scores with them.")


@app.command()
def explain(customer_id: Annotated[str, typer.Option(help="The customer (cus_...) to explain.")]) -> None:
    """Why records are one customer: its records, and every edge with its rule, probability and field weights."""
    from cli.identity_explain import explain as explain_customer

    settings = get_settings()
    if not settings.warehouse_path.exists():
        console.print(f"[red]No warehouse at {settings.warehouse_path}[/]: run `warehouse run` first.")
        raise typer.Exit(code=1)
    explanation = explain_customer(settings.warehouse_path, customer_id)
    if not explanation.records:
        console.print(f"[red]No customer {customer_id}[/] in {settings.warehouse_path}")
        raise typer.Exit(code=1)
    # Attributes down, records across, and one small table per edge: readable in an 80-column terminal or a
    # CI log, where a wide table would fold every column name.
    records = Table(title=f"Records of {customer_id}", title_justify="left", show_edge=False)
    records.add_column("")
    for record in explanation.records:
        records.add_column(str(record[0]), overflow="fold")
    for index, column in enumerate(explanation.record_columns[1:], start=1):
        cells = ("" if record[index] is None else str(record[index]) for record in explanation.records)
        records.add_row(column, *cells)
    console.print(records)
    console.print("Edges (weights in bits: + for a match, - against)" if explanation.edges else "No edges.")
    for edge in explanation.edges:
        values = dict(zip(explanation.edge_columns, edge, strict=True))
        title = (
            f"{values.pop('left_record')} - {values.pop('right_record')}: {values.pop('rule')}, "
            f"probability {values.pop('probability')}, weight {values.pop('weight')}"
        )
        table = Table(title=title, title_justify="left", show_edge=False, show_header=False)
        table.add_column("field")
        table.add_column("value", overflow="fold")
        for column, value in values.items():
            table.add_row(column, "" if value is None else str(value))
        console.print(table)
    if explanation.split_by_cap:
        console.print(f"[yellow]This customer's cluster was split: it exceeded the {explanation.split_by_cap} cap.[/]")


def main() -> None:  # pragma: no cover - console entry point
    app()
