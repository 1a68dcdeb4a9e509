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

from ingestion.settings import get_settings

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
        int, typer.Option(help="Write the K-th incremental batch on top of an earlier generation (0: base).")
    ] = 0,
    as_of: Annotated[
        datetime | None,
        typer.Option(help="End of the generated window (UTC). Default: now, to the minute."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Landing directory. Default: $LANDING_DIR.")] = None,
) -> None:
    """Write realistic, dirty landing files (HubSpot, Shopify, Segment shapes) plus ground truth in _truth/."""
    from demo_data.generator import GeneratorConfig, generate as run_generator

    out_dir = out or get_settings().landing_dir
    config = GeneratorConfig(customers=customers, days=days, seed=seed, increment=increment, as_of=as_of)
    result = run_generator(config, out_dir, console=console)
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


def main() -> None:  # pragma: no cover - console entry point
    app()
