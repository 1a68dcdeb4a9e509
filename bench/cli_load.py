"""The events load as a user runs it: `warehouse load --system analytics` into a fresh warehouse, a whole
process, against a Python process doing DuckDB's `read_json` of the same files into a table.

The in-process comparison (`bench.events_load`) times the load alone; this one includes what a user waits
for besides: the interpreter, the imports (dlt, DuckDB, the CLI), the pipeline's setup and the summary. Both
sides are timed from the parent as wall seconds and as CPU seconds of the child and its children (user + system,
from `getrusage`), each side's median over the rounds, the rounds alternating so that a busier minute on a
shared machine falls on both. The reference runs under the in-process reference's settings (memory_limit =
dbt's, threads = cores) and prints its row count, so both sides are seen to read the same events.

`python -m bench.cli_load read-json <events_dir> <database> <memory_limit> <threads>` is the reference process.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Timed:
    """One child process: wall seconds, CPU seconds (user + system of it and its children), its stdout."""

    wall_s: float
    cpu_s: float
    stdout: str


def timed(command: list[str], env: dict[str, str], cwd: Path) -> Timed:
    """Run `command` to its end; raises CalledProcessError (with its output) if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    completed = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise subprocess.CalledProcessError(completed.returncode, command, completed.stdout, completed.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timed(wall, cpu, completed.stdout)


def ratios(load: list[Timed], reference: list[Timed]) -> dict[str, Any]:
    """Each side's median wall and CPU seconds over its rounds, and load / reference for both."""
    load_wall, load_cpu = (statistics.median(getattr(t, f) for t in load) for f in ("wall_s", "cpu_s"))
    ref_wall, ref_cpu = (statistics.median(getattr(t, f) for t in reference) for f in ("wall_s", "cpu_s"))
    return {
        "events_load_cli_s": load_wall,
        "events_load_cli_cpu_s": load_cpu,
        "duckdb_read_json_process_s": ref_wall,
        "duckdb_read_json_process_cpu_s": ref_cpu,
        "events_load_cli_ratio_vs_duckdb": load_wall / ref_wall if ref_wall else None,
        "events_load_cli_cpu_ratio_vs_duckdb": load_cpu / ref_cpu if ref_cpu else None,
        "rounds": len(load),
        "cli_wall_by_round_s": [round(t.wall_s, 3) for t in load],
        "read_json_wall_by_round_s": [round(t.wall_s, 3) for t in reference],
    }


def fresh_landing(events_dir: Path, root: Path) -> Path:
    """A landing dir under `root` holding links to the events files only (as `warehouse load` expects them)."""
    landing = root / "landing"
    target = landing / "analytics" / "events"
    target.mkdir(parents=True)
    for file in sorted(events_dir.glob("*.jsonl*")):
        try:
            os.link(file, target / file.name)
        except OSError:
            shutil.copyfile(file, target / file.name)
    return landing


def product_env(root: Path, landing: Path, project: Path) -> dict[str, str]:
    """Every path of the product inside `root` (a fresh warehouse each round), this checkout's code first."""
    return {
        **os.environ,
        "LANDING_DIR": str(landing),
        "WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "SERVING_PATH": str(root / "serving.duckdb"),
        "DLT_PIPELINES_DIR": str(root / ".dlt"),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "PYTHONPATH": str(project),
    }


def cli_load_vs_read_json(
    events_dir: Path, work: Path, rounds: int, memory_limit: str, project: Path
) -> dict[str, Any]:
    """`rounds` alternating pairs: the CLI load into a new warehouse, then the reference into a new file."""
    warehouse = Path(sys.executable).with_name("warehouse")
    loads, references, rows, loaded = [], [], None, None
    for round_number in range(rounds):
        root = work / f"cli-load-{round_number}"
        shutil.rmtree(root, ignore_errors=True)
        landing = fresh_landing(events_dir, root)
        try:
            env = product_env(root, landing, project)
            loads.append(timed([str(warehouse), "load", "--system", "analytics"], env, project))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        loaded = rows_loaded(loads[-1].stdout)
        database = work / f"read-json-{round_number}.duckdb"
        command = [sys.executable, "-m", "bench.cli_load", "read-json", str(events_dir), str(database), memory_limit]
        command.append(str(os.cpu_count() or 1))
        try:
            references.append(timed(command, {**os.environ, "PYTHONPATH": str(project)}, project))
        finally:
            database.unlink(missing_ok=True)
        rows = int(references[-1].stdout.split()[-1])
    return {**ratios(loads, references), "cli_rows_loaded": loaded, "read_json_rows": rows}


def rows_loaded(output: str) -> int | None:
    """The row count `warehouse load` ends with ("961,324 rows loaded, ..."); None if it says none."""
    match = re.search(r"([\d,]+) rows loaded", output)
    return int(match.group(1).replace(",", "")) if match else None


def read_json_process(events_dir: str, database: str, memory_limit: str, threads: str) -> int:
    """The reference: DuckDB's read_json of every events file into a table of a new file; returns its rows."""
    import duckdb

    Path(database).unlink(missing_ok=True)
    connection = duckdb.connect(database)
    try:
        connection.execute(f"SET memory_limit = '{memory_limit}'")
        connection.execute(f"SET threads = {int(threads)}")
        pattern = str(Path(events_dir) / "*.jsonl*")
        connection.execute(
            "CREATE TABLE events AS SELECT * FROM read_json(?, format = 'newline_delimited', ignore_errors = true)",
            [pattern],
        )
        connection.execute("CHECKPOINT")
        (count,) = connection.execute("SELECT count(*) FROM events").fetchone()
    finally:
        connection.close()
    return count


if __name__ == "__main__":
    if sys.argv[1:2] != ["read-json"] or len(sys.argv) != 6:
        sys.exit("usage: python -m bench.cli_load read-json <events_dir> <database> <memory_limit> <threads>")
    print(read_json_process(*sys.argv[2:]))
