"""`warehouse metrics`: the semantic layer's metrics (revenue, orders, AOV, LTV, ...) queried by name.

The metrics and the joins between marts are defined once, in dbt (dbt_project/models/semantic/, docs/metrics.md);
MetricFlow turns a request into SQL on the marts. This command runs MetricFlow's engine in this process on a
DuckDB connection of its own rather than through `mf` and dbt's adapter, which would open the file read-write:
the file (the serving copy by default, which no run locks) is attached read-only under the catalog name the marts
have in dbt's manifest, then the connection is locked down (no file or network access, no setting changed),
since `--where` is SQL that a person types.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from cli.console import console, settings_of
from core.settings import DBT_PROJECT_DIR, Settings

if TYPE_CHECKING:
    import duckdb
    from metricflow.data_table.mf_table import MetricFlowDataTable
    from metricflow.engine.metricflow_engine import MetricFlowEngine, MetricFlowQueryRequest

TARGET_DIR_NAME = "semantic_layer"
"""dbt's target folder for the parse that writes the semantic manifest, beside the warehouse (settings.data_dir)."""
NOT_PROJECT_SOURCES = frozenset({"target", "logs", "dbt_packages"})
"""Folders of the dbt project that hold dbt's output, not definitions: their changes never call for a parse."""


class Source(StrEnum):
    """Which DuckDB file the metrics are computed on."""

    serving = "serving"
    warehouse = "warehouse"


def semantic_manifest(settings: Settings, project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """The semantic_manifest.json of the dbt project as its files are now.

    dbt parses the project (its start alone takes seconds) only when a file of the project is newer than the
    manifest it wrote last time, in `settings.data_dir`/semantic_layer. Raises
    `core.dbt_cli.DbtError` when the project does not parse.
    """
    from core.dbt_cli import run_dbt

    target = settings.data_dir / TARGET_DIR_NAME
    manifest = target / "semantic_manifest.json"
    if not manifest.exists() or _newest_project_change(project_dir) > manifest.stat().st_mtime:
        run_dbt(["parse"], settings, project_dir=project_dir, target_path=target)
    return manifest


def _newest_project_change(project_dir: Path) -> float:
    """The latest modification time of the project's files and folders (a deleted file changes its folder's), but
    for dbt's output: the project folder's own time changes when dbt creates target/ or logs/ in it."""
    newest = 0.0
    for root, dirs, files in os.walk(project_dir):
        if Path(root) == project_dir:
            dirs[:] = [name for name in dirs if name not in NOT_PROJECT_SOURCES]
        for name in (*dirs, *files):
            newest = max(newest, (Path(root) / name).stat().st_mtime)
    return newest


@contextmanager
def read_only_marts(database_path: Path, catalog: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with `database_path` attached read-only as `catalog`, and nothing else reachable.

    After the attach, external access is disabled and the configuration locked: a query cannot read or write
    files (`read_text`, `COPY`), attach other databases or switch either back on. Raises `FileNotFoundError`
    if the file is missing.
    """
    import duckdb

    if not database_path.is_file():
        raise FileNotFoundError(f"no DuckDB file at {database_path}")
    connection = duckdb.connect(":memory:")
    try:
        path = str(database_path).replace("'", "''")
        name = catalog.replace('"', '""')
        connection.execute(f"ATTACH '{path}' AS \"{name}\" (READ_ONLY)")
        connection.execute(f'USE "{name}"')
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
        yield connection
    finally:
        connection.close()


class DuckDbSqlClient:
    """MetricFlow's SqlClient (metricflow.protocols.sql_client) over one DuckDB connection."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        from metricflow.protocols.sql_client import SqlEngine
        from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer

        self._connection = connection
        self.sql_engine_type = SqlEngine.DUCKDB
        self.sql_plan_renderer = DuckDbSqlPlanRenderer()

    def query(self, stmt: str, sql_bind_parameter_set: object = None) -> MetricFlowDataTable:
        from metricflow.data_table.mf_table import MetricFlowDataTable

        cursor = self._connection.execute(stmt, _parameters(sql_bind_parameter_set))
        columns = [description[0] for description in cursor.description or []]
        return MetricFlowDataTable.create_from_rows(column_names=columns, rows=cursor.fetchall())

    def execute(self, stmt: str, sql_bind_parameter_set: object = None) -> None:
        self._connection.execute(stmt, _parameters(sql_bind_parameter_set))

    def dry_run(self, stmt: str, sql_bind_parameter_set: object = None) -> None:
        self._connection.execute(f"EXPLAIN {stmt}", _parameters(sql_bind_parameter_set))

    def close(self) -> None:
        self._connection.close()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        raise ValueError("MetricFlow bind parameters are not supported")


def _parameters(sql_bind_parameter_set: object) -> None:
    """None, for DuckDB: MetricFlow binds parameters only for engines and calls this command never uses (as with
    dbt's adapters, which support none either); a request that has some fails instead of running unbound."""
    if getattr(sql_bind_parameter_set, "param_dict", None):
        raise ValueError("MetricFlow bind parameters are not supported")


def _relations(manifest: dict) -> list[dict[str, str]]:
    """The tables the semantic models and the time spine read (database, schema_name, alias)."""
    relations = [model["node_relation"] for model in manifest["semantic_models"]]
    return relations + [spine["node_relation"] for spine in manifest["project_configuration"].get("time_spines", [])]


def catalog_of(manifest: dict) -> str:
    """The one DuckDB catalog the semantic models and the time spine live in (the warehouse file's stem when dbt
    parsed). Raises `ValueError` if they span several."""
    catalogs = {relation["database"] for relation in _relations(manifest)}
    if len(catalogs) != 1:
        raise ValueError(f"the semantic models must live in one catalog, not {sorted(catalogs)}")
    return catalogs.pop()


class MissingTablesError(LookupError):
    """The file lacks tables the semantic models read (a serving copy without the marts, a warehouse not built)."""


def _check_tables(connection: duckdb.DuckDBPyConnection, manifest: dict, database_path: Path) -> None:
    present = set(connection.execute("select schema_name, table_name from duckdb_tables()").fetchall())
    present |= set(connection.execute("select schema_name, view_name from duckdb_views()").fetchall())
    missing = sorted(
        {f"{r['schema_name']}.{r['alias']}" for r in _relations(manifest)} - {f"{s}.{t}" for s, t in present}
    )
    if missing:
        raise MissingTablesError(f"{database_path} has no {', '.join(missing)}")


@contextmanager
def metricflow_engine(manifest_path: Path, database_path: Path) -> Iterator[MetricFlowEngine]:
    """A MetricFlow engine for the metrics in `manifest_path`, computed on `database_path` (`read_only_marts`).

    The file is attached under the catalog name dbt gave the marts, so one manifest serves the warehouse and its
    serving copy alike. Raises `FileNotFoundError` without the file, `MissingTablesError` if it lacks tables.
    """
    from metricflow.engine.metricflow_engine import MetricFlowEngine
    from metricflow_semantics.model.dbt_manifest_parser import parse_manifest_from_dbt_generated_manifest
    from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup

    raw_manifest = manifest_path.read_text()
    manifest = json.loads(raw_manifest)
    lookup = SemanticManifestLookup(parse_manifest_from_dbt_generated_manifest(manifest_json_string=raw_manifest))
    with read_only_marts(database_path, catalog_of(manifest)) as connection:
        _check_tables(connection, manifest, database_path)
        yield MetricFlowEngine(semantic_manifest_lookup=lookup, sql_client=DuckDbSqlClient(connection))


@dataclass(frozen=True)
class MetricRequest:
    """Metrics by group-bys (MetricFlow names: metric_time__day, location__country_code, ...), filtered by
    `where` (MetricFlow's templated SQL) and metric_time's range, sorted by `order_by` (-name: descending)."""

    metrics: Sequence[str]
    group_by: Sequence[str] = ()
    where: Sequence[str] = ()
    order_by: Sequence[str] = ()
    limit: int | None = None
    start: datetime | None = None
    end: datetime | None = None

    def to_metricflow(self) -> MetricFlowQueryRequest:
        from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

        return MetricFlowQueryRequest.create(
            metric_names=list(self.metrics),
            group_by_names=list(self.group_by) or None,
            where_constraints=list(self.where) or None,
            order_by_names=list(self.order_by) or None,
            limit=self.limit,
            time_constraint_start=self.start,
            time_constraint_end=self.end,
        )


def query_metrics(engine: MetricFlowEngine, request: MetricRequest) -> MetricFlowDataTable:
    """The request's rows: one per combination of group-by values, a column per group-by and metric."""
    result = engine.query(request.to_metricflow())
    if result.result_df is None:  # only requests writing to an output table return none, and these never do
        raise RuntimeError("MetricFlow returned no rows")
    return result.result_df


def explain_metrics(engine: MetricFlowEngine, request: MetricRequest) -> str:
    """The SQL MetricFlow runs for the request."""
    return engine.explain(request.to_metricflow()).sql_statement.without_descriptions.sql


def metrics(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Metrics, e.g. revenue orders average_order_value; none: list the metrics."),
    ] = None,
    group_by: Annotated[
        list[str] | None,
        typer.Option(
            "--group-by",
            "-g",
            help="Repeatable: metric_time__day (__week, __month, ...), location__country_code (shipping), "
            "customer__country_code, customer__rfm_segment, segment_membership__segment_name, ...",
        ),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(help="Repeatable filter, e.g. \"{{ Dimension('location__country_code') }} = 'DE'\"."),
    ] = None,
    start: Annotated[datetime | None, typer.Option(help="metric_time from this day (or time) on.")] = None,
    end: Annotated[datetime | None, typer.Option(help="metric_time up to this day (or time).")] = None,
    order_by: Annotated[
        list[str] | None,
        typer.Option("--order-by", help="Repeatable; a leading - sorts descending: -revenue. Default: the group-bys."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Rows at most.", min=1)] = None,
    source: Annotated[
        Source, typer.Option(help="serving: the serving copy BI tools read; warehouse: the warehouse, read-only.")
    ] = Source.serving,
    explain: Annotated[bool, typer.Option("--explain", help="Print the SQL instead of running it.")] = False,
) -> None:
    """Query the semantic layer's metrics by name, grouped and filtered (MetricFlow; docs/metrics.md).

    The metrics are the dbt project's as its files are now (dbt parses it when they changed) and are computed on
    the serving copy, or on the warehouse with --source warehouse (not while a run writes it). Without metric
    names, lists the metrics.
    """
    from core.dbt_cli import DbtError

    settings = settings_of(ctx)
    try:
        manifest_path = semantic_manifest(settings)
    except DbtError as error:
        console.print(f"The dbt project does not parse: {error}", style="red", markup=False, highlight=False)
        raise typer.Exit(code=1) from error
    if not names:
        console.print(metric_list(manifest_path))
        return
    database = settings.serving_path if source is Source.serving else settings.warehouse_path
    request = MetricRequest(names, group_by or (), where or (), order_by or group_by or (), limit, start, end)
    try:
        with metricflow_engine(manifest_path, database) as engine:
            if explain:
                console.print(explain_metrics(engine, request), markup=False, highlight=False)
                return
            rows = query_metrics(engine, request)
    except (FileNotFoundError, MissingTablesError) as error:
        other = Source.warehouse if source is Source.serving else Source.serving
        hint = f"{error}: run `warehouse run` first, or try --source {other}."
        console.print(hint, style="red", markup=False, highlight=False)
        raise typer.Exit(code=1) from error
    except Exception as error:  # MetricFlow's errors (unknown names, bad filters) and DuckDB's share no base class
        console.print(f"Query failed: {error}", style="red", markup=False, highlight=False)
        raise typer.Exit(code=1) from error
    console.print(rows_table(rows))
    console.print(f"{rows.row_count:,} rows from {database}")


def metric_list(manifest_path: Path) -> Table:
    """Every metric with its type and description, from the semantic manifest (no database needed)."""
    manifest = json.loads(manifest_path.read_text())
    table = Table(title="Metrics (docs/metrics.md)", title_justify="left", show_edge=False)
    for column in ("metric", "type", "what"):
        table.add_column(column)
    for metric in sorted(manifest["metrics"], key=lambda m: m["name"]):
        table.add_row(metric["name"], metric["type"], metric.get("description") or metric.get("label") or "")
    return table


def rows_table(rows: MetricFlowDataTable) -> Table:
    """MetricFlow's rows for the console: numbers right-aligned, days without their midnight."""
    table = Table(show_edge=False)
    for description in rows.column_descriptions:
        numeric = description.column_type in (int, float)
        table.add_column(description.column_name, justify="right" if numeric else "left")
    for row in rows.rows:
        table.add_row(*(_cell(value) for value in row))
    return table


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"
    if isinstance(value, datetime) and value == datetime.combine(value.date(), datetime.min.time()):
        return value.date().isoformat()  # MetricFlow returns days as datetimes at midnight
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
