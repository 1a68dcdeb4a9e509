"""`warehouse show` and `warehouse sql`: what the last run published, read as a BI tool reads it.

Both read the BI artifact (BI_SERVING_PATH: the masked `bi` tables only) through `serving.bi_artifact.read_only_bi`,
never the serving copy with `marts` and `activation`: SQL typed here reaches no other file, database or setting,
and only a single query (SELECT, EXPLAIN) runs, so a COPY cannot write even into the snapshot folder the views
read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer
from rich.table import Table
from rich.text import Text

from cli.console import console, settings_of, summary_table
from core.settings import Settings

SAMPLE_QUERY = "select rfm_segment, count(*) from bi.customer_profiles group by 1 order by 2 desc"
HASH = re.compile("[0-9a-f]{64}")
READ_STATEMENTS = frozenset({"SELECT", "EXPLAIN"})
"""The statement types `warehouse sql` runs (DuckDB's StatementType names): reads only."""


@dataclass(frozen=True)
class Published:
    """What the BI artifact holds, for `warehouse show`."""

    table_rows: list[tuple[str, int]]
    segment_sizes: list[tuple[str, int]]
    sample_profile: list[tuple[str, str]]


def describe_bi(bi_path: Path) -> Published:
    """Rows per `bi` table, segment sizes and the most complete profile, its hashes shortened for the screen.
    Raises FileNotFoundError without the artifact."""
    from serving.bi_artifact import read_only_bi

    with read_only_bi(bi_path) as connection:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT view_name FROM duckdb_views() WHERE schema_name = 'bi' AND NOT internal ORDER BY 1"
            ).fetchall()
        ]
        rows = [(t, connection.execute(f'SELECT count(*) FROM bi."{t}"').fetchone()[0]) for t in tables]
        segments: list[tuple[str, int]] = []
        if "customer_segments" in tables:
            segments = connection.execute(
                "SELECT segment_name, count(*) FROM bi.customer_segments GROUP BY 1 ORDER BY 2 DESC, 1"
            ).fetchall()
        profile: list[tuple[str, str]] = []
        if "customer_profiles" in tables:
            cursor = connection.execute(
                "SELECT * FROM bi.customer_profiles ORDER BY orders_count DESC NULLS LAST, customer_id LIMIT 1"
            )
            row = cursor.fetchone()
            if row is not None:
                columns = [d[0] for d in cursor.description]
                profile = [(c, _shortened(v)) for c, v in zip(columns, row, strict=True)]
    return Published(table_rows=rows, segment_sizes=segments, sample_profile=profile)


def _shortened(value: object) -> str:
    """A `bi` hash (64 hex digits, macros/serving/masking.sql) as its first 12; other values as they are."""
    text = "" if value is None else str(value)
    return f"{text[:12]}…" if HASH.fullmatch(text) else text


def show(ctx: typer.Context) -> None:
    """What the last run published for BI tools: rows per `bi` table, segment sizes, a sample profile (masked)."""
    bi_path = settings_of(ctx).bi_serving_path
    try:
        published = describe_bi(bi_path)
    except FileNotFoundError:
        console.print(f"No BI artifact at {bi_path}: run `warehouse run` first.", style="red", markup=False)
        raise typer.Exit(code=1) from None
    console.print(summary_table(f"bi tables in {bi_path}", ["table", "rows"], published.table_rows))
    if published.segment_sizes:
        console.print(summary_table("Segments", ["segment", "customers"], published.segment_sizes))
    if published.sample_profile:
        console.print(
            summary_table("A sample profile (identifiers hashed)", ["column", "value"], published.sample_profile)
        )
    console.print("Next: [bold]make ui[/] for the asset graph, or query the masked bi tables read-only:")
    console.print(f'  warehouse sql "{SAMPLE_QUERY}"', markup=False, highlight=False, soft_wrap=True)  # copied whole
    print_connections(settings_of(ctx))


def connections(settings: Settings) -> list[tuple[str, str]]:
    """(who, how to connect) for BI tools: the BI artifact, and the PostgreSQL target when SERVING_URL is set
    (its reader roles' logins, never the publisher's password). docs/serving.md says more."""
    bi_path = settings.bi_serving_path.resolve()
    found = [
        ("DuckDB CLI", f"duckdb -readonly {bi_path}"),
        ("SQLAlchemy (Superset, Metabase, notebooks)", f"duckdb:///{bi_path}?access_mode=read_only"),
    ]
    if settings.serving_url:
        target = urlsplit(settings.serving_url)
        where = f"{target.hostname or 'localhost'}{f':{target.port}' if target.port else ''}{target.path}"
        found += [
            ("PostgreSQL, a login in bi_reader", f"postgresql+psycopg://<login>@{where}  (schema bi)"),
            ("PostgreSQL, a login in activation_reader", f"postgresql://<login>@{where}  (schema activation)"),
        ]
    return found


def print_connections(settings: Settings) -> None:
    """One line each, never wrapped: they are copied into a BI tool."""
    console.print("BI tools connect to the masked bi tables (docs/serving.md):")
    for who, how in connections(settings):
        console.print(f"  {who}: {how}", markup=False, highlight=False, soft_wrap=True)


def sql(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help='One query, e.g. "select * from bi.customer_profiles limit 5".')],
    limit: Annotated[int, typer.Option(help="Rows to print at most.", min=1)] = 50,
) -> None:
    """Query the masked `bi` tables read-only, as a BI tool sees them (no DuckDB CLI needed).

    Reads the BI artifact, not the serving copy: no other file or database is reachable, only one SELECT or
    EXPLAIN runs."""
    import duckdb

    from serving.bi_artifact import read_only_bi

    bi_path = settings_of(ctx).bi_serving_path
    try:
        with read_only_bi(bi_path) as connection:
            statements = connection.extract_statements(query)
            kinds = {statement.type.name for statement in statements}
            if len(statements) != 1 or not kinds <= READ_STATEMENTS:
                console.print("Only one SELECT (or EXPLAIN) query runs here.", style="red", markup=False)
                raise typer.Exit(code=1)
            cursor = connection.execute(query)
            columns = [d[0] for d in cursor.description or []]
            rows = cursor.fetchmany(limit + 1)
    except FileNotFoundError:
        console.print(f"No BI artifact at {bi_path}: run `warehouse run` first.", style="red", markup=False)
        raise typer.Exit(code=1) from None
    except duckdb.Error as error:
        console.print(f"Query failed: {error}", style="red", markup=False, highlight=False)
        raise typer.Exit(code=1) from error
    table = Table(show_edge=False)
    for column in columns:
        table.add_column(column)
    for row in rows[:limit]:
        table.add_row(*(Text("" if v is None else str(v)) for v in row))  # values are text, not markup
    console.print(table)
    more = " (more not shown; raise --limit)" if len(rows) > limit else ""
    console.print(f"{min(len(rows), limit):,} rows from {bi_path}{more}", markup=False, highlight=False)
