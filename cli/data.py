"""`warehouse generate`, `collect` and `load`: landing files written, received, and loaded into raw tables."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.console import console, settings_of, summary_table
from ingestion.systems import SYSTEMS


def generate(
    ctx: typer.Context,
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

    out_dir = out or settings_of(ctx).landing_dir
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


def collect(
    ctx: typer.Context,
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

    settings = settings_of(ctx)
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
        if server.mailchimp is not None:
            console.print(f"Mailchimp webhooks on {server.url}/mailchimp/webhook?secret=$MAILCHIMP_WEBHOOK_SECRET")

    landing_dir = out or settings.landing_dir
    try:
        stats = serve(
            host,
            port,
            landing_dir,
            settings.collector_write_key,
            limits=limits,
            announce=announce,
            mailchimp_secret=settings.mailchimp_webhook_secret,
        )
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


def load(
    ctx: typer.Context,
    system: Annotated[
        str | None, typer.Option(help=f"Load only this system: {', '.join(SYSTEMS)}. Default: all of them.")
    ] = None,
) -> None:
    from rich.markup import escape
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from core.warehouse import WarehouseUnavailable
    from ingestion.pipelines import load as run_load

    if system is not None and system not in SYSTEMS:
        raise typer.BadParameter(f"expected one of {', '.join(SYSTEMS)}", param_hint="--system")
    systems = (system,) if system else SYSTEMS
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True) as bar:
        task = bar.add_task("loading", total=len(systems))

        def advance(name: str) -> None:
            bar.update(task, description=f"loading {name}", advance=0 if name == systems[0] else 1)

        try:
            summary = run_load(systems, settings_of(ctx), on_system=advance)
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


# the help (a docstring, for typer) names each system's raw schema from the one list of systems
load.__doc__ = f"Load new landing files into {' / '.join(f'raw_{s}' for s in SYSTEMS)}; bad lines are quarantined."
