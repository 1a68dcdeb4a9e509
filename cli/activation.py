"""`warehouse sync`: consented profiles and segments to the email platform, or to files with `--export`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.console import console, settings_of, summary_table

if TYPE_CHECKING:
    from activation.result import SyncResult


def sync(
    ctx: typer.Context,
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
            exports = export_segments(export, settings_of(ctx))
        except (FileNotFoundError, LookupError, ValueError) as error:
            console.print(f"[red]warehouse sync --export: {error}[/red]")
            raise typer.Exit(code=2) from error
        console.print(
            summary_table(f"Segments exported to {export}", ["segment", "rows"], [(e.segment, e.rows) for e in exports])
        )
        return
    try:
        result = run_sync(destination, mode, settings=settings_of(ctx), dry_run=dry_run)
    except (FileNotFoundError, LookupError, ValueError) as error:
        console.print(f"[red]warehouse sync: {error}[/red]")
        raise typer.Exit(code=2) from error
    for kind, examples in result.examples.items():
        console.print(f"[dim]e.g. {kind}:[/] {', '.join(examples)}")
    for who, reason in result.failures:
        console.print(f"[yellow]failed[/]: {who}: {reason}")
    _print_report(result)
    if dry_run:
        console.print("Dry run: nothing was sent and the sync state is unchanged.")
    if result.aborted:
        console.print(f"[red]The sync stopped early[/]: {result.aborted}\nWhat was not sent is sent by the next run.")
        raise typer.Exit(code=1)
    if result.failed:
        console.print("[yellow]Rejected members are recorded in the sync state and retried by the next run.[/]")


def _print_report(result: SyncResult) -> None:
    """Members changed, who was left out and why, tags changed: counts only, never an email."""
    from activation.exclusions import REASONS

    verb = "would be " if result.dry_run else ""
    members = [
        (f"{verb}created", result.added),
        (f"{verb}updated", result.updated),
        (f"{verb}archived", result.archived),
        (f"{verb}deleted (erased)", result.deleted),
        ("failed", result.failed),
        ("unchanged", result.unchanged),
    ] + ([("skipped-absent (update-only)", result.skipped_absent)] if result.mode == "update-only" else [])
    console.print(summary_table(f"Sync to {result.destination} ({result.mode})", ["members", "count"], members))
    left_out = sum(result.excluded.values())
    console.print(f"Left out: {left_out:,} of {result.people:,} profiles; {result.audience:,} in the audience.")
    if result.excluded:
        rows = [(reason, count) for reason, count in result.excluded.items()]
        console.print(summary_table("Left out, by reason", ["reason", "people"], rows))
        for reason in result.excluded:
            console.print(f"[dim]  {reason}: {REASONS.get(reason, reason)}[/]")
    tags = sorted(set(result.tags_added) | set(result.tags_removed))
    if tags:
        rows = [(tag, result.tags_added.get(tag, 0), result.tags_removed.get(tag, 0)) for tag in tags]
        console.print(summary_table(f"Tags {verb}changed", ["tag", "added", "removed"], rows))
    else:
        console.print(f"Tags: none {verb}changed.")
