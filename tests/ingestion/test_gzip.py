"""Gzip-compressed landing files (`*.jsonl.gz`, `*.json.gz`): read like plain ones, grown and damaged ones too."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any

from core.settings import Settings
from ingestion.landing import gunzip, landing_files
from ingestion.pipelines import load
from tests.ingestion.records import contact, event, rows

EVENTS = "analytics/events/events-b0000-p0000.jsonl.gz"


def jsonl(records: list[Any]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def write_gz(s: Settings, relative: str, data: bytes) -> Path:
    path = s.landing_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data))
    return path


def test_gzipped_lines_load_like_plain_ones_with_their_line_numbers(settings: Settings) -> None:
    write_gz(settings, EVENTS, jsonl([event("m-1"), event("m-2")]) + b'{"messageId": broken\n')

    summary = load(["analytics"], settings)

    assert summary.table("analytics", "events").loaded == 2
    assert rows(settings, "SELECT message_id, _source_file, _source_line FROM raw_analytics.events ORDER BY 1") == [
        ("m-1", EVENTS, 1),
        ("m-2", EVENTS, 2),
    ]
    assert rows(settings, "SELECT source_line, reason FROM raw_analytics.quarantine") == [(3, "not valid JSON")]


def test_an_unchanged_gzip_file_is_not_read_again(settings: Settings) -> None:
    write_gz(settings, EVENTS, jsonl([event("m-1")]))
    load(["analytics"], settings)

    summary = load(["analytics"], settings)

    assert summary.table("analytics", "events").loaded == 0
    assert summary.table("analytics", "events").duplicates == 0


def test_a_gzip_file_that_grows_is_read_from_the_line_it_stopped_at(settings: Settings) -> None:
    """A writer appending a gzip member: the second run reads only the new member's lines, numbered on."""
    path = write_gz(settings, EVENTS, jsonl([event("m-1"), event("m-2")]))
    load(["analytics"], settings)
    with path.open("ab") as f:
        f.write(gzip.compress(jsonl([event("m-3")])))

    summary = load(["analytics"], settings)

    assert summary.table("analytics", "events").loaded == 1
    assert summary.table("analytics", "events").duplicates == 0
    assert rows(settings, "SELECT message_id, _source_line FROM raw_analytics.events ORDER BY 1") == [
        ("m-1", 1),
        ("m-2", 2),
        ("m-3", 3),
    ]


def test_a_gzip_file_still_being_written_holds_its_incomplete_line_back(settings: Settings) -> None:
    data = jsonl([event("m-1"), event("m-2")])
    cut = len(jsonl([event("m-1")])) + 10  # inside line 2
    deflate = zlib.compressobj(1, zlib.DEFLATED, 31)
    head = deflate.compress(data[:cut]) + deflate.flush(zlib.Z_SYNC_FLUSH)  # no end of stream yet
    path = settings.landing_dir / EVENTS
    path.parent.mkdir(parents=True)
    path.write_bytes(head)

    first = load(["analytics"], settings)
    path.write_bytes(head + deflate.compress(data[cut:]) + deflate.flush())
    second = load(["analytics"], settings)

    assert (first.table("analytics", "events").loaded, first.table("analytics", "events").quarantined) == (1, 0)
    assert second.table("analytics", "events").loaded == 1
    assert rows(settings, "SELECT message_id, _source_line FROM raw_analytics.events ORDER BY 1") == [
        ("m-1", 1),
        ("m-2", 2),
    ]


def test_a_damaged_gzip_file_is_read_up_to_the_damage_and_the_damage_quarantined(
    settings: Settings,
) -> None:
    damaged = gzip.compress(jsonl([event("m-1"), event("m-2")])) + b"\x00not gzip: a copy that went wrong"
    path = settings.landing_dir / EVENTS
    path.parent.mkdir(parents=True)
    path.write_bytes(damaged)

    summary = load(["analytics"], settings)
    again = load(["analytics"], settings)

    assert summary.table("analytics", "events").loaded == 2
    ((source_file, line, reason),) = rows(
        settings, "SELECT source_file, source_line, reason FROM raw_analytics.quarantine"
    )
    assert (source_file, line) == (EVENTS, 3)
    assert reason.startswith("not a valid gzip stream")
    assert again.table("analytics", "events").loaded == 0
    assert rows(settings, "SELECT count(*) FROM raw_analytics.quarantine") == [(1,)]


def test_bytes_that_are_not_gzip_are_quarantined_not_skipped(settings: Settings) -> None:
    path = settings.landing_dir / EVENTS
    path.parent.mkdir(parents=True)
    path.write_bytes(jsonl([event("m-1")]))  # named .gz, but plain text

    summary = load(["analytics"], settings)

    # no line has loaded, so there is no events table yet: the summary still reports the quarantined line
    assert (summary.table("analytics", "events").quarantined, summary.table("analytics", "events").total) == (1, 0)
    ((line, raw, reason),) = rows(settings, "SELECT source_line, raw_line, reason FROM raw_analytics.quarantine")
    assert (line, raw) == (1, "")
    assert reason.startswith("not a valid gzip stream")


def test_a_gzipped_json_document_is_read(settings: Settings) -> None:
    document = json.dumps([contact("1", "2024-01-02T00:00:00Z", "a@x")]).encode()
    write_gz(settings, "crm/contacts/export.json.gz", document)

    load(["crm"], settings)

    assert rows(settings, "SELECT id, email FROM raw_crm.contacts") == [("1", "a@x")]


def test_landing_files_are_jsonl_and_json_gzipped_or_not(tmp_path: Path) -> None:
    for name in ("a.jsonl", "b.jsonl.gz", "c.json", "d.json.gz", "e.gz", "f.csv.gz", "g.txt"):
        (tmp_path / name).write_bytes(b"")

    assert [p.name for p in landing_files(tmp_path)] == ["a.jsonl", "b.jsonl.gz", "c.json", "d.json.gz"]


def test_gunzip_reads_concatenated_members_and_ignores_zero_padding() -> None:
    result = gunzip(gzip.compress(b"a\n") + gzip.compress(b"b\n") + bytes(512), 1024)

    assert (result.data, result.damage, result.ended_early) == (b"a\nb\n", None, False)
