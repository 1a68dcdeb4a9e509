"""Resources every asset shares: the warehouse file, dbt, dlt, and the one pool that guards the warehouse.

DuckDB allows one writing process per file, and while a writer holds the file even read-only connections from
other processes fail. So every asset and check that opens the warehouse runs in the `WAREHOUSE_POOL` pool,
whose limit is 1 (dagster.yaml sets it for `dagster dev`; runs queue instead of failing on the file lock).

Settings reach the assets through `WarehouseResource.settings`, read from the environment when a run starts,
not when the definitions are built: tests, `warehouse run` and `dagster dev` point the same definitions at
other files through the environment (LANDING_DIR, WAREHOUSE_PATH, SERVING_PATH), and an asset never reads
settings of its own.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource, DbtProject
from dagster_dlt import DagsterDltResource
from packaging import version
from pydantic import PrivateAttr

from core import dbt_launcher
from core.dbt_cli import PROD_TARGET, dbt_command, run_dbt
from core.settings import DBT_PROJECT_DIR, Settings, get_settings
from orchestration.dead_runs import fail_dead_runs, owner_tags

WAREHOUSE_POOL = "duckdb_warehouse"
"""Concurrency pool of everything that opens the warehouse file: one at a time, across runs and processes."""

OWNERS = ["team:data-platform"]
"""Who is paged when an asset of this project fails."""


class WarehouseResource(dg.ConfigurableResource):
    """The settings of a run: the DuckDB warehouse that dlt loads and dbt builds, the serving copy published
    from it, the landing files, and the rest of `core.settings.Settings`, which the assets, checks and sensors
    take from here.

    Read from the environment once, when first asked for in a run (or a sensor tick); a non-empty field
    overrides the variable of its name (WAREHOUSE_PATH, SERVING_PATH, LANDING_DIR).
    """

    warehouse_path: str = ""
    serving_path: str = ""
    landing_dir: str = ""
    _settings: Settings | None = PrivateAttr(default=None)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            fields = {"WAREHOUSE_PATH": self.warehouse_path, "SERVING_PATH": self.serving_path}
            fields["LANDING_DIR"] = self.landing_dir
            self._settings = get_settings({**os.environ, **{name: value for name, value in fields.items() if value}})
        return self._settings

    @property
    def warehouse(self) -> Path:
        return self.settings.warehouse_path

    @property
    def serving(self) -> Path:
        return self.settings.serving_path

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Every run that may write the warehouse, however it was launched (`warehouse run`, `dagster dev`):
        records its process in its tags, so a later run can tell when it died unannounced, and fails the runs
        whose process is gone, so their place in the warehouse pool is free (`orchestration.dead_runs`)."""
        instance, run = context.instance, context.dagster_run
        if instance is None or run is None:
            return
        if not run.tags.keys() >= owner_tags().keys():
            instance.add_run_tags(run.run_id, owner_tags())
        for dead in fail_dead_runs(instance):
            if context.log is not None:
                context.log.warning(dead.describe())

    @contextmanager
    def read_only(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived read-only connection, held only while reading so the next writer is not blocked."""
        connection = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            yield connection
        finally:
            connection.close()

    def table_metadata(self, schema: str, table: str) -> dict[str, Any]:
        """Row count and column types of a table as Dagster table metadata ({} if it does not exist)."""
        return self.tables_metadata([(schema, table)]).get((schema, table), {})

    def tables_metadata(self, relations: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Column types, and row counts of tables, of each (schema, name) that exists, as Dagster table metadata,
        over one connection (opening the file costs more than the queries). A view gets no row count: counting
        it would run its query."""
        wanted = set(relations)
        if not wanted:
            return {}
        with self.read_only() as connection:
            columns: dict[tuple[str, str], list[dg.TableColumn]] = {}
            for schema, table, name, kind in connection.execute(
                "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_catalog = current_database() ORDER BY table_schema, table_name, ordinal_position"
            ).fetchall():
                if (schema, table) in wanted:
                    columns.setdefault((schema, table), []).append(dg.TableColumn(name, kind))
            views = set(
                connection.execute(
                    "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = current_database()"
                ).fetchall()
            )
            metadata: dict[tuple[str, str], dict[str, Any]] = {}
            for (schema, table), table_columns in columns.items():
                metadata[(schema, table)] = {"dagster/column_schema": dg.TableSchema(columns=table_columns)}
                if (schema, table) not in views:
                    (rows,) = connection.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
                    metadata[(schema, table)]["dagster/row_count"] = dg.MetadataValue.int(rows)
        return metadata


dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    # Dagster's own target dir: a dbt command run by hand in target/ never races the manifest Dagster loads.
    target_path=Path("target") / "dagster",
    target=PROD_TARGET,
)


PARSED_FILES = ("partial_parse.msgpack", "semantic_manifest.json", "manifest.json")
"""What `prepare_manifest` publishes into Dagster's target dir; the manifest last, as readers look for it."""


def prepared_parse(settings: Settings, target: Path | None = None) -> Path:
    """The partial parse prepared for the settings' warehouse. dbt's partial parse is valid for one profile, and
    the profile names the warehouse file: runs of one checkout on two warehouses each keep their own."""
    target = target or DBT_PROJECT_DIR / dbt_project.target_path
    warehouse = hashlib.sha256(str(settings.warehouse_path).encode()).hexdigest()[:16]
    return target / "partial_parses" / warehouse / "partial_parse.msgpack"


def prepare_manifest(settings: Settings, force: bool = False) -> Path:
    """`dbt parse` into Dagster's target dir when forced, or when the manifest there is missing or stale: parsed
    from other project files, another warehouse or another environment (`manifest_inputs`). An unchanged project
    costs no dbt process (a parse with a warm partial parse took seconds in each `warehouse run`).

    dbt parses into a private folder beside it, from a copy of this warehouse's partial parse, and its files are
    renamed into place: two `warehouse run`s of one checkout on different warehouses (a demo beside a
    benchmark) parse at the same time, and neither may read the other's half-written manifest. The partial
    parse is also kept for this warehouse (`prepared_parse`), where this run's dbt invocations start from.
    """
    target, mine = DBT_PROJECT_DIR / dbt_project.target_path, prepared_parse(settings)
    inputs, recorded = manifest_inputs(settings), target / MANIFEST_INPUTS
    current = dbt_project.manifest_path.exists() and mine.exists() and recorded.exists()
    if not force and current and recorded.read_text() == inputs:
        return dbt_project.manifest_path
    mine.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".parse-", dir=target) as scratch:
        start = mine if mine.exists() else target / "partial_parse.msgpack"
        if start.exists():
            shutil.copy2(start, Path(scratch) / "partial_parse.msgpack")
        run_dbt(["parse", "--quiet"], settings, target_path=Path(scratch))
        if (Path(scratch) / "partial_parse.msgpack").exists():
            shutil.copy2(Path(scratch) / "partial_parse.msgpack", mine.with_suffix(".new"))
            os.replace(mine.with_suffix(".new"), mine)
        (Path(scratch) / MANIFEST_INPUTS).write_text(inputs)
        with _locked(target / ".publish.lock"):  # the manifest and the inputs it was parsed from, together
            for name in (*PARSED_FILES, MANIFEST_INPUTS):
                if (Path(scratch) / name).exists():
                    os.replace(Path(scratch) / name, target / name)
    keep_newest(mine.parent.parent, KEPT_PARTIAL_PARSES)
    return dbt_project.manifest_path


MANIFEST_INPUTS = "manifest.inputs"
"""The digest of what the manifest in Dagster's target dir was parsed from (`manifest_inputs`), beside it."""

NOT_PARSED = frozenset({"target", "logs", "dbt_packages"})
"""Folders of the dbt project that dbt writes or installs, not reads as the project."""

ENV_VAR_CALL = re.compile(r"env_var\(\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]")


def manifest_inputs(settings: Settings, project_dir: Path = DBT_PROJECT_DIR) -> str:
    """A digest of what `dbt parse` with `settings` reads: the dbt project's files (path, size, modification
    time), the values of the environment variables they read with `env_var()` as `run_dbt` gives them (secrets
    aside: only the profile's connection reads them, never the manifest), the warehouse (its name is the
    models' database), the target and dbt's version."""
    header = (PROD_TARGET, importlib.metadata.version("dbt-core"), str(settings.warehouse_path))
    digest = hashlib.sha256("\0".join(header).encode() + b"\n")
    names: set[str] = set()
    for folder, subfolders, files in os.walk(project_dir):
        if Path(folder) == project_dir:
            subfolders[:] = [name for name in subfolders if name not in NOT_PARSED]
        subfolders.sort()
        for name in sorted(files):
            path = Path(folder) / name
            stat = path.stat()
            digest.update(f"{path.relative_to(project_dir)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            if path.suffix in (".sql", ".yml", ".yaml"):
                names.update(ENV_VAR_CALL.findall(path.read_text(errors="replace")))
    environment = {**os.environ, "WAREHOUSE_PATH": str(settings.warehouse_path)}
    for name in sorted(names - {name for name in names if name.startswith("DBT_ENV_SECRET_")}):
        digest.update(f"{name}={environment.get(name)!r}\n".encode())
    return digest.hexdigest()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (created) for the block, across processes."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


KEPT_PARTIAL_PARSES = 10
"""Warehouses whose partial parse is kept under target/dagster/partial_parses/ (a few MB each)."""


def keep_newest(folder: Path, keep: int, pattern: str = "*", spared_seconds: float = 0) -> list[Path]:
    """Delete the entries of `folder` matching `pattern` (run dirs, partial parses, log files) but the `keep` most
    recently changed and those changed within `spared_seconds`; returns what went. A missing folder has none."""
    if not folder.is_dir():
        return []
    entries = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
    spared = time.time() - spared_seconds
    stale = [entry for entry in entries[keep:] if entry.stat().st_mtime < spared]
    for entry in stale:
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    return stale


KEPT_RUNS = 5
"""dbt target dirs (target/dagster/runs/: a manifest, compiled SQL, dbt's log) and run logs (DAGSTER_HOME/logs/)
kept: the newest, to look into a recent run. Each dbt invocation keeps that many dirs, and `warehouse run` too."""
RECENT_RUN_SECONDS = 3600
"""A run dir changed this recently stays whatever its rank: runs on other warehouses of this checkout (a demo beside
a benchmark, parallel test workers) share target/dagster/runs/, and one of them may still be writing it."""


def invocation_target_path(run_id: str, settings: Settings, prepared: Path | None = None) -> Path:
    """A new target dir for one dbt invocation of a run, holding a copy of the partial parse prepared for the
    settings' warehouse (the latest of any warehouse, if this one has none).

    dagster-dbt gives each invocation its own target dir, seeded only from `<project>/target/` (or
    $DBT_TARGET_PATH), not from the DbtProject's target_path that `prepare_manifest` parses into: without this
    copy every run's dbt parsed the whole project again (docs/performance.md). dbt still checks the copy
    against the project files, vars and profile, and re-parses what changed. Only the newest
    KEPT_RUNS dirs are kept, and those changed within RECENT_RUN_SECONDS: the automation runs every few
    minutes, and each dir holds a manifest.
    """
    prepared = prepared or DBT_PROJECT_DIR / dbt_project.target_path
    runs = prepared / "runs"
    target = runs / f"{run_id[:8]}-{uuid.uuid4().hex[:7]}"
    target.mkdir(parents=True)
    start = prepared_parse(settings, prepared)
    start = start if start.exists() else prepared / "partial_parse.msgpack"
    if start.exists():
        shutil.copy2(start, target / "partial_parse.msgpack")
    os.utime(target)  # the newest, whatever the clock of the folders before it
    keep_newest(runs, KEPT_RUNS, spared_seconds=RECENT_RUN_SECONDS)
    return target


DBT_LAUNCH = [sys.executable, str(Path(dbt_launcher.__file__).resolve()), *dbt_command()]
"""How dagster-dbt starts dbt: with the variables of the invocation's settings (`core/dbt_launcher.py`), through
the launcher that kills it with its parent (`core/die_with_parent.py`), the dbt beside this interpreter."""


class WarehouseDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt resource, whose dbt gets its settings and dies with the run, without two costs of every
    invocation that this project has no use for.

    dagster-dbt starts `[dbt_executable, *global_config_flags, *args]`: `build_resources` makes that `DBT_LAUNCH`,
    so dbt reads the settings the asset wrote beside its invocation (`core.dbt_cli.dbt_env_file`), and a killed
    run never leaves a `dbt build` writing the warehouse.

    - `_cli_version`: dagster-dbt runs `dbt --version` in every run. The executable is the one beside this
      interpreter, so its version is this environment's dbt-core, read from the installed metadata.
    - `_initialize_dbt_core_adapter`: dagster-dbt loads the profile, project and macros into an in-process
      dbt adapter for `fetch_row_counts` / `fetch_column_metadata` only. Those query while dbt still holds
      DuckDB's write lock; `dbt_models` reads row counts and columns itself once dbt has exited. Without an
      adapter, dagster-dbt streams the events as it does for the Fusion engine, which has none.
    Both cost seconds of each automation run's dbt step (freshness latency, docs/performance.md).
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        if [self.dbt_executable, *self.global_config_flags] != DBT_LAUNCH:
            return super()._cli_version
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        return None


def build_resources() -> dict[str, object]:
    """The resources of the Definitions, keyed as the assets ask for them."""
    return {
        "warehouse": WarehouseResource(),
        "dbt": WarehouseDbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            # dagster-dbt shells out to `dbt` and does not install it: the one beside this Python, started
            # with the invocation's settings, through the launcher that kills it with its parent.
            dbt_executable=DBT_LAUNCH[0],
            global_config_flags=DBT_LAUNCH[1:],
            # The warehouse the run's settings name; the profile's default, dev, is for dbt run by hand.
            target=PROD_TARGET,
        ),
        "dlt": DagsterDltResource(),
    }
