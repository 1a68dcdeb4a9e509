"""`python -m bench [--scales small,medium] [--out bench/results.json]`: measure, print a table, write results."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console

from bench.identity_quality import DATASETS as IDENTITY_DATASETS
from bench.identity_quality import parse_datasets
from bench.identity_quality import run as run_identity
from bench.report import figures_table, markdown, merge_results, scale_results
from bench.runner import COLLECTOR_KEY, run_collector, run_scale
from bench.scales import DEFAULT_SCALES, SCALES
from bench.steps import reference_memory_limit
from core.settings import PROJECT_ROOT

BENCH_DIR = PROJECT_ROOT / "bench"
FRESHNESS_SCALES = ("small",)
"""The in-process freshness probes (sensor and automation called directly) run at small only."""
DAEMON_FRESHNESS_SCALES = ("toy", "small", "medium")
"""Freshness under the real Dagster daemon: its goal is stated at medium, small is the reference of the old
in-process figure (toy: the harness's smoke test)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--scales",
        default=",".join(DEFAULT_SCALES),
        help=f"comma-separated, from {', '.join(SCALES)} (default: {','.join(DEFAULT_SCALES)}; large only when asked)",
    )
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results.json", help="figures per scale (merged)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--work-dir", type=Path, default=BENCH_DIR / "work", help="generated data cache and run directories"
    )
    parser.add_argument("--details-dir", type=Path, default=BENCH_DIR / "results", help="per-step details per scale")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the report from --out and --details-dir, measure nothing"
    )
    parser.add_argument(
        "--events-measure",
        choices=("auto", "ingestion", "bench"),
        default="auto",
        help="events load vs read_json: bench.events_load, bench's own steps, or auto (bench.events_load at toy/small)",
    )
    parser.add_argument("--no-freshness", action="store_true", help="skip the Dagster freshness round trips")
    parser.add_argument(
        "--daemon-probes", type=int, default=3, help="freshness probes under the real Dagster daemon (0: none)"
    )
    parser.add_argument(
        "--no-collector", action="store_true", help="skip the collector load run (once per invocation, not per scale)"
    )
    parser.add_argument("--collector-seconds", type=float, default=60.0, help="collector load duration")
    parser.add_argument("--collector-rate", type=int, default=1_000, help="collector load, events/s in all")
    parser.add_argument("--collector-clients", type=int, default=4, help="concurrent collector clients")
    parser.add_argument(
        "--identity-datasets",
        type=parse_datasets,
        default=list(IDENTITY_DATASETS),
        help=f"identity resolution beside Splink on these data sets (default: {','.join(IDENTITY_DATASETS)})",
    )
    parser.add_argument("--no-identity", action="store_true", help="skip the identity resolution benchmark")
    parser.add_argument("--note", help="a line for results.md under its header: how the machine was used, say")
    args = parser.parse_args(argv)
    args.scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    unknown = [s for s in args.scales if s not in SCALES]
    if unknown:
        parser.error(f"unknown scale(s) {', '.join(unknown)}: expected {', '.join(SCALES)}")
    return args


def duckdb_settings() -> dict[str, str]:
    """What each DuckDB connection of a measured step runs with (see docs/performance.md)."""
    return {
        "dbt (profiles.yml)": "memory_limit DBT_MEMORY_LIMIT (default 2GB), dbt threads DBT_THREADS (default 2), "
        "DuckDB threads DBT_DUCKDB_THREADS (default 2), preserve_insertion_order false, "
        "disabled_compression_methods DBT_DISABLED_COMPRESSION_METHODS (default fsst)",
        "ingestion (settings.py)": "landing reader memory_limit WAREHOUSE_MEMORY_LIMIT (default 2GB); dlt destination "
        "memory_limit WAREHOUSE_LOAD_MEMORY_LIMIT (default: events the reader's 2GB, entities DuckDB's, 80% of RAM); "
        "threads WAREHOUSE_THREADS "
        "(default 2); preserve_insertion_order false",
        "references (read_json, raw SQL)": (
            f"read_json: memory_limit {reference_memory_limit()} (= dbt's), threads = cores (set explicitly); "
            "raw SQL: every setting of dbt's profile (DuckDB threads DBT_DUCKDB_THREADS included)"
        ),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()

    def log(message: str) -> None:
        console.print(message, markup=False, highlight=False)

    work = args.work_dir.resolve()
    new: dict[str, dict] = {}
    args.details_dir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    for name in [] if args.report_only else args.scales:
        started = time.perf_counter()
        freshness = name in FRESHNESS_SCALES and not args.no_freshness
        probes = args.daemon_probes if name in DAEMON_FRESHNESS_SCALES and not args.no_freshness else 0
        figures, details = run_scale(SCALES[name], work, args.seed, log, freshness, args.events_measure, probes)
        details["total_s"] = round(time.perf_counter() - started, 1)
        (args.details_dir / f"{name}.json").write_text(json.dumps(details, indent=2, default=str) + "\n")
        new[name] = figures
        log(f"[{name}] done in {details['total_s']:.0f} s")
    if not args.report_only and not args.no_collector:
        new[COLLECTOR_KEY] = run_collector(args.collector_seconds, args.collector_rate, args.collector_clients, log)
    if not args.report_only and not args.no_identity:
        run_identity(args.identity_datasets, work / "identity", args.details_dir, args.out, log=log)
    results = merge_results(args.out, new)
    details_by_scale = {
        scale: json.loads(path.read_text())
        for scale in scale_results(results)
        if (path := args.details_dir / f"{scale}.json").exists()
    }
    report_path = args.out.with_suffix(".md")
    report_path.write_text(markdown(results, details_by_scale, duckdb_settings(), args.note))
    console.print(figures_table(results))
    console.print(f"Total {time.perf_counter() - began:.0f} s.")
    console.print(f"Results: {args.out}  Report: {report_path}  Per-step details: {args.details_dir}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
