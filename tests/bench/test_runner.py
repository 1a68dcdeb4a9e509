"""The benchmark harness on a toy scale: caching, step subprocesses, raw SQL replay and the report.

These check the harness, not the speed: speed goals live in `make bench`, never in timed tests.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from bench import rawsql
from bench.__main__ import main
from bench.data import add_batch, cache_dir, generate_cached, is_cached
from bench.report import collector_verdict, goal_rows, large_completes, markdown, merge_results
from bench.runner import COLLECTOR_KEY, FIGURE_KEYS, ScaleRun, _figures, _measure, identity_seconds
from bench.scales import SCALES
from bench.steps import DiskWatch, dbt_duckdb_settings

TOY = SCALES["toy"]


@pytest.fixture(scope="module")
def toy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("bench_work")
    generate_cached(work, TOY, seed=7)
    return work


def test_generated_data_is_cached_per_scale_and_seed(toy_cache: Path) -> None:
    again = generate_cached(toy_cache, TOY, seed=7)

    assert again["cached"] is True
    assert is_cached(toy_cache, TOY, seed=7)
    assert not is_cached(toy_cache, TOY, seed=8)
    assert again["increment_rows"]["analytics/events"] < again["base_rows"]["analytics/events"]


def test_a_run_landing_dir_receives_one_batch_at_a_time(toy_cache: Path, tmp_path: Path) -> None:
    source = cache_dir(toy_cache, TOY, seed=7)

    base = add_batch(source, tmp_path / "landing", 0)
    increment = add_batch(source, tmp_path / "landing", 1)

    assert base and all("-b0000-" in p.name for p in base)
    assert increment and all("-b0001-" in p.name for p in increment)
    assert not (tmp_path / "landing" / "_truth").exists()
    assert add_batch(source, tmp_path / "landing", 0) == [], "linking again adds nothing"


def test_a_step_runs_in_a_subprocess_and_reports_its_peak_rss(toy_cache: Path, tmp_path: Path) -> None:
    run = ScaleRun(TOY, tmp_path, seed=7, log=lambda _: None)
    events = tmp_path / "landing"
    add_batch(cache_dir(toy_cache, TOY, seed=7), events, 0, systems=("analytics",))

    result = run.step(
        "read_json",
        "read_json",
        {"events_dir": str(events / "analytics" / "events"), "database": str(tmp_path / "rj.duckdb")},
    )

    assert result["rows"] > 0
    assert 0 < result["peak_rss_gib"] < 4
    assert {"peak_spill_gib", "warehouse_gib"} <= result.keys(), "the disk it used is reported"
    assert result["wall_s"] >= result["seconds"] > 0
    assert not (tmp_path / "rj.duckdb").exists(), "the reference database is removed after the measurement"


def test_a_gzip_scale_caches_compressed_parts_that_read_json_reads(toy_cache: Path, tmp_path: Path) -> None:
    gz = replace(TOY, gzip=True)
    generate_cached(tmp_path / "work", gz, seed=7)
    plain_parts = add_batch(cache_dir(toy_cache, TOY, seed=7), tmp_path / "plain", 0, systems=("analytics",))
    gz_parts = add_batch(cache_dir(tmp_path / "work", gz, seed=7), tmp_path / "gz", 0, systems=("analytics",))
    run = ScaleRun(gz, tmp_path, seed=7, log=lambda _: None)

    counts = [
        run.step("read_json", "read_json", {"events_dir": str(d / "analytics" / "events"), "database": str(db)})
        for d, db in ((tmp_path / "plain", tmp_path / "p.duckdb"), (tmp_path / "gz", tmp_path / "g.duckdb"))
    ]

    assert gz_parts and all(p.name.endswith(".jsonl.gz") for p in gz_parts)
    assert [p.name + ".gz" for p in plain_parts] == [p.name for p in gz_parts]
    assert counts[0]["rows"] == counts[1]["rows"] > 0


def test_a_first_build_only_scale_stops_after_the_first_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def step(self: ScaleRun, label: str, name: str, params: dict, root: Path | None = None) -> dict:
        ran.append(label)
        return {"seconds": 1.0, "rows": 1, "tables": {}, "peak_rss_gib": 0.1, "nodes": {}}

    monkeypatch.setattr(ScaleRun, "step", step)
    run = ScaleRun(replace(TOY, first_build_only=True), tmp_path, seed=7, log=lambda _: None)
    run.root.mkdir(parents=True)

    _measure(run, use_ingestion_bench=False, freshness=True)

    assert ran == [
        "generate", "duckdb read_json", "events load", "events load CLI vs read_json process", "entity first load",
        "dbt parse", "dbt build", "identity records",
    ]  # fmt: skip
    assert not (run.root / "rawsql").exists(), "no copy of the raw warehouse is made for a reference not run"


def test_a_scale_can_set_dbt_s_string_compression_and_memory_for_its_steps(tmp_path: Path) -> None:
    large = ScaleRun(SCALES["large"], tmp_path, seed=7, log=lambda _: None)
    toy = ScaleRun(TOY, tmp_path, seed=7, log=lambda _: None)

    assert large.env(tmp_path)["DBT_DISABLED_COMPRESSION_METHODS"] == ""
    assert large.env(tmp_path)["DBT_MEMORY_LIMIT"] == "4GB"
    assert toy.env(tmp_path).get("DBT_DISABLED_COMPRESSION_METHODS") == os.environ.get(
        "DBT_DISABLED_COMPRESSION_METHODS"
    )


def test_the_disk_watch_sees_a_spill_that_is_gone_by_the_end_of_the_step(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(b"x" * 4096)
    spill = tmp_path / "warehouse.duckdb.tmp" / "reader-1"
    spill.mkdir(parents=True)

    with DiskWatch(warehouse) as disk:
        (spill / "duckdb_temp_storage.tmp").write_bytes(b"y" * 3 * 1024 * 1024)
        time.sleep(3 * DiskWatch.INTERVAL_S)
        shutil.rmtree(spill)

    figures = disk.figures()
    assert figures["peak_spill_gib"] * 1024**3 == 3 * 1024 * 1024
    assert figures["warehouse_gib"] * 1024**3 == 4096


def test_compiled_sql_is_replayed_in_dependency_order_with_tests(tmp_path: Path) -> None:
    seed_csv = tmp_path / "seeds" / "rates.csv"
    seed_csv.parent.mkdir()
    seed_csv.write_text("code,rate\nEUR,1.1\nUSD,1.0\n")
    manifest = {
        "nodes": {
            "model.p.b": _model("b", "table", 'select code from "db"."stg"."a" where rate > 1', ["model.p.a"]),
            "model.p.a": _model("a", "view", 'select * from "db"."seeds"."rates"', ["seed.p.rates"]),
            "seed.p.rates": {
                "unique_id": "seed.p.rates",
                "resource_type": "seed",
                "relation_name": '"db"."seeds"."rates"',
                "schema": "seeds",
                "original_file_path": "seeds/rates.csv",
                "config": {"column_types": {"rate": "decimal(18, 6)"}},
                "depends_on": {"nodes": []},
            },
            "test.p.not_empty": {
                "unique_id": "test.p.not_empty",
                "resource_type": "test",
                "compiled_code": 'select * from "db"."stg"."b" where code is null',
                "depends_on": {"nodes": ["model.p.b"]},
            },
        }
    }

    plan = rawsql.plan_from_manifest(manifest, project_dir=tmp_path)
    with duckdb.connect(str(tmp_path / "db.duckdb")) as connection:
        timings = rawsql.execute(connection, plan)
        rows = connection.execute('select code from "db"."stg"."b"').fetchall()

    assert [s.unique_id for s in plan] == ["seed.p.rates", "model.p.a", "model.p.b", "test.p.not_empty"]
    assert rows == [("EUR",)]
    assert timings["failing_tests"] == []
    assert set(timings["seconds_by_kind"]) == {"seed", "model", "test"}


def _model(name: str, materialized: str, sql: str, deps: list[str]) -> dict:
    return {
        "unique_id": f"model.p.{name}",
        "resource_type": "model",
        "relation_name": f'"db"."stg"."{name}"',
        "schema": "stg",
        "compiled_code": sql,
        "config": {"materialized": materialized},
        "depends_on": {"nodes": deps},
    }


def test_the_raw_sql_reference_takes_dbt_s_duckdb_settings_from_the_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference must run the SQL as dbt does: every setting of profiles.yml, with its env overrides."""
    for name in ("DBT_MEMORY_LIMIT", "DBT_DUCKDB_THREADS", "DBT_DISABLED_COMPRESSION_METHODS"):
        monkeypatch.delenv(name, raising=False)
    defaults = dbt_duckdb_settings()
    monkeypatch.setenv("DBT_MEMORY_LIMIT", "3GB")
    monkeypatch.setenv("DBT_DISABLED_COMPRESSION_METHODS", "")
    overridden = dbt_duckdb_settings()

    assert defaults["memory_limit"] == "2GB" and defaults["disabled_compression_methods"] == "fsst"
    assert defaults["preserve_insertion_order"].lower() == "false" and defaults["TimeZone"] == "UTC"
    assert overridden["memory_limit"] == "3GB" and overridden["disabled_compression_methods"] == ""
    connection = duckdb.connect()
    for name, value in overridden.items():  # as bench.steps.step_raw_sql applies them: DuckDB accepts each
        connection.execute(f"SET {name} = '{value}'")
    assert connection.execute("SELECT current_setting('preserve_insertion_order')").fetchone() == (False,)


def test_identity_time_sums_only_the_identity_models() -> None:
    nodes = {
        "model.email_warehouse.int_identity_edges": 1.5,
        "model.email_warehouse.customer_identity_map": 0.5,
        "model.email_warehouse.customer_profiles": 9.0,
        "test.email_warehouse.unique_customer_identity_map_source_id": 3.0,
    }

    assert identity_seconds(nodes) == 2.0


def test_a_failed_dbt_build_gives_no_build_figures_but_keeps_the_others() -> None:
    steps = {
        "entity first load": {"seconds": 10.0, "peak_rss_gib": 0.5},
        "dbt build": {"seconds": 60.0, "returncode": 1, "nodes": {}, "peak_rss_gib": 2.0},
        "raw SQL": {"seconds": 30.0, "peak_rss_gib": 1.0},
    }

    figures = _figures(steps)

    assert figures["entity_first_load_s"] == 10.0
    assert figures["raw_sql_s"] == 30.0
    assert figures["dbt_build_s"] is None and figures["dbt_build_ratio_vs_raw_sql"] is None
    assert figures["incremental_refresh_s"] is None
    assert figures["peak_rss_gib"] == 2.0


def test_the_large_scale_completes_only_when_its_build_passes_within_the_machine_s_ram() -> None:
    passed = dict.fromkeys(FIGURE_KEYS) | {"dbt_build_s": 1059.0, "peak_rss_gib": 9.4}
    out_of_memory = passed | {"dbt_build_s": None}
    swapping = passed | {"peak_rss_gib": 30.0}

    assert large_completes(passed)[3] == "met"
    assert large_completes(out_of_memory)[2:] == ("dbt build failed, peak RSS 9.400 GiB", "MISSED")
    assert large_completes(swapping)[3] == "MISSED"
    assert large_completes(None)[3] == "not measured"


def test_freshness_is_the_median_probe_and_a_probe_never_visible_is_a_miss() -> None:
    def probes(*runs: tuple[float, bool]) -> dict:
        steps = {"dbt build": {"seconds": 9.0, "nodes": {}, "peak_rss_gib": 1.0}}
        for number, (seconds, visible) in enumerate(runs, 1):
            steps[f"freshness {number}"] = {"seconds": seconds, "visible": visible, "peak_rss_gib": 0.5}
        return steps

    assert _figures(probes((31.5, True), (23.5, True), (22.0, True)))["freshness_latency_s"] == 23.5
    assert _figures(probes((21.0, True), (600.0, False), (22.0, True)))["freshness_latency_s"] is None
    assert _figures(probes())["freshness_latency_s"] is None


def test_results_merge_by_scale_and_the_report_judges_the_goals(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    small = dict.fromkeys(FIGURE_KEYS, 1.0) | {"identity_s": 2.0, "freshness_latency_s": 12.0}
    medium = dict.fromkeys(FIGURE_KEYS, 1.0) | {"identity_s": 20.0, "events_load_ratio_vs_duckdb": 2.5}
    merge_results(out, {"small": small})
    results = merge_results(out, {"medium": medium})
    details = {
        "small": {"identity_records": 1_000},
        "medium": {
            "identity_records": 10_000,
            "steps": {"events load": {"seconds": 1.0}, "dbt build": {"warehouse_gib": 6.1, "peak_spill_gib": 1.25}},
            "landing": "gzip (.jsonl.gz)",
            "not_run": "raw SQL (disk)",
        },
    }

    verdicts = {goal: verdict for goal, _, _, verdict in goal_rows(results, details)}
    report = markdown(results, details, {"dbt": "memory_limit 2GB"})

    assert set(json.loads(out.read_text())) == {"small", "medium"}
    assert verdicts["events load / DuckDB read_json (medium)"] == "MISSED"
    assert verdicts["freshness latency (+ sensor interval) (small)"] == "met"
    assert verdicts["identity: near-linear growth, small -> medium (dbt build)"] == "met"
    assert verdicts["identity: near-linear growth, small -> medium (raw SQL, one model at a time)"] == "not measured"
    assert verdicts["large scale completes (first build passes)"] == "not measured"
    assert "| `events_load_ratio_vs_duckdb` | 1.000 | 2.500 |" in report
    assert "- **medium**: dbt build 6.1 / 1.2" in report, "a step that measured no disk is left out"
    assert "- medium: not run: raw SQL (disk)" in report
    assert "- medium: landing files gzip-compressed" in report


def test_the_collector_load_runs_once_per_invocation_beside_the_scales(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    merge_results(out, {"small": dict.fromkeys(FIGURE_KEYS, 1.0)})
    toy_load = ["--collector-seconds", "1", "--collector-rate", "100", "--collector-clients", "2"]

    args = ["--scales", "", "--out", str(out), "--details-dir", str(tmp_path / "details"), "--no-identity"]
    assert main([*args, *toy_load]) == 0

    results = json.loads(out.read_text())
    collector = results[COLLECTOR_KEY]
    assert set(results) == {"small", COLLECTOR_KEY}, "the small figures are kept, the collector run added"
    assert (collector["rate"], collector["clients"]) == (100, 2)
    assert collector["sent"] == collector["acknowledged"] == collector["landed"] == 100
    assert (collector["lost"], collector["duplicates"], collector["unexpected"]) == (0, 0, 0)
    report = (tmp_path / "results.md").read_text()
    assert "## Collector under load" in report
    assert "sent 100, acknowledged 100, landed 100, lost 0, duplicates 0" in report
    assert "| figure | small |" in report, "the collector is not a scale column"


def test_the_collector_verdict_needs_the_rate_and_every_message_exactly_once() -> None:
    clean = {"rate": 1_000, "achieved_rate": 990.0, "finished_in_time": True, "lost": 0, "duplicates": 0}
    clean |= {"unexpected": 0, "rejected": 0}

    assert collector_verdict(clean) == "met"
    assert collector_verdict(clean | {"lost": 1}) == "MISSED"
    assert collector_verdict(clean | {"duplicates": 2}) == "MISSED"
    assert collector_verdict(clean | {"achieved_rate": 700.0}) == "MISSED"
    assert collector_verdict(clean | {"finished_in_time": False}) == "MISSED"
