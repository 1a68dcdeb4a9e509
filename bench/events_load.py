"""Side-by-side timing of the events load against DuckDB's own `read_json` of the same files.

`events_load_vs_read_json(events_dir, workdir)` is what `make bench` calls. Both sides start from a fresh
DuckDB file in `workdir`, read the same (page-cached) files and end with the file closed, i.e. checkpointed:

- `events_load_s`: `ingestion.pipelines.load(["analytics"])`, the whole dlt run (extract with validation,
  quarantine and de-duplication, normalize, load) into `raw_analytics.events`;
- `duckdb_read_json_s`: `CREATE TABLE events AS SELECT * FROM read_json(..., format='newline_delimited')`.

Both are timed warm, as a long-running loader runs: `duckdb` is imported before `read_json`, and the load
follows a warm-up load of the first WARMUP_LINES lines into a scratch directory (Python imports of dlt's
destination, pandas and SQLAlchemy, about a second, are not the data's cost). The two sides alternate
`repeats` times and the medians are compared; every run's seconds are reported. On a shared machine wall
times move with the neighbours' load; the CPU seconds of this process (all its threads) beside them
(`*_cpu_s`) move much less, so both ratios are reported.

Nothing in `workdir` outlives the next call: each call starts over; the last load's warehouse stays.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import dlt
import duckdb  # imported before timing: read_json is timed warm, like the load

from core.settings import Settings, get_settings
from ingestion.landing import is_landing_file
from ingestion.pipelines import load, make_pipeline

READ_BLOCK = 16 * 1024 * 1024


def events_load_vs_read_json(events_dir: Path, workdir: Path, repeats: int = 3) -> dict[str, Any]:
    """Load the events files of `events_dir` both ways in `workdir`; returns rows, seconds and their ratio."""
    files = sorted(p for p in Path(events_dir).iterdir() if is_landing_file(p))
    if not files:
        raise ValueError(f"no event files (*.jsonl, *.json, gzipped or not) in {events_dir}")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, not {repeats}")
    workdir = Path(workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    landing = workdir / "landing"
    _link_into(files, landing / "analytics" / "events")
    _warm_page_cache(files)
    _warm_up(files[0], workdir / "warmup")

    settings = _settings(workdir, landing)
    loads, reads = [], []
    for _ in range(repeats):
        shutil.rmtree(settings.pipelines_dir, ignore_errors=True)  # each load starts from nothing
        settings.warehouse_path.unlink(missing_ok=True)
        (workdir / "read_json.duckdb").unlink(missing_ok=True)
        started, cpu_started = time.perf_counter(), time.process_time()
        summary = load(["analytics"], settings)
        loads.append((time.perf_counter() - started, time.process_time() - cpu_started))
        steps = _step_seconds(make_pipeline("analytics", settings))
        reads.append(_duckdb_read_json(files, workdir / "read_json.duckdb"))
    events_load_s, events_load_cpu_s = (statistics.median(run[i] for run in loads) for i in (0, 1))
    read_json_s, read_json_cpu_s = (statistics.median(run[i] for run in reads) for i in (0, 1))
    return {
        "events_files": len(files),
        "events_bytes": sum(p.stat().st_size for p in files),
        "events_rows": summary.table("analytics", "events").total,
        "events_quarantined": summary.table("analytics", "events").quarantined,
        "events_load_s": round(events_load_s, 4),
        "duckdb_read_json_rows": reads[-1][2],
        "duckdb_read_json_s": round(read_json_s, 4),
        "events_load_ratio_vs_duckdb": round(events_load_s / read_json_s, 2),
        "events_load_cpu_s": round(events_load_cpu_s, 3),
        "duckdb_read_json_cpu_s": round(read_json_cpu_s, 3),
        "events_load_cpu_ratio_vs_duckdb": round(events_load_cpu_s / read_json_cpu_s, 2),
        "events_load_runs_s": [round(run[0], 2) for run in loads],
        "duckdb_read_json_runs_s": [round(run[0], 2) for run in reads],
        **{f"events_{step}_step_s": seconds for step, seconds in steps.items()},
    }


WARMUP_LINES = 2_000


def _warm_up(first_file: Path, scratch: Path) -> None:
    """Load the first WARMUP_LINES lines of `first_file` into `scratch`, then remove it: imports and dlt's
    first-run setup happen here, not in the timed load."""
    events = scratch / "landing" / "analytics" / "events"
    events.mkdir(parents=True)
    with first_file.open("rb") as source, (events / first_file.name).open("wb") as target:
        for _, line in zip(range(WARMUP_LINES), source, strict=False):
            target.write(line)
    load(["analytics"], _settings(scratch, scratch / "landing"))
    shutil.rmtree(scratch, ignore_errors=True)


def _settings(workdir: Path, landing: Path) -> Settings:
    return Settings(
        landing_dir=landing,
        warehouse_path=workdir / "warehouse.duckdb",
        serving_path=workdir / "serving.duckdb",
        pipelines_dir=workdir / ".dlt",
        freshness_minutes=get_settings().freshness_minutes,
    )


def _step_seconds(pipeline: dlt.Pipeline) -> dict[str, float]:
    """Wall seconds of the last run's dlt steps (extract includes the reader)."""
    trace = pipeline.last_trace
    return {
        step.step: round((step.finished_at - step.started_at).total_seconds(), 2)
        for step in (trace.steps if trace else [])
        if step.step in ("extract", "normalize", "load")
    }


def _link_into(files: list[Path], directory: Path) -> None:
    """Hard links (no copy of hundreds of MB) named like the originals; a copy across file systems."""
    directory.mkdir(parents=True)
    for path in files:
        try:
            os.link(path, directory / path.name)
        except OSError:
            shutil.copyfile(path, directory / path.name)


def _warm_page_cache(files: list[Path]) -> None:
    """Read every file once so that neither side pays for the first read from disk."""
    for path in files:
        with path.open("rb") as f:
            while f.read(READ_BLOCK):
                pass


def _duckdb_read_json(files: list[Path], database: Path) -> tuple[float, float, int]:
    started, cpu_started = time.perf_counter(), time.process_time()
    con = duckdb.connect(str(database))
    try:
        con.execute(
            "CREATE TABLE events AS SELECT * FROM read_json(?, format = 'newline_delimited')",
            [[str(p) for p in files]],
        )
        (rows,) = con.execute("SELECT count(*) FROM events").fetchone()
    finally:
        con.close()
    return time.perf_counter() - started, time.process_time() - cpu_started, rows


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m bench.events_load EVENTS_DIR WORKDIR")
    result = events_load_vs_read_json(Path(sys.argv[1]), Path(sys.argv[2]))
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
