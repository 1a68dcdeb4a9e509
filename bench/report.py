"""results.json (scale -> figures), the markdown report, the printed table, and the benchmark's goals."""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table

from bench.identity_quality import DATASETS as IDENTITY_DATASETS
from bench.identity_quality import RESULT_KEYS as IDENTITY_KEYS
from bench.run_events import PARTS
from bench.runner import CLI_LOAD, COLLECTOR_KEY, DAEMON_FRESHNESS, DAGSTER_RUN, FIGURE_KEYS
from core.settings import DEFAULT_FRESHNESS_MINUTES

Figures = Mapping[str, Any]


@dataclass(frozen=True)
class Goal:
    name: str
    key: str
    target: str
    met: Callable[[float], bool] | None
    """None: a figure the issue asks to report beside another, with no target of its own ("reported")."""
    scales: tuple[str, ...] | None = None
    """The scales the issue states the goal for; None: a ratio, judged at every scale measured."""


def identity_seconds_sequential(details: Mapping[str, Any]) -> float | None:
    """The identity models' time in the raw-SQL run: one model at a time, so no model slows another down."""
    from bench.runner import identity_seconds

    nodes = ((details.get("steps") or {}).get("raw SQL") or {}).get("nodes")
    return identity_seconds(nodes) if nodes else None


def identity_growth(
    results: Mapping[str, Figures], details: Mapping[str, Mapping[str, Any]], sequential: bool = False
) -> dict[str, float] | None:
    """Small -> medium: how identity time grew against how the records it resolves grew.

    `sequential` uses the raw-SQL run's timings of the same models instead of dbt's (two dbt threads share
    two cores, so a model's time in the build also depends on what ran beside it).
    """
    times, records = {}, {}
    for scale in ("small", "medium"):
        info = details.get(scale) or {}
        if sequential:
            times[scale] = identity_seconds_sequential(info)
        else:
            times[scale] = (results.get(scale) or {}).get("identity_s")
        records[scale] = info.get("identity_records")
    if not all(times.values()) or not all(records.values()):
        return None
    time_ratio = times["medium"] / times["small"]
    record_ratio = records["medium"] / records["small"]
    return {
        "time_ratio": time_ratio,
        "record_ratio": record_ratio,
        "exponent": math.log(time_ratio) / math.log(record_ratio) if record_ratio > 1 else float("nan"),
    }


ANALYTICS_WINDOW_S = DEFAULT_FRESHNESS_MINUTES["analytics"] * 60
"""Issue 27: new landing events reach the profile in the serving copy within the analytics freshness window."""

GOALS: tuple[Goal, ...] = (
    Goal("events load / DuckDB read_json", "events_load_ratio_vs_duckdb", "<= 1.5", lambda v: v <= 1.5),
    Goal(
        "events load, whole `warehouse load` process / read_json process (wall)",
        "events_load_cli_ratio_vs_duckdb",
        "reported beside the in-process ratio",
        None,
        ("small", "medium"),
    ),
    Goal("entity 1% change load / first load", "entity_change_ratio", "a few % (<= 0.05)", lambda v: v <= 0.05),
    Goal("dbt build / raw SQL", "dbt_build_ratio_vs_raw_sql", "<= 1.3", lambda v: v <= 1.3),
    Goal("dbt build time", "dbt_build_s", "< 120 s", lambda v: v < 120, ("medium",)),
    Goal("incremental refresh / full build", "incremental_ratio_vs_full", "<= 0.10", lambda v: v <= 0.10),
    Goal("freshness latency (+ sensor interval)", "freshness_latency_s", "< 30 s", lambda v: v < 30, ("small",)),
    Goal(
        "freshness under the Dagster daemon: landing events -> serving profile",
        "freshness_latency_daemon_s",
        f"<= {ANALYTICS_WINDOW_S} s (analytics window)",
        lambda v: v <= ANALYTICS_WINDOW_S,
        ("small", "medium"),
    ),
    Goal("peak RSS", "peak_rss_gib", "< 4 GiB", lambda v: v < 4, ("medium",)),
    Goal(
        "Dagster run with every check: peak RSS",
        "dagster_run_peak_rss_gib",
        "< 4 GiB",
        lambda v: v < 4,
        ("small", "medium"),
    ),
)


def scale_results(results: Mapping[str, Figures]) -> dict[str, Figures]:
    """The figures per scale of results.json, without the collector run and the identity sets (not scales)."""
    return {name: figures for name, figures in results.items() if name not in (COLLECTOR_KEY, *IDENTITY_KEYS)}


def identity_lines(results: Mapping[str, Figures]) -> list[str]:
    """Issue 24's table: pairwise precision / recall / F1 of the product and of Splink 5 on each data set."""
    product, splink = (results.get(key) or {} for key in IDENTITY_KEYS)
    datasets = [name for name in IDENTITY_DATASETS if name in product or name in splink]
    if not datasets:
        return ["- not measured (`python -m bench.identity_quality`)"]
    lines = [
        "| data set | records | precision | recall | F1 | false merges | Splink precision | Splink recall "
        "| Splink F1 | Splink false merges | seconds (product / Splink) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in datasets:
        ours, theirs = product.get(name) or {}, splink.get(name) or {}

        def cells(figures: Figures) -> list[str]:
            return [
                *(f"{figures[k]:.4f}" if figures.get(k) is not None else "n/a" for k in ("precision", "recall", "f1")),
                _fmt(figures.get("false_merges")),
            ]

        records = ours.get("records", theirs.get("records"))
        seconds = " / ".join(f"{f['seconds']:.1f}" if f.get("seconds") is not None else "n/a" for f in (ours, theirs))
        lines.append(f"| {name} | {_fmt(records)} | " + " | ".join([*cells(ours), *cells(theirs), seconds]) + " |")
    return lines


def collector_verdict(figures: Figures) -> str:
    """Issue 7: the rate sustained from several clients, every acknowledged message on disk exactly once."""
    clean = all(figures.get(key) == 0 for key in ("lost", "duplicates", "unexpected", "rejected"))
    sustained = (figures.get("achieved_rate") or 0) >= 0.95 * figures["rate"]
    return "met" if clean and sustained and figures.get("finished_in_time") else "MISSED"


def collector_line(figures: Figures) -> str:
    """One line of results.md for the collector load run."""
    return (
        f"{_fmt(figures['seconds'])} s at {_fmt(figures['rate'])} events/s from {figures['clients']} clients: "
        f"sent {_fmt(figures['sent'])}, acknowledged {_fmt(figures['acknowledged'])}, "
        f"landed {_fmt(figures['landed'])}, lost {_fmt(figures['lost'])}, duplicates {_fmt(figures['duplicates'])}, "
        f"rejected {_fmt(figures['rejected'])}; achieved {_fmt(figures['achieved_rate'])} events/s, "
        f"latency p50 {_fmt(figures['latency_p50_ms'])} ms, p99 {_fmt(figures['latency_p99_ms'])} ms "
        f"-> {collector_verdict(figures)}"
    )


def merge_results(path: Path, new: Mapping[str, Figures]) -> dict[str, Figures]:
    """Scales (and the collector run) measured now replace their old figures; the others in the file are kept."""
    merged: dict[str, Figures] = json.loads(path.read_text()) if path.exists() else {}
    merged.update(new)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged, indent=2) + "\n")
    return merged


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def figures_table(results: Mapping[str, Figures]) -> Table:
    results = scale_results(results)
    scales = list(results)
    table = Table(title="bench: figures per scale (seconds unless named)")
    table.add_column("figure")
    for scale in scales:
        table.add_column(scale, justify="right")
    for key in FIGURE_KEYS:
        table.add_row(key, *[_fmt(results[s].get(key)) for s in scales])
    return table


MACHINE_RAM_GIB = 24
"""The reference machine's memory: the large scale must complete inside it."""


def large_completes(figures: Figures | None) -> tuple[str, str, str, str]:
    """Issue 6's large-scale goal: its first `dbt build` passes (no node out of memory) within the machine's RAM.

    A build that failed has no `dbt_build_s` (bench.runner._figures), so a spilling failure reads as missed.
    """
    goal, target = "large scale completes (first build passes)", f"peak RSS < {MACHINE_RAM_GIB} GiB"
    if not figures:
        return goal, target, "n/a", "not measured"
    build, rss = figures.get("dbt_build_s"), figures.get("peak_rss_gib")
    if build is None:
        return goal, target, f"dbt build failed, peak RSS {_fmt(rss)} GiB", "MISSED"
    met = rss is not None and rss < MACHINE_RAM_GIB
    return goal, target, f"dbt build {_fmt(build)} s, peak RSS {_fmt(rss)} GiB", "met" if met else "MISSED"


def goal_rows(
    results: Mapping[str, Figures], details: Mapping[str, Mapping[str, Any]]
) -> list[tuple[str, str, str, str]]:
    """(goal, target, measured, verdict) per goal; 'not measured' when its scale was not run."""
    results = scale_results(results)
    rows = []
    for goal in GOALS:
        for scale in goal.scales or tuple(results):
            value = (results.get(scale) or {}).get(goal.key)
            if value is None:
                verdict = "not measured"
            elif goal.met is None:
                verdict = "reported"
            else:
                verdict = "met" if goal.met(value) else "MISSED"
            rows.append((f"{goal.name} ({scale})", goal.target, _fmt(value), verdict))
    rows.append(large_completes(results.get("large")))
    for sequential, label in ((False, "dbt build"), (True, "raw SQL, one model at a time")):
        goal = f"identity: near-linear growth, small -> medium ({label})"
        growth = identity_growth(results, details, sequential=sequential)
        if growth is None:
            rows.append((goal, "exponent <= 1.2", "n/a", "not measured"))
            continue
        measured = (
            f"time x{growth['time_ratio']:.1f} for records x{growth['record_ratio']:.1f} "
            f"(exponent {growth['exponent']:.2f})"
        )
        rows.append((goal, "exponent <= 1.2", measured, "met" if growth["exponent"] <= 1.2 else "MISSED"))
    return rows


def _step(details: Mapping[str, Mapping[str, Any]], scale: str, label: str) -> Mapping[str, Any]:
    return ((details.get(scale) or {}).get("steps") or {}).get(label) or {}


def freshness_lines(results: Mapping[str, Figures], details: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Issue 27: landing -> serving profile under the real daemon, the median probe's parts, and the
    in-process figure (sensor and automation called directly) beside it."""
    scales = [scale for scale, figures in results.items() if figures.get("freshness_daemon_parts")]
    if not scales:
        return ["- not measured (`--daemon-probes 0` or `--no-freshness`, or the scale stopped before it)"]
    lines = [
        "| scale | daemon latency s | " + " | ".join(PARTS).replace("_", " ") + " | unaccounted | probes s "
        "| in-process s |",
        "|---|" + "---:|" * (len(PARTS) + 4),
    ]
    for scale in scales:
        figures, parts = results[scale], results[scale]["freshness_daemon_parts"]
        step = _step(details, scale, DAEMON_FRESHNESS)
        probes = ", ".join(_fmt(seconds) for seconds in step.get("seconds_by_probe") or []) or "n/a"
        cells = [_fmt(parts.get(f"{part}_s")) for part in (*PARTS, "unaccounted")]
        lines.append(
            f"| {scale} | {_fmt(figures.get('freshness_latency_daemon_s'))} | {' | '.join(cells)} | {probes} "
            f"| {_fmt(figures.get('freshness_latency_s'))} |"
        )
    intervals = {
        scale: (
            _step(details, scale, DAEMON_FRESHNESS).get("landing_sensor_interval_s"),
            _step(details, scale, DAEMON_FRESHNESS).get("automation_sensor_interval_s"),
        )
        for scale in scales
    }
    lines += [
        "",
        "Parts of the median probe, from the event log of the runs the daemon launched (`bench.run_events`): the",
        "wait for the sensors (landing, then automation), the run queue (queued -> the run's process executing),",
        "each step by what it produced (dbt's own tests inside `dbt`; `checks`: the Great Expectations suites and",
        "source freshness checks), run overhead (inside a run, outside its steps: pool waits, start and end).",
        "Each probe lands right after a landing sensor tick: the longest wait for that sensor. Sensor intervals "
        + ", ".join(f"{scale}: landing {a} s, automation {b} s" for scale, (a, b) in intervals.items())
        + ". The in-process figure lands a new shop customer and calls the sensor and automation directly.",
    ]
    return lines


def dagster_run_lines(results: Mapping[str, Figures], details: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Issue 27: the nightly job through Dagster, checks included: time, peak RSS, parts, check outcomes; the
    bare `dbt build --full-refresh` of the same run beside it."""
    scales = [scale for scale, figures in results.items() if figures.get("dagster_run_s") is not None]
    if not scales:
        return ["- not measured"]
    shown = ("load", "dbt", "checks", "publish", "run_overhead")
    lines = [
        "| scale | seconds | peak RSS GiB | " + " | ".join(shown).replace("_", " ") + " | checks passed / warned "
        "/ failed | success | bare dbt build --full-refresh s |",
        "|---|" + "---:|" * (len(shown) + 5),
    ]
    for scale in scales:
        figures, parts = results[scale], results[scale].get("dagster_run_parts") or {}
        step = _step(details, scale, DAGSTER_RUN)
        success = {True: "yes", False: "no"}.get(step.get("success"), "n/a")
        checks = "/".join(
            _fmt(n)
            for n in (step.get("checks_passed"), *(len(step.get(k) or []) for k in ("checks_warned", "checks_failed")))
        )
        lines.append(
            f"| {scale} | {_fmt(figures['dagster_run_s'])} | {_fmt(figures.get('dagster_run_peak_rss_gib'))} | "
            + " | ".join(_fmt(parts.get(f"{part}_s")) for part in shown)
            + f" | {checks} | {success} | {_fmt(figures.get('full_refresh_s'))} |"
        )
    return lines


def cli_load_lines(results: Mapping[str, Figures], details: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Issue 27: the events load as a user runs it, wall and CPU, beside the in-process ratio of the same run."""
    scales = [scale for scale, figures in results.items() if figures.get("events_load_cli_s") is not None]
    if not scales:
        return ["- not measured"]
    lines = [
        "| scale | `warehouse load` wall / CPU s | read_json process wall / CPU s | ratio wall | ratio CPU "
        "| in-process ratio | rounds (medians) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for scale in scales:
        figures, step = results[scale], _step(details, scale, CLI_LOAD)
        lines.append(
            f"| {scale} | {_fmt(figures['events_load_cli_s'])} / {_fmt(step.get('events_load_cli_cpu_s'))} "
            f"| {_fmt(figures.get('duckdb_read_json_process_s'))} / {_fmt(step.get('duckdb_read_json_process_cpu_s'))} "
            f"| {_fmt(figures.get('events_load_cli_ratio_vs_duckdb'))} "
            f"| {_fmt(figures.get('events_load_cli_cpu_ratio_vs_duckdb'))} "
            f"| {_fmt(figures.get('events_load_ratio_vs_duckdb'))} | {_fmt(step.get('rounds'))} |"
        )
    return lines


def machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} when the report was written"
    )


def markdown(
    results: Mapping[str, Figures],
    details: Mapping[str, Mapping[str, Any]],
    settings: Mapping[str, str],
    note: str | None = None,
) -> str:
    collector = results.get(COLLECTOR_KEY)
    identity = {key: results[key] for key in IDENTITY_KEYS if key in results}
    results = scale_results(results)
    scales = list(results)
    lines = [
        "# Benchmark results",
        "",
        f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python -m bench` on {machine()}. Absolute seconds",
        "drift on a shared machine; compare the ratios, each measured against its reference in the same run.",
        *(["", note] if note else []),
        "",
        "| figure | " + " | ".join(scales) + " |",
        "|---|" + "---:|" * len(scales),
    ]
    lines += [f"| `{key}` | " + " | ".join(_fmt(results[s].get(key)) for s in scales) + " |" for key in FIGURE_KEYS]
    lines += ["", "## Goals", "", "| goal | target | measured | verdict |", "|---|---|---|---|"]
    lines += [f"| {g} | {t} | {m} | {v} |" for g, t, m, v in goal_rows(results, details)]
    lines += ["", "## Freshness under the Dagster daemon (issue 27)", "", *freshness_lines(results, details)]
    lines += ["", "## Dagster run with every check (issue 27)", "", *dagster_run_lines(results, details)]
    lines += ["", "## Events load as a user runs it (issue 27)", "", *cli_load_lines(results, details)]
    lines += ["", "## Collector under load", ""]
    lines.append(f"- {collector_line(collector)}" if collector else "- not measured (`--no-collector`)")
    lines += ["", "## Identity resolution beside Splink 5", ""]
    lines += [
        "Pairwise, over each data set's true records (docs/identity_benchmark.md). Goals: precision >= 0.995 and",
        "F1 >= Splink's on the public sets; generator precision >= 0.999, recall >= 0.98; households: zero false"
        " merges.",
        "",
    ]
    lines += identity_lines(identity)
    lines += ["", "## Scales", ""]
    lines += ["| scale | customers | days | seed | events rows | identity records | identity s (raw SQL) | generated |"]
    lines += ["|---|---:|---:|---:|---:|---:|---:|---|"]
    for scale in scales:
        info = details.get(scale) or {}
        meta = info.get("scale") or {}
        generated = info.get("generated") or {}
        gen = "cached" if generated.get("cached") else f"{generated.get('base_generate_s', 'n/a')} s + increment"
        lines.append(
            f"| {scale} | {_fmt(meta.get('customers'))} | {_fmt(meta.get('days'))} | {_fmt(meta.get('seed'))} "
            f"| {_fmt(results[scale].get('events_rows'))} | {_fmt(info.get('identity_records'))} "
            f"| {_fmt(identity_seconds_sequential(info))} | {gen} |"
        )
    lines += ["", "## Peak RSS per step (GiB)", ""]
    for scale in scales:
        by_step = (details.get(scale) or {}).get("peak_rss_gib_by_step") or {}
        if by_step:
            lines.append(f"- **{scale}**: " + ", ".join(f"{label} {gib:.2f}" for label, gib in by_step.items()))
    lines += ["", "## Disk per step (GiB): warehouse file after it, peak of its spill folder", ""]
    for scale in scales:
        steps = (details.get(scale) or {}).get("steps") or {}
        disk = [(label, s["warehouse_gib"], s["peak_spill_gib"]) for label, s in steps.items() if "warehouse_gib" in s]
        if disk:
            lines.append(f"- **{scale}**: " + ", ".join(f"{label} {w:.1f} / {p:.1f}" for label, w, p in disk))
    lines += ["", "## DuckDB settings in force", ""]
    lines += [f"- {name}: {value}" for name, value in settings.items()]
    notes = []
    for scale in scales:
        info = details.get(scale) or {}
        if info.get("dbt_failed_nodes"):
            notes.append(
                f"- {scale}: dbt nodes that failed (time still counted): {', '.join(info['dbt_failed_nodes'])}"
            )
        if info.get("raw_sql_failing_tests"):
            notes.append(
                f"- {scale}: data tests returning rows in the raw-SQL run: {len(info['raw_sql_failing_tests'])}"
            )
        if info.get("error"):
            notes.append(f"- {scale}: the run stopped early: {info['error'].splitlines()[0]}")
        if info.get("dbt_memory_limit"):
            notes.append(f"- {scale}: dbt memory_limit {info['dbt_memory_limit']}")
        compression = info.get("dbt_disabled_compression_methods")
        if compression and not compression.startswith("profile default"):
            notes.append(f"- {scale}: dbt's disabled_compression_methods {compression}")
        if info.get("events_measured_by"):
            notes.append(f"- {scale}: events figures measured by {info['events_measured_by']}")
        if info.get("landing", "").startswith("gzip"):
            notes.append(f"- {scale}: landing files gzip-compressed; DuckDB's read_json reads the same files")
        run = (info.get("steps") or {}).get(DAGSTER_RUN) or {}
        if run and not run.get("success"):
            failures = "; ".join(run.get("failures") or []) or ", ".join(run.get("checks_failed") or [])
            notes.append(f"- {scale}: the Dagster run did not succeed: {failures or 'see its step details'}")
        if info.get("not_run"):
            notes.append(f"- {scale}: not run: {info['not_run']}")
    if notes:
        lines += ["", "## Notes", "", *notes]
    return "\n".join(lines) + "\n"
