"""Issue 27's figures: from the steps that measured them into results.json, the goals and results.md."""

from __future__ import annotations

from bench.report import ANALYTICS_WINDOW_S, goal_rows, markdown
from bench.runner import CLI_LOAD, DAEMON_FRESHNESS, DAGSTER_RUN, FIGURE_KEYS, _figures

PARTS = {
    "total_s": 150.0,
    "wait_for_sensor_s": 50.0,
    "run_queue_s": 20.0,
    "load_s": 10.0,
    "dbt_s": 50.0,
    "checks_s": 10.0,
    "publish_s": 5.0,
    "other_steps_s": 0.0,
    "run_overhead_s": 4.0,
    "unaccounted_s": 1.0,
}
STEPS = {
    "dbt build --full-refresh": {"seconds": 40.0, "returncode": 0, "nodes": {}, "peak_rss_gib": 1.5},
    CLI_LOAD: {
        "events_load_cli_s": 14.3,
        "events_load_cli_cpu_s": 20.0,
        "duckdb_read_json_process_s": 5.5,
        "duckdb_read_json_process_cpu_s": 9.5,
        "events_load_cli_ratio_vs_duckdb": 2.6,
        "events_load_cli_cpu_ratio_vs_duckdb": 2.1,
        "rounds": 3,
        "peak_rss_gib": 0.9,
    },
    DAGSTER_RUN: {
        "seconds": 95.0,
        "success": False,
        "checks_passed": 40,
        "checks_warned": ["raw_shop/customers:email_format_rate"],
        "checks_failed": ["marts/customer_segments:segment_sizes_within_bounds"],
        "failures": [],
        "parts": PARTS | {"total_s": 95.0},
        "peak_rss_gib": 2.25,
    },
    DAEMON_FRESHNESS: {
        "seconds": 150.0,
        "visible": True,
        "parts": PARTS,
        "seconds_by_probe": [140.0, 150.0, 170.0],
        "landing_sensor_interval_s": 30,
        "automation_sensor_interval_s": 30,
        "peak_rss_gib": 1.1,
    },
}


def test_the_steps_give_the_daemon_latency_the_dagster_run_and_the_whole_process_ratio() -> None:
    figures = _figures(STEPS)

    assert figures["freshness_latency_daemon_s"] == 150.0
    assert figures["freshness_daemon_parts"]["dbt_s"] == 50.0
    assert (figures["dagster_run_s"], figures["dagster_run_peak_rss_gib"]) == (95.0, 2.25)
    assert figures["events_load_cli_ratio_vs_duckdb"] == 2.6
    assert figures["events_load_cli_cpu_ratio_vs_duckdb"] == 2.1
    assert figures["peak_rss_gib"] == 2.25


def test_steps_not_run_leave_the_new_figures_empty() -> None:
    figures = _figures({"dbt build": {"seconds": 9.0, "nodes": {}, "peak_rss_gib": 1.0}})

    for key in ("freshness_latency_daemon_s", "dagster_run_s", "events_load_cli_ratio_vs_duckdb"):
        assert figures[key] is None


def test_the_goals_judge_the_daemon_latency_by_the_analytics_window_and_the_run_by_its_memory() -> None:
    medium = dict.fromkeys(FIGURE_KEYS) | _figures(STEPS)
    late = medium | {"freshness_latency_daemon_s": ANALYTICS_WINDOW_S + 1.0, "dagster_run_peak_rss_gib": 4.5}

    verdicts = {goal: (measured, verdict) for goal, _, measured, verdict in goal_rows({"medium": medium}, {})}
    missed = {goal: verdict for goal, _, _, verdict in goal_rows({"medium": late}, {})}

    daemon = "freshness under the Dagster daemon: landing events -> serving profile (medium)"
    rss = "Dagster run with every check: peak RSS (medium)"
    cli = "events load, whole `warehouse load` process / read_json process (wall) (medium)"
    assert verdicts[daemon] == ("150.0", "met") and missed[daemon] == "MISSED"
    assert verdicts[rss] == ("2.250", "met") and missed[rss] == "MISSED"
    assert verdicts[cli] == ("2.600", "reported")
    assert verdicts[cli.replace("(medium)", "(small)")] == ("n/a", "not measured")


def test_the_report_shows_each_new_figure_beside_its_reference_from_the_same_run() -> None:
    small = dict.fromkeys(FIGURE_KEYS) | _figures(STEPS) | {"events_load_ratio_vs_duckdb": 1.4}
    small |= {"freshness_latency_s": 22.5}

    report = markdown({"small": small}, {"small": {"steps": STEPS}}, {}, note="Taken on a contended machine.")

    assert "\nTaken on a contended machine.\n" in report
    # daemon latency, its parts in order, the probes, the in-process figure
    parts = "50.0 | 20.0 | 10.0 | 50.0 | 10.0 | 5.000 | 0.000 | 4.000 | 1.000"
    assert f"| small | 150.0 | {parts} | 140.0, 150.0, 170.0 | 22.5 |" in report
    assert "landing 30 s, automation 30 s" in report
    # the Dagster run: seconds, RSS, parts, check outcomes, the bare full refresh of the same run
    assert "| small | 95.0 | 2.250 | 10.0 | 50.0 | 10.0 | 5.000 | 4.000 | 40/1/1 | no | 40.0 |" in report
    assert "- small: the Dagster run did not succeed: marts/customer_segments:segment_sizes_within_bounds" in report
    # the whole-process load, wall and CPU, and the in-process ratio
    assert "| small | 14.3 / 20.0 | 5.500 / 9.500 | 2.600 | 2.100 | 1.400 | 3 |" in report
