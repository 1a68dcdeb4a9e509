"""The measured steps. Each runs in its own subprocess (`python -m bench.steps <step> <params> <out>`), so the
peak RSS it reports (its own and its children's, e.g. dbt's) belongs to that step alone.

A step reads its paths from its parameters and from the environment the runner gives it (LANDING_DIR,
WAREHOUSE_PATH, SERVING_PATH, DLT_PIPELINES_DIR, DAGSTER_HOME): never the project's default data paths.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import resource
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import rawsql

PROFILES = Path(__file__).resolve().parents[1] / "dbt_project" / "profiles.yml"


def dbt_duckdb_settings() -> dict[str, str]:
    """The DuckDB `settings` of dbt_project/profiles.yml, rendered with this environment (DBT_MEMORY_LIMIT, ...):
    the raw-SQL reference runs the compiled SQL under exactly dbt's settings, and read_json under its budget."""
    import jinja2
    import yaml

    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    environment.globals["env_var"] = lambda name, default=None: os.environ.get(name, default)
    environment.filters["as_number"] = lambda value: value
    profile = yaml.safe_load(PROFILES.read_text())
    settings = profile["email_warehouse"]["outputs"]["prod"]["settings"]  # what warehouse run builds with
    return {name: environment.from_string(str(value)).render() for name, value in settings.items()}


def reference_memory_limit() -> str:
    """memory_limit of the reference connections (read_json, raw SQL): dbt's (DBT_MEMORY_LIMIT, default 2GB),
    so that the reference and dbt run under the same budget."""
    return dbt_duckdb_settings()["memory_limit"]


GIB = 1024**3


def peak_rss_bytes() -> int:
    """Peak RSS of this process or of any child it waited for (Linux reports ru_maxrss in KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) * 1024


class DiskWatch:
    """The warehouse's spill folder (`<WAREHOUSE_PATH>.tmp`, where dbt, dlt's destination and the landing reader
    spill) sampled every half second while a step runs, and the warehouse file's size after it: how near a
    scale comes to the disk's end."""

    INTERVAL_S = 0.5

    def __init__(self, warehouse: Path) -> None:
        self.warehouse = warehouse
        self.spill = Path(f"{warehouse}.tmp")
        self.peak_spill = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="disk-watch", daemon=True)

    def __enter__(self) -> DiskWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            self.peak_spill = max(self.peak_spill, _folder_bytes(self.spill))
            if self._stop.wait(self.INTERVAL_S):
                return

    def figures(self) -> dict[str, float]:
        files = [self.warehouse, Path(f"{self.warehouse}.wal")]
        warehouse = sum(f.stat().st_size for f in files if f.exists())
        return {"warehouse_gib": warehouse / GIB, "peak_spill_gib": self.peak_spill / GIB}


def _folder_bytes(folder: Path) -> int:
    total = 0
    for root, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):  # removed while walking
                total += os.stat(os.path.join(root, name)).st_size
    return total


def reference_connection(path: Path) -> Any:
    """A DuckDB connection with memory_limit and threads set explicitly (threads: every core)."""
    import duckdb

    connection = duckdb.connect(str(path))
    connection.execute(f"SET memory_limit = '{reference_memory_limit()}'")
    connection.execute(f"SET threads = {os.cpu_count() or 1}")
    connection.execute("SET TimeZone = 'UTC'")
    return connection


def step_generate(params: dict[str, Any]) -> dict[str, Any]:
    from bench.data import generate_cached
    from bench.scales import SCALES

    began = time.perf_counter()
    summary = generate_cached(Path(params["work"]), SCALES[params["scale"]], int(params["seed"]))
    return {**summary, "seconds": time.perf_counter() - began}


def step_read_json(params: dict[str, Any]) -> dict[str, Any]:
    """DuckDB's own read of the events files into a table of a new database file: the physical limit."""
    database = Path(params["database"])
    database.unlink(missing_ok=True)
    pattern = str(Path(params["events_dir"]) / "*.jsonl*")  # gzip files too: DuckDB reads them by their suffix
    connection = reference_connection(database)
    try:
        began = time.perf_counter()
        connection.execute(
            "CREATE TABLE events AS SELECT * FROM read_json(?, format = 'newline_delimited', ignore_errors = true)",
            [pattern],
        )
        connection.execute("CHECKPOINT")
        seconds = time.perf_counter() - began
        (rows,) = connection.execute("SELECT count(*) FROM events").fetchone()
    finally:
        connection.close()
    database.unlink(missing_ok=True)
    return {"seconds": seconds, "rows": rows}


def step_ingestion_bench(params: dict[str, Any]) -> dict[str, Any]:
    """The ingestion package's own comparison, `bench.events_load.events_load_vs_read_json`."""
    module = importlib.import_module("bench.events_load")
    return dict(module.events_load_vs_read_json(Path(params["events_dir"]), Path(params["workdir"])))


def step_load(params: dict[str, Any]) -> dict[str, Any]:
    """`ingestion.pipelines.load(systems)` into the run's warehouse."""
    from core.settings import get_settings
    from ingestion.pipelines import load

    began = time.perf_counter()
    summary = load(params["systems"], get_settings())
    seconds = time.perf_counter() - began
    return {
        "seconds": seconds,
        "rows_loaded": summary.rows_loaded,
        "rows_quarantined": summary.rows_quarantined,
        "tables": {f"{t.system}.{t.table}": {"loaded": t.loaded, "total": t.total} for t in summary.tables},
    }


def step_dbt(params: dict[str, Any]) -> dict[str, Any]:
    """One dbt invocation; node timings come from its run_results.json."""
    from core.dbt_cli import run_dbt
    from core.settings import get_settings

    target = Path(params["target_path"])
    if params.get("partial_parse"):
        # start from the parsed project, as a deployed one does (dagster-dbt copies this file the same way)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(params["partial_parse"], target / "partial_parse.msgpack")
    began = time.perf_counter()
    result = run_dbt(params["args"], get_settings(), target_path=target, check=False)
    seconds = time.perf_counter() - began
    run_results = target / "run_results.json"
    nodes = json.loads(run_results.read_text())["results"] if run_results.exists() else []
    failed = [n["unique_id"] for n in nodes if n["status"] in ("error", "fail", "runtime error")]
    return {
        "seconds": seconds,
        "returncode": result.returncode,
        "failed": failed,
        "output_tail": result.output[-3000:] if result.returncode else "",
        "nodes": {n["unique_id"]: round(n["execution_time"], 4) for n in nodes},
        "statuses": _count_by(nodes, "status"),
    }


def _count_by(nodes: list[dict[str, Any]], field: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in nodes:
        counts[node[field]] = counts.get(node[field], 0) + 1
    return counts


def step_raw_sql(params: dict[str, Any]) -> dict[str, Any]:
    """`dbt compile` on a copy of the raw warehouse, then its SQL run in one DuckDB connection."""
    from core.dbt_cli import run_dbt
    from core.settings import erasure_salt, get_settings

    target = Path(params["target_path"])
    began = time.perf_counter()
    run_dbt(["compile", "--quiet"], get_settings(), target_path=target)
    compile_s = time.perf_counter() - began
    plan = rawsql.plan_from_manifest(json.loads((target / "manifest.json").read_text()))
    # the bi models hash with the salt core.dbt_cli gives dbt, which profiles.yml sets as a DuckDB variable
    os.environ["DBT_ENV_SECRET_ERASURE_SALT"] = erasure_salt(get_settings())
    connection = reference_connection(get_settings().warehouse_path)
    try:
        # exactly dbt's DuckDB: its threads, storage and ordering settings too, not only its budget
        for name, value in dbt_duckdb_settings().items():
            connection.execute(f"SET {name} = '{value}'")
        timings = rawsql.execute(connection, plan)
    finally:
        connection.close()
    return {"compile_s": compile_s, **timings}


def step_identity_records(params: dict[str, Any]) -> dict[str, Any]:
    """Records the identity models resolve (rows of customer_identity_map) and customers they make."""
    import duckdb

    from core.settings import get_settings

    with duckdb.connect(str(get_settings().warehouse_path), read_only=True) as connection:
        try:
            records, customers = connection.execute(
                "SELECT count(*), count(DISTINCT customer_id) FROM marts.customer_identity_map"
            ).fetchone()
        except duckdb.CatalogException:
            return {"records": None, "customers": None}
    return {"records": records, "customers": customers}


def step_freshness(params: dict[str, Any]) -> dict[str, Any]:
    from bench.freshness import measure_freshness

    return measure_freshness(Path(params["landing_dir"]), float(params.get("timeout_s", 600)))


def step_dagster_run(params: dict[str, Any]) -> dict[str, Any]:
    """A job of the project's Definitions as `warehouse run` executes it (every asset and check), and where its
    time went, read from the run's event log."""
    import dagster as dg

    from bench.run_events import read_run, run_summary, split
    from core.settings import get_settings
    from orchestration.headless import ensure_dagster_home, run_graph

    settings = get_settings()
    began = time.perf_counter()
    report = run_graph(params.get("job", "daily_full_build"), settings=settings)
    seconds = time.perf_counter() - began
    with dg.DagsterInstance.from_config(str(ensure_dagster_home(settings))) as instance:
        run = read_run(instance, instance.get_run_record_by_id(report.run_id))
    return {
        "seconds": seconds,
        "success": report.success,
        "materialized": len(report.materialized),
        "checks_passed": len(report.checks_passed),
        "checks_warned": sorted(report.checks_warned),
        "checks_failed": sorted(report.checks_failed),
        "failures": report.failures[:10],
        "parts": split(run.created, run.ended or time.time(), [run]).as_dict(),
        "run": run_summary(run),
    }


def step_freshness_daemon(params: dict[str, Any]) -> dict[str, Any]:
    from bench.daemon_freshness import measure_daemon_freshness

    return measure_daemon_freshness(
        Path(params["landing_dir"]), int(params.get("probes", 3)), float(params.get("timeout_s", 900))
    )


def step_cli_load(params: dict[str, Any]) -> dict[str, Any]:
    """`warehouse load --system analytics` into fresh warehouses against a read_json process (bench.cli_load)."""
    from bench.cli_load import cli_load_vs_read_json

    return cli_load_vs_read_json(
        Path(params["events_dir"]),
        Path(params["work"]),
        int(params["rounds"]),
        reference_memory_limit(),
        Path(__file__).resolve().parents[1],
    )


STEPS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "generate": step_generate,
    "read_json": step_read_json,
    "ingestion_bench": step_ingestion_bench,
    "load": step_load,
    "dbt": step_dbt,
    "raw_sql": step_raw_sql,
    "identity_records": step_identity_records,
    "freshness": step_freshness,
    "dagster_run": step_dagster_run,
    "freshness_daemon": step_freshness_daemon,
    "cli_load": step_cli_load,
}


def main(argv: list[str]) -> int:
    name, params, out = argv[0], json.loads(argv[1]), Path(argv[2])
    warehouse = Path(os.environ.get("WAREHOUSE_PATH", "data/warehouse.duckdb"))
    with DiskWatch(warehouse) as disk:
        result = STEPS[name](params)
    result["peak_rss_gib"] = peak_rss_bytes() / GIB
    result.update(disk.figures())
    out.write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
