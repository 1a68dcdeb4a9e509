"""A Segment messageId re-used for different content is counted and quarantined, never taken for a retry.

The loader keeps the first delivery of each messageId. A retry (the same message, with a new `sentAt` and
`receivedAt`) is a harmless duplicate; the same id with other content is a client bug whose version used to be
dropped like a retry, surviving only in its landing file. Wherever the first delivery is (the same batch, an
earlier batch of the run, staged or already flushed, or the warehouse), a conflicting delivery is quarantined
with its reason, counted in `conflicts` (not in `duplicates`), and `warehouse load` says so.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from core.settings import Settings
from ingestion.landing import conflicts, reads
from ingestion.pipelines import TableCount, load
from tests.ingestion.records import event, rows, write_jsonl

REASON = "messageId already delivered with different content"


def retry(message: dict[str, Any], minute: int) -> dict[str, Any]:
    """`message` sent again: the same content, re-stamped, with its keys in another order."""
    stamped = {**message, "sentAt": f"2024-01-01T10:{minute:02d}:00Z", "receivedAt": f"2024-01-01T10:{minute:02d}:01Z"}
    return dict(reversed(stamped.items()))


def rich(message_id: str, **extra: Any) -> dict[str, Any]:
    """An event with fields of every kind the table stores: drift columns, JSON, a timestamp with milliseconds."""
    message = event(message_id, integrations={"All": True}, version=2, **extra)
    message["context"] = {**message["context"], "library": {"name": "analytics.js", "version": "2.1"}}
    return message


def events_of(summary_table: TableCount) -> tuple[int, int, int, int]:
    return summary_table.loaded, summary_table.duplicates, summary_table.conflicts, summary_table.quarantined


@pytest.fixture(params=["lines-extracted-again", "typed-table-read"])
def comparison_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The two ways a batch's repeats are hashed: their lines extracted again (a few of the batch, as usual),
    or the typed table read (many): these tests' batches are tiny, so the share decides which one runs."""
    monkeypatch.setattr(conflicts, "REEXTRACT_SHARE", 1 if request.param == "lines-extracted-again" else 1_000)
    return request.param


def test_a_reused_id_with_other_content_in_one_file_is_quarantined_and_counted_apart_from_retries(
    settings: Settings,
    comparison_path: str,
) -> None:
    first = rich("m-1")
    other = rich("m-1", event="Order Completed")
    write_jsonl(settings, "analytics/events/e-1.jsonl", [first, retry(first, 5), other, rich("m-2")])

    summary = load(["analytics"], settings)

    assert events_of(summary.table("analytics", "events")) == (2, 1, 1, 1)
    assert rows(settings, "SELECT message_id, event, _source_line FROM raw_analytics.events ORDER BY 1") == [
        ("m-1", "Product Viewed", 1),
        ("m-2", "Product Viewed", 4),
    ]
    ((line, raw, reason),) = rows(settings, "SELECT source_line, raw_line, reason FROM raw_analytics.quarantine")
    assert (line, json.loads(raw)) == (3, other)
    assert reason.startswith(REASON) and "analytics/events/e-1.jsonl line 1" in reason


@pytest.mark.parametrize("flushed", [False, True], ids=["first-delivery-staged", "first-delivery-flushed"])
def test_a_reused_id_is_found_in_an_earlier_batch_of_the_run(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    flushed: bool,
) -> None:
    """Each file its own batch; with `flushed`, each batch's rows have left as a parquet file before the next."""
    monkeypatch.setattr(reads, "BATCH_BYTES", 1)
    if flushed:
        monkeypatch.setattr(reads, "FLUSH_BYTES", 1)
    first = rich("m-1")
    write_jsonl(settings, "analytics/events/e-1.jsonl", [first, rich("m-2")])
    write_jsonl(settings, "analytics/events/e-2.jsonl", [rich("m-3"), retry(first, 7)])
    write_jsonl(settings, "analytics/events/e-3.jsonl", [rich("m-1", userId="u-9"), rich("m-2", properties={})])

    summary = load(["analytics"], settings)

    assert events_of(summary.table("analytics", "events")) == (3, 1, 2, 2)
    assert rows(settings, "SELECT source_file, source_line FROM raw_analytics.quarantine ORDER BY 2") == [
        ("analytics/events/e-3.jsonl", 1),
        ("analytics/events/e-3.jsonl", 2),
    ]
    assert rows(settings, "SELECT message_id, user_id FROM raw_analytics.events ORDER BY 1") == [
        ("m-1", None),
        ("m-2", None),
        ("m-3", None),
    ]


def test_a_reused_id_of_a_message_loaded_by_an_earlier_run_is_quarantined(
    settings: Settings,
    comparison_path: str,
) -> None:
    """The first delivery is read back from the warehouse: retries of every field kind still match it."""
    first, second = rich("m-1"), rich("m-2", properties={"sku": "T-2", "price": 9.5, "tags": ["a", "b"]})
    write_jsonl(settings, "analytics/events/e-1.jsonl", [first, second])
    load(["analytics"], settings)
    changed = rich("m-2", properties={"sku": "T-2", "price": 9.99, "tags": ["a", "b"]})
    write_jsonl(settings, "analytics/events/e-2.jsonl", [retry(second, 9), retry(first, 9), changed, rich("m-3")])

    summary = load(["analytics"], settings)

    assert events_of(summary.table("analytics", "events")) == (1, 2, 1, 1)
    ((line, reason),) = rows(settings, "SELECT source_line, reason FROM raw_analytics.quarantine")
    assert line == 3 and reason.startswith(REASON) and "analytics/events/e-1.jsonl line 2" in reason
    assert rows(settings, "SELECT properties->>'price' FROM raw_analytics.events WHERE message_id = 'm-2'") == [
        ("9.5",)
    ]


def test_fields_kept_in_overflow_fields_are_content_too(settings: Settings, comparison_path: str) -> None:
    """A field whose name cannot be a column lives in `_overflow_fields`: its value tells versions apart."""
    first = rich("m-1", **{"": "a"})
    write_jsonl(settings, "analytics/events/e-1.jsonl", [first, retry(first, 3), rich("m-2")])
    load(["analytics"], settings)
    write_jsonl(settings, "analytics/events/e-2.jsonl", [retry(first, 4), rich("m-1", **{"": "b"}), rich("m-3")])

    summary = load(["analytics"], settings)

    assert events_of(summary.table("analytics", "events")) == (1, 1, 1, 1)
    assert rows(settings, "SELECT source_file, source_line FROM raw_analytics.quarantine") == [
        ("analytics/events/e-2.jsonl", 2)
    ]


def test_warehouse_load_reports_the_conflicts(settings: Settings) -> None:
    write_jsonl(settings, "analytics/events/e-1.jsonl", [event("m-1"), event("m-1", event="Other"), event("m-2")])

    result = CliRunner().invoke(app, ["load", "--system", "analytics"], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert "raw_analytics.events: 1 delivery re-used an id already delivered with different content" in result.output
