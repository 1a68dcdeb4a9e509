"""The whole-process events comparison: medians and ratios of wall and CPU, and the reference process itself."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from bench.cli_load import Timed, fresh_landing, ratios, rows_loaded, timed


def test_each_side_is_its_median_round_and_the_ratios_divide_the_medians() -> None:
    load = [Timed(14.0, 20.0, ""), Timed(30.0, 21.0, ""), Timed(13.0, 19.0, "")]
    reference = [Timed(5.0, 9.0, ""), Timed(6.0, 10.0, ""), Timed(5.5, 8.0, "")]

    figures = ratios(load, reference)

    assert (figures["events_load_cli_s"], figures["events_load_cli_cpu_s"]) == (14.0, 20.0)
    assert (figures["duckdb_read_json_process_s"], figures["duckdb_read_json_process_cpu_s"]) == (5.5, 9.0)
    assert figures["events_load_cli_ratio_vs_duckdb"] == pytest.approx(14.0 / 5.5)
    assert figures["events_load_cli_cpu_ratio_vs_duckdb"] == pytest.approx(20.0 / 9.0)
    assert figures["cli_wall_by_round_s"] == [14.0, 30.0, 13.0]


def test_the_rows_the_load_reports_are_read_from_its_last_lines() -> None:
    output = "Loaded (rows this run ...)\n│ raw_analytics.events │ 961,324 │\n961,324 rows loaded, 0 lines quarantined;"
    assert rows_loaded(output) == 961_324
    assert rows_loaded("Not loaded: the warehouse is busy") is None


def test_a_fresh_landing_dir_holds_the_events_files_only(tmp_path: Path) -> None:
    events = tmp_path / "source"
    events.mkdir()
    (events / "events-b0000-p0000.jsonl").write_text("{}\n")
    (events / "notes.txt").write_text("not landing data")

    landing = fresh_landing(events, tmp_path / "round")

    assert [p.name for p in (landing / "analytics" / "events").iterdir()] == ["events-b0000-p0000.jsonl"]


def test_the_reference_process_reads_every_line_into_a_table_and_its_cpu_is_counted(tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    lines = [json.dumps({"messageId": str(n), "type": "track", "properties": {"n": n}}) for n in range(500)]
    (events / "events-b0000-p0000.jsonl").write_text("\n".join(lines[:300]) + "\n")
    (events / "events-b0000-p0001.jsonl").write_text("\n".join(lines[300:]) + "\n")
    database = tmp_path / "read_json.duckdb"
    command = [sys.executable, "-m", "bench.cli_load", "read-json", str(events), str(database), "1GB", "1"]

    result = timed(command, dict(os.environ), Path(__file__).resolve().parents[2])

    assert int(result.stdout.split()[-1]) == 500
    assert result.wall_s > 0 and result.cpu_s > 0
