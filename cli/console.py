"""What every `warehouse` command shares: the console, the closing summary table, and the settings.

The settings are read once per invocation, by the `warehouse` group before its command starts (`cli.main`), and
reach each command through its click context.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from core.settings import Settings

console = Console()


def summary_table(title: str, columns: list[str], rows: list[tuple]) -> Table:
    """The closing summary every command prints: one small table, right-aligned numbers."""
    table = Table(title=title, title_justify="left", show_edge=False)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    return table


def settings_of(ctx: typer.Context) -> Settings:
    """The settings the `warehouse` group read for this invocation."""
    settings = ctx.find_root().obj
    if not isinstance(settings, Settings):
        raise RuntimeError("the warehouse command reads the settings before its subcommands run")
    return settings
