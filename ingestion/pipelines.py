"""Pipelines: one dlt pipeline per system, loading into raw_<system> of the warehouse DuckDB file.

`load()` is what the CLI, Dagster and tests call. It runs each system's source with Arrow tables and parquet
loader files (the fast path: no row-by-row Python), then reports rows loaded and quarantined per table.

Recovery: `finish_pending` first loads any package a killed run left behind (dlt's `run` would load it and then
return without extracting, leaving new files for yet another run), then the run extracts what is new.
Because file progress is committed with the package, entity tables are merged on their key and a restored
append job copies only the rows that had not committed (ingestion/destination.py), a replayed package or a
re-read file changes nothing: a run killed with SIGKILL and run again ends exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import dlt
import duckdb
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from core.settings import Settings
from core.warehouse import make_warehouse_dirs, warehouse_connection
from ingestion.destination import duckdb as replay_safe_duckdb
from ingestion.landing import RUN_COUNTS_KEY, has_unread
from ingestion.spec import QUARANTINE_TABLE
from ingestion.systems import SYSTEMS

LOAD_OPTIONS: dict[str, object] = {
    # The reader's parquet files already carry `_dlt_load_id` and `_dlt_id` (contract section 2): dlt must not
    # add them again, which would also make it rewrite every file in normalize.
    "normalize.parquet_normalizer.add_dlt_load_id": False,
    "normalize.parquet_normalizer.add_dlt_id": False,
    # dlt keeps the files of every loaded package by default: each load's parquet, about the size of its input,
    # forever, and with it the rows of people erased since. Once loaded they are in the warehouse; a package
    # with a failed job keeps its files (dlt), and a pending one is finished from them.
    "load.delete_completed_jobs": True,
    # A merge stages the package's rows in `raw_<system>_staging`, and dlt empties those tables only when the
    # next load of the table starts: every load then first deleted the rows of the one before, a first load's
    # whole tables (at medium, most of a 1% change load's WAL and checkpoint). Emptied right after the merge,
    # each load deletes only its own rows, and the warehouse keeps no second copy of the last load.
    "load.truncate_staging_dataset": True,
}
"""dlt's options of every load of this project, which `dlt.pipeline()` and `run()` take no argument for."""


@dataclass(frozen=True)
class TableCount:
    """One raw table after a load: rows this run delivered, lines it quarantined, rows now in the table.

    `superseded`: records of this run not loaded because the table already holds a newer version of them
    (newer `updated_at`); `duplicates`: re-deliveries of a key dropped (the same message twice, or an older
    version of a record beside a newer one in the same run). Both count source lines, not table rows.
    `conflicts`: deliveries of an event id already delivered with other content, quarantined (so counted in
    `quarantined` too), the first delivery kept.
    """

    system: str
    table: str
    loaded: int
    quarantined: int
    total: int
    superseded: int = 0
    duplicates: int = 0
    conflicts: int = 0


@dataclass
class LoadSummary:
    """What `load()` did, per table, and where the warehouse is."""

    warehouse_path: str
    tables: list[TableCount] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What the run did not read, held back or could not give a column, each `raw_<system>.<table>: ...`:
    links and files refused, gzip streams without their end, damaged files, fields kept as JSON. Logged too."""

    @property
    def rows_loaded(self) -> int:
        return sum(t.loaded for t in self.tables)

    @property
    def rows_quarantined(self) -> int:
        return sum(t.quarantined for t in self.tables)

    @property
    def rows_superseded(self) -> int:
        return sum(t.superseded for t in self.tables)

    def table(self, system: str, table: str) -> TableCount:
        """The count of one table; KeyError when the run did not produce it."""
        for count in self.tables:
            if (count.system, count.table) == (system, table):
                return count
        raise KeyError(f"{system}.{table}")


@contextmanager
def loading(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """One load: the warehouse connection its pipelines borrow (`core.warehouse.warehouse_connection`), with
    `LOAD_OPTIONS` in force.

    The options go through dlt's own config provider (`dlt.config.values`: the in-memory layer of
    `.dlt/config.toml`) for the block only, so the process environment is never written, and an environment
    variable or `.dlt/config.toml` entry of a deployment that sets one (LOAD__DELETE_COMPLETED_JOBS) still
    decides: dlt reads the environment before config.toml.
    """
    with warehouse_connection(settings) as connection, dlt.config.values(LOAD_OPTIONS):
        yield connection


def make_pipeline(system: str, settings: Settings, connection: duckdb.DuckDBPyConnection | None = None) -> dlt.Pipeline:
    """The dlt pipeline of `system`: name `system`, dataset `raw_<system>`, DuckDB at warehouse_path.

    `connection` (from `loading`) is borrowed by dlt and left open; without one dlt opens the file itself for
    each phase of a run. Run it inside `loading`, which sets the options dlt takes no argument for.
    """
    if system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r}: expected one of {', '.join(SYSTEMS)}")
    make_warehouse_dirs(settings)  # also when dlt opens the file itself
    return dlt.pipeline(
        pipeline_name=system,
        pipelines_dir=str(settings.pipelines_dir),
        # DuckDB's resources for the load (memory_limit, threads, insertion order): core/settings.py
        # dlt's DuckDB destination, with append jobs a replay after a kill cannot double (ingestion/destination.py)
        destination=replay_safe_duckdb(
            DuckDbCredentials(
                connection if connection is not None else str(settings.warehouse_path),
                # no temp_directory: the file's default, <warehouse>.tmp (see Settings.duckdb_config)
                global_config=settings.duckdb_config(settings.destination_memory_limit(system), None),
            )
        ),
        dataset_name=f"raw_{system}",
        progress="log" if settings.ingestion_progress else None,
    )


def make_source(system: str, settings: Settings, transport: str = "files") -> Any:
    """The dlt source of `system` reading the settings' landing directory (or the API)."""
    if system == "crm":
        from ingestion.sources.crm import crm_source

        return crm_source(transport=transport, settings=settings)
    if system == "shop":
        from ingestion.sources.shop import shop_source

        return shop_source(transport=transport, settings=settings)
    if system == "mailchimp":
        from ingestion.sources.mailchimp import mailchimp_source

        return mailchimp_source(transport=transport, settings=settings)
    if system == "helpdesk":
        from ingestion.sources.helpdesk import helpdesk_source

        return helpdesk_source(transport=transport, settings=settings)
    from ingestion.sources.analytics import analytics_source

    return analytics_source(settings=settings)


def load(
    systems: Iterable[str],
    settings: Settings,
    on_system: Callable[[str], None] | None = None,
) -> LoadSummary:
    """Load every new landing line of `systems` into the warehouse; returns counts per table.

    Only the resources whose landing folder holds something unread run (`unread_resources`), and a system with
    none starts no dlt run at all: its tables are reported with nothing loaded. `on_system` is called before
    each system starts (the CLI advances its progress bar with it).
    """
    summary = LoadSummary(warehouse_path=str(settings.warehouse_path))
    with loading(settings) as connection:
        for system in systems:
            if on_system:
                on_system(system)
            pipeline = make_pipeline(system, settings, connection)
            finish_pending(pipeline)
            source = make_source(system, settings)
            selected = unread_resources(pipeline, source, settings)
            if not selected:
                summary.tables.extend(_table_counts(pipeline, system, connection, ran=False))
                continue
            skip_state_restore_if_current(pipeline, connection)
            pipeline.run(source.with_resources(*selected), loader_file_format="parquet")
            derive_after_load(system, connection)
            summary.tables.extend(_table_counts(pipeline, system, connection))
            summary.warnings.extend(run_warnings(pipeline, system))
    return summary


def derive_after_load(system: str, connection: duckdb.DuckDBPyConnection) -> None:
    """What a system derives from its raw tables right after loading them, on the load's connection: the
    helpdesk's comment sentiment (ingestion/sources/helpdesk/sentiment.py). The Dagster assets call it too."""
    if system == "helpdesk":
        from ingestion.sources.helpdesk.sentiment import score_new_comments

        score_new_comments(connection)


def unread_resources(pipeline: dlt.Pipeline, source: Any, settings: Settings) -> list[str]:
    """The resources of `source` (reading landing files) a run of `pipeline` has work for: those that never ran
    (their first run creates their tables, empty if nothing came) and those whose landing folder
    `<landing>/<system>/<resource>` holds something their file marks say is unread (`ingestion.landing.has_unread`).

    Read from the pipeline's local state, which after `finish_pending` is what the destination holds. Without a
    local state (a new machine, a wiped pipelines folder) every resource counts as never run, and dlt's run
    restores the state from the warehouse before reading.
    """
    landing = settings.landing_dir
    states = pipeline.state.get("sources", {}).get(source.name, {}).get("resources", {})
    return [
        name
        for name in source.resources
        if name not in states or has_unread(landing / source.name / name, landing, states[name].get("files", {}))
    ]


def skip_state_restore_if_current(pipeline: dlt.Pipeline, connection: duckdb.DuckDBPyConnection) -> bool:
    """Let the next `pipeline.run` skip restoring state and schemas from the warehouse when they are what the
    pipeline holds locally; True if it will.

    dlt's `run` first reads the newest state the destination committed and replaces the local one with it if
    it differs (`Pipeline.sync_destination`): a new machine, a wiped pipelines folder, a warehouse restored
    from elsewhere. That costs a job client and its configuration per run. When the newest committed state's
    version hash is the local state's, every local schema it names is there, and nothing is pending, the
    restore would change nothing, and one query here says so. Otherwise dlt restores as always. The state is
    still extracted with the package and committed with it (only the restore is skipped).

    Call it right before `run`, on the pipeline object that runs (dlt remembers it per object, as after its
    own restore: `_state_restored`). Not for the Dagster assets: dagster-dlt drops the local pipeline before
    each run (`Pipeline.drop`, which also clears the mark), so there the restore is what brings the state back.
    """
    state = pipeline.state
    local_hash = state.get("_version_hash")
    schemas = state.get("schema_names") or []
    if not local_hash or not schemas or pipeline.has_pending_data:
        return False
    if not all(name in pipeline.schemas for name in schemas):
        return False
    dataset = pipeline.dataset_name
    with connection.cursor() as con:
        try:
            newest = con.execute(
                f'SELECT s.version_hash FROM "{dataset}"._dlt_pipeline_state AS s '
                f'JOIN "{dataset}"._dlt_loads AS l ON l.load_id = s._dlt_load_id '
                "WHERE s.pipeline_name = ? AND l.status = 0 ORDER BY l.load_id DESC LIMIT 1",
                [pipeline.pipeline_name],
            ).fetchone()
        except duckdb.CatalogException:  # no dataset or state table yet: dlt decides what that means
            return False
    if newest is None or newest[0] != local_hash:
        return False
    pipeline._state_restored = True  # noqa: SLF001 - dlt's own "restored once" mark; it offers no switch per run
    return True


def finish_pending(pipeline: dlt.Pipeline) -> bool:
    """Normalize and load what a killed run of `pipeline` left extracted or normalized; True if there was any.

    Called before every run: with pending packages, dlt's `run` loads them and returns without extracting.
    """
    if not pipeline.has_pending_data:
        return False
    if pipeline.list_extracted_load_packages():
        pipeline.normalize()
    if pipeline.list_normalized_load_packages():
        pipeline.load()
    return True


def _table_counts(
    pipeline: dlt.Pipeline, system: str, connection: duckdb.DuckDBPyConnection, ran: bool = True
) -> list[TableCount]:
    """Rows this run normalized per table, quarantined lines per resource, and table totals after the load.

    `ran=False`: the pipeline did not run in this load (nothing new), so nothing was loaded or quarantined; its
    `last_trace` is an earlier run's, read back from disk."""
    trace = pipeline.last_trace if ran else None
    normalize = trace.last_normalize_info if trace else None
    delivered = {
        table: count
        for table, count in (normalize.row_counts.items() if normalize else [])
        if not table.startswith("_dlt")
    }
    load_ids = list(normalize.loads_ids) if normalize else []
    dataset = f"raw_{system}"
    with connection.cursor() as con:
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
                "AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\' ORDER BY table_name",
                [dataset],
            ).fetchall()
        ]
        quarantined = _quarantined_by_resource(con, dataset, load_ids) if QUARANTINE_TABLE in tables else {}
        totals = {t: con.execute(f'SELECT count(*) FROM "{dataset}"."{t}"').fetchone()[0] for t in tables}
    dropped = _dropped_by_resource(pipeline, system, load_ids)
    markers: dict[str, int] = {}
    for counts in dropped.values():
        for table, count in counts.get("clearing_markers", {}).items():
            markers[table] = markers.get(table, 0) + count
    counts = [
        TableCount(
            system=system,
            table=table,
            loaded=0 if table == QUARANTINE_TABLE else delivered.get(table, 0) - markers.get(table, 0),
            quarantined=quarantined.get(table, 0),
            total=totals[table],
            superseded=dropped.get(table, {}).get("superseded", 0),
            duplicates=dropped.get(table, {}).get("duplicates", 0),
            conflicts=dropped.get(table, {}).get("conflicts", 0),
        )
        for table in tables
    ]
    # a resource none of whose lines has ever loaded has no table yet, but its quarantined lines are reported
    counts += [
        TableCount(system=system, table=resource, loaded=0, quarantined=n, total=0)
        for resource, n in sorted(quarantined.items())
        if resource not in totals
    ]
    return counts


def run_warnings(pipeline: dlt.Pipeline, system: str) -> list[str]:
    """The warnings the resources of the pipeline's last run recorded, each prefixed with its table (resource
    names are their root table names): what `load()` puts in `LoadSummary.warnings`, for callers that run the
    pipeline themselves (the Dagster assets)."""
    trace = pipeline.last_trace
    normalize = trace.last_normalize_info if trace else None
    load_ids = list(normalize.loads_ids) if normalize else []
    return [
        f"raw_{system}.{resource}: {warning}"
        for resource, counts in sorted(_dropped_by_resource(pipeline, system, load_ids).items())
        for warning in counts.get("warnings", [])
    ]


def _dropped_by_resource(pipeline: dlt.Pipeline, system: str, load_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Counts the resources of this run recorded in their state (resource names are their root table names):
    superseded, duplicates, and the child tables' list-clearing markers that dlt counted as rows but never
    inserted. Counts of earlier runs are ignored."""
    resources = pipeline.state.get("sources", {}).get(system, {}).get("resources", {})
    return {
        name: state[RUN_COUNTS_KEY]
        for name, state in resources.items()
        if state.get(RUN_COUNTS_KEY, {}).get("load_id") in load_ids
    }


def _quarantined_by_resource(con: duckdb.DuckDBPyConnection, dataset: str, load_ids: list[str]) -> dict[str, int]:
    """Lines quarantined by this run, per resource (resource names are their root table names)."""
    if not load_ids:
        return {}
    rows = con.execute(
        f'SELECT resource, count(*) FROM "{dataset}"."{QUARANTINE_TABLE}" '
        "WHERE _dlt_load_id IN (SELECT unnest(?)) GROUP BY resource",
        [load_ids],
    ).fetchall()
    return dict(rows)
