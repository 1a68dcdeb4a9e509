"""`make bench`'s measurement, on a tiny file: both sides read the same events and the figures add up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.events_load import events_load_vs_read_json
from tests.ingestion.records import event


def test_events_load_vs_read_json_loads_every_event_both_ways(tmp_path: Path) -> None:
    events_dir = tmp_path / "events"
    events_dir.mkdir()
    (events_dir / "events-1.jsonl").write_text("".join(json.dumps(event(f"m-{i}")) + "\n" for i in range(50)))

    result = events_load_vs_read_json(events_dir, tmp_path / "work")

    assert (result["events_rows"], result["duckdb_read_json_rows"], result["events_quarantined"]) == (50, 50, 0)
    assert result["events_load_s"] > 0 and result["duckdb_read_json_s"] > 0
    ratio = result["events_load_s"] / result["duckdb_read_json_s"]
    assert result["events_load_ratio_vs_duckdb"] == pytest.approx(ratio, rel=0.05)
    assert {"events_extract_step_s", "events_normalize_step_s", "events_load_step_s"} <= set(result)


def test_the_runs_alternate_and_the_medians_are_compared(tmp_path: Path) -> None:
    events_dir = tmp_path / "events"
    events_dir.mkdir()
    (events_dir / "events-1.jsonl").write_text("".join(json.dumps(event(f"m-{i}")) + "\n" for i in range(20)))

    result = events_load_vs_read_json(events_dir, tmp_path / "work", repeats=3)

    assert len(result["events_load_runs_s"]) == len(result["duckdb_read_json_runs_s"]) == 3
    assert result["events_load_s"] == pytest.approx(sorted(result["events_load_runs_s"])[1], abs=0.01)
    assert result["events_rows"] == 20  # every load started from an empty warehouse
    assert not (tmp_path / "work" / "warmup").exists()
    with pytest.raises(ValueError, match="repeats"):
        events_load_vs_read_json(events_dir, tmp_path / "work", repeats=0)
