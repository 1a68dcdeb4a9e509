"""Hostile landing files (issue 23): no single line, file name, link or gzip stream stops every later load.

A landing file is read again on every run until it loads, so a line that crashes the reader crashes every run of
its system forever. Each case below is a file a real deployment can receive; each must load what can be loaded,
keep the rest (a quarantine row with its reason, or a JSON column), and say so in the load's report.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings, get_settings
from ingestion import landing
from ingestion.landing import drift
from ingestion.pipelines import load
from tests.ingestion.records import columns, contact, event, rows, write_jsonl

EVENTS = "analytics/events/events-b0000-p0000.jsonl"
CONTACTS = "crm/contacts/contacts-b0000-p0000.jsonl"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
OVERFLOW_COLUMN = "_overflow_fields"
"""Where a record keeps the fields that cannot be columns of their own (contract: docs/ingestion.md)."""


def jsonl(records: list[Any]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def write_bytes(s: Settings, relative: str, data: bytes) -> Path:
    path = s.landing_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def overflow(s: Settings, table: str, key: str) -> dict[str, Any]:
    """key -> the fields its row keeps in the overflow column, parsed."""
    found = rows(s, f'SELECT {key}, "{OVERFLOW_COLUMN}" FROM {table} ORDER BY 1')
    return {k: json.loads(v) if v is not None else None for k, v in found}


# -- field names that cannot be columns ------------------------------------------------------------------------


def test_an_empty_or_blank_field_name_keeps_the_record_and_the_value(settings: Settings) -> None:
    """dlt's naming raises on an empty name: the whole system stopped. Now the field is kept as JSON."""
    write_jsonl(
        settings,
        EVENTS,
        [event("m-1"), event("m-2", **{"": "empty"}), event("m-3", **{"   ": 3}), event("m-4", context={"": 1})],
    )
    blank_property = contact("3", "2024-01-02T00:00:00Z", "c@x")
    blank_property["properties"].update({"": "x", " ": "y"})
    write_jsonl(settings, CONTACTS, [contact("1", "2024-01-02T00:00:00Z", "a@x"), blank_property])

    summary = load(["analytics", "crm"], settings)

    assert summary.rows_quarantined == 0
    assert overflow(settings, "raw_analytics.events", "message_id") == {
        "m-1": None,
        "m-2": {"/": "empty"},
        "m-3": {"/   ": 3},
        "m-4": {"/context/": 1},
    }
    assert overflow(settings, "raw_crm.contacts", "id") == {
        "1": None,
        "3": {"/properties/": "x", "/properties/ ": "y"},
    }
    assert any("raw_analytics.events" in w and OVERFLOW_COLUMN in w for w in summary.warnings)


def test_a_field_name_with_a_nul_character_keeps_the_record_and_the_value(settings: Settings) -> None:
    """The reader's SQL literal was cut at the NUL: a parser error on every run."""
    write_jsonl(settings, EVENTS, [event("m-1", **{"a\u0000b": 1}), event("m-2", plain=2)])

    summary = load(["analytics"], settings)

    assert (summary.table("analytics", "events").loaded, summary.rows_quarantined) == (2, 0)
    assert overflow(settings, "raw_analytics.events", "message_id") == {"m-1": {"/a\u0000b": 1}, "m-2": None}
    assert rows(settings, "SELECT message_id, plain FROM raw_analytics.events ORDER BY 1") == [
        ("m-1", None),
        ("m-2", "2"),
    ]


# -- schema drift ----------------------------------------------------------------------------------------------


def test_two_thousand_new_fields_load_with_capped_new_columns_and_the_rest_as_json(
    settings: Settings,
) -> None:
    """2,000 messages with distinct keys made the reader's DuckDB run out of memory on every run."""
    write_jsonl(settings, EVENTS, [event(f"m-{i:04d}", **{f"k{i:04d}": i}) for i in range(2000)])

    summary = load(["analytics"], settings)

    assert (summary.table("analytics", "events").loaded, summary.rows_quarantined) == (2000, 0)
    drift = sorted(name for name in columns(settings, "raw_analytics", "events") if name.startswith("k"))
    assert len(drift) == landing.MAX_NEW_COLUMNS_PER_RUN
    kept = dict(rows(settings, f"SELECT message_id, coalesce({', '.join(drift)}) FROM raw_analytics.events"))
    overflowed = overflow(settings, "raw_analytics.events", "message_id")
    for i in range(2000):
        key = f"k{i:04d}"
        in_column = kept[f"m-{i:04d}"]
        in_json = overflowed[f"m-{i:04d}"]
        assert (in_column, in_json) in ((str(i), None), (None, {f"/{key}": i})), key  # each value kept once
    assert any("1,800 new fields" in w and "raw_analytics.events" in w for w in summary.warnings)


def test_drift_columns_stop_growing_at_the_table_cap(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(drift, "MAX_DRIFT_COLUMNS", 5)
    write_jsonl(settings, "analytics/events/e-1.jsonl", [event("m-1", a=1, b=2, c=3)])
    load(["analytics"], settings)
    write_jsonl(settings, "analytics/events/e-2.jsonl", [event("m-2", a=4, d=5, e=6, f=7, g=8)])

    summary = load(["analytics"], settings)

    assert {"a", "b", "c", "d", "e"} <= set(columns(settings, "raw_analytics", "events"))
    assert not {"f", "g"} & set(columns(settings, "raw_analytics", "events"))
    assert rows(
        settings, f"SELECT a, d, e, \"{OVERFLOW_COLUMN}\" FROM raw_analytics.events WHERE message_id = 'm-2'"
    ) == [("4", "5", "6", '{"/f":7,"/g":8}')]
    assert any("2 new fields" in w for w in summary.warnings)


def test_drift_keys_that_normalize_to_one_name_keep_both_values_in_stable_columns(
    settings: Settings,
) -> None:
    """`Foo Bar` and `foo_bar` both become `foo_bar`: one of the two values was lost without a word."""
    write_jsonl(settings, "analytics/events/e-1.jsonl", [event("m-1", **{"Foo Bar": 1, "foo_bar": 2})])
    load(["analytics"], settings)
    write_jsonl(
        settings, "analytics/events/e-2.jsonl", [event("m-2", **{"foo_bar": 3}), event("m-3", **{"Foo Bar": 4})]
    )

    load(["analytics"], settings)

    assert rows(settings, "SELECT message_id, foo_bar, foo_bar_2 FROM raw_analytics.events ORDER BY 1") == [
        ("m-1", "1", "2"),  # "Foo Bar" sorts first: it got the plain name, on the first run and every later one
        ("m-2", None, "3"),
        ("m-3", "4", None),
    ]


# -- file names, links and other files that are not landing files -----------------------------------------------


def test_a_file_name_that_is_not_utf8_loads_under_its_escaped_name(settings: Settings) -> None:
    directory = settings.landing_dir / "analytics" / "events"
    directory.mkdir(parents=True)
    (directory / os.fsdecode(b"events-\xff.jsonl")).write_bytes(jsonl([event("m-1")]))
    write_bytes(settings, EVENTS, jsonl([event("m-2")]))

    load(["analytics"], settings)
    again = load(["analytics"], settings)

    assert rows(settings, "SELECT message_id, _source_file FROM raw_analytics.events ORDER BY 1") == [
        ("m-1", "analytics/events/events-\\xff.jsonl"),
        ("m-2", EVENTS),
    ]
    assert again.table("analytics", "events").loaded == 0  # its progress is remembered like any other file's


def test_links_and_paths_outside_the_landing_directory_are_not_read_and_are_reported(
    settings: Settings,
    tmp_path: Path,
) -> None:
    """`ln -s /etc/passwd landing/crm/contacts/x.jsonl` put the file's lines into raw_crm.quarantine."""
    secret = tmp_path / "outside" / "secret.jsonl"
    secret.parent.mkdir()
    secret.write_bytes(jsonl([contact("secret", "2024-01-02T00:00:00Z", "secret@x")]) + b"root:x:0:0\n")
    inside = write_bytes(settings, CONTACTS, jsonl([contact("1", "2024-01-02T00:00:00Z", "a@x")]))
    (inside.parent / "x.jsonl").symlink_to(secret)
    (inside.parent / "y.jsonl").symlink_to(inside)  # a link, even to a landing file, is not a landing file
    (settings.landing_dir / "shop").mkdir()
    (settings.landing_dir / "shop" / "customers").symlink_to(secret.parent, target_is_directory=True)
    (secret.parent / "c.jsonl").write_bytes(b'{"id": 1, "email": "outside@x"}\n')

    summary = load(["crm", "shop"], settings)
    again = load(["crm", "shop"], settings)

    assert rows(settings, "SELECT id FROM raw_crm.contacts") == [("1",)]
    assert rows(settings, "SELECT count(*) FROM raw_shop.customers") == [(0,)]
    refused = rows(settings, "SELECT source_file, source_line, raw_line, reason FROM raw_crm.quarantine ORDER BY 1")
    assert [(f, n, raw) for f, n, raw, _ in refused] == [
        ("crm/contacts/x.jsonl", 0, ""),
        ("crm/contacts/y.jsonl", 0, ""),
    ]
    assert all("symbolic link" in reason and "not read" in reason for *_, reason in refused)
    assert not rows(
        settings, "SELECT * FROM raw_crm.quarantine WHERE raw_line LIKE '%root%' OR raw_line LIKE '%secret%'"
    )
    assert any("shop/customers" in w and "outside the landing directory" in w for w in summary.warnings)
    assert sum("symbolic link" in w for w in summary.warnings) == 2
    assert again.rows_quarantined == 0, "quarantined once"
    assert sum("symbolic link" in w for w in again.warnings) == 2, "reported on every run while they are there"


def test_a_fifo_or_directory_named_like_a_landing_file_is_reported_not_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.jsonl")  # opening it would wait forever for a writer
    (tmp_path / "folder.jsonl").mkdir()
    (tmp_path / "ok.jsonl").write_bytes(b"")

    scan = landing.scan_landing(tmp_path, tmp_path)

    assert [p.name for p in scan.files] == ["ok.jsonl"]
    assert [(p.name, "not a regular file" in why) for p, why in scan.refused] == [
        ("folder.jsonl", True),
        ("pipe.jsonl", True),
    ]


# -- byte order marks --------------------------------------------------------------------------------------------


def test_a_utf8_byte_order_mark_at_the_start_of_a_file_is_not_part_of_the_first_record(
    settings: Settings,
) -> None:
    bom = b"\xef\xbb\xbf"
    write_bytes(settings, EVENTS, bom + jsonl([event("m-1"), event("m-2")]))
    write_bytes(settings, "analytics/events/e.jsonl.gz", gzip.compress(bom + jsonl([event("m-3")])))
    write_bytes(
        settings, "crm/contacts/export.json", bom + json.dumps([contact("1", "2024-01-02T00:00:00Z", "a@x")]).encode()
    )

    summary = load(["analytics", "crm"], settings)

    assert summary.rows_quarantined == 0
    assert rows(settings, "SELECT message_id, _source_line FROM raw_analytics.events ORDER BY 1") == [
        ("m-1", 1),
        ("m-2", 2),
        ("m-3", 1),
    ]
    assert rows(settings, "SELECT id FROM raw_crm.contacts") == [("1",)]
    with (settings.landing_dir / EVENTS).open("ab") as f:  # the file grows: read on from after the BOM's bytes
        f.write(jsonl([event("m-4")]))
    assert load(["analytics"], settings).table("analytics", "events").loaded == 1


# -- documents (one JSON value per file) ------------------------------------------------------------------------

HOSTILE_DOCUMENTS = {
    "nested deeper than Python parses": (b"[" * 100_000 + b"]" * 100_000, "not a JSON object"),
    "a lone surrogate escaped in a string": (b'[{"messageId": "m-s", "event": "\\ud800"}]', "not valid JSON"),
    "a Segment batch whose context is no object": (
        json.dumps({"batch": [event("m-b")], "context": "web"}).encode(),
        "an envelope not read: the batch's context must be a JSON object",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE_DOCUMENTS))
def test_a_hostile_json_document_is_quarantined_whole_and_the_rest_loads(
    settings: Settings,
    case: str,
) -> None:
    """Python's parser raised RecursionError, its encoder UnicodeEncodeError: the extract, and every later one, died."""
    document, reason = HOSTILE_DOCUMENTS[case]
    write_bytes(settings, "analytics/events/hostile.json", document)
    write_bytes(settings, EVENTS, jsonl([event("m-1")]))

    summary = load(["analytics"], settings)

    assert rows(settings, "SELECT message_id FROM raw_analytics.events") == [("m-1",)]
    assert rows(settings, "SELECT source_file, source_line, reason FROM raw_analytics.quarantine") == [
        ("analytics/events/hostile.json", 1, reason)
    ]
    assert summary.rows_quarantined == 1


# -- gzip: held back, damaged, bombs ----------------------------------------------------------------------------


def test_a_truncated_gzip_file_is_reported_as_held_back_on_every_run(settings: Settings) -> None:
    data = jsonl([event(f"m-{i}", note=hashlib.sha256(b"%d" % i).hexdigest()) for i in range(50)])
    whole = gzip.compress(data)
    write_bytes(settings, EVENTS + ".gz", whole[: len(whole) // 2])

    first = load(["analytics"], settings)
    second = load(["analytics"], settings)

    loaded = first.table("analytics", "events").loaded
    assert 0 < loaded < 50
    for summary in (first, second):
        (warning,) = [w for w in summary.warnings if EVENTS + ".gz" in w]
        assert "held back" in warning and f"line {loaded + 1}" in warning
    assert second.table("analytics", "events").loaded == 0


def test_a_damaged_gzip_member_is_quarantined_line_by_line_with_its_text(settings: Settings) -> None:
    """Corrupt bytes inside a member: zlib notices at its end (CRC) or somewhere later than the damage, and
    lines decoded before that may already be altered (here from line ~10 on, still valid JSON). The intact
    member before it loads; every line decoded from the damaged one is quarantined with its text."""
    intact = gzip.compress(jsonl([event(f"a-{i}") for i in range(3)]))
    member = bytearray(gzip.compress(jsonl([event(f"b-{i:03d}") for i in range(200)])))
    middle = len(member) // 2
    member[middle : middle + 8] = bytes(8)
    write_bytes(settings, EVENTS + ".gz", intact + bytes(member))

    summary = load(["analytics"], settings)
    again = load(["analytics"], settings)

    assert rows(settings, "SELECT message_id FROM raw_analytics.events ORDER BY 1") == [("a-0",), ("a-1",), ("a-2",)]
    quarantined = rows(settings, "SELECT source_line, raw_line, reason FROM raw_analytics.quarantine ORDER BY 1")
    assert len(quarantined) >= 100, "the lines of the damaged member, each kept"
    assert [line for line, _, _ in quarantined] == list(range(4, 4 + len(quarantined)))
    assert all(raw for _, raw, _ in quarantined[:-1]), "their text is kept"
    assert quarantined[0][1] == json.dumps(event("b-000"))
    assert all("damaged gzip" in reason for _, _, reason in quarantined)
    assert summary.rows_quarantined == len(quarantined)
    assert again.rows_quarantined == 0
    assert any(EVENTS + ".gz" in w and "damaged" in w for w in summary.warnings)


def test_gunzip_keeps_what_a_damaged_member_decoded_before_zlib_gave_up() -> None:
    """zlib raises for a whole input step (1 MiB): what the step decoded before the error was lost with it."""
    data = b"".join(
        b'{"n": %d, "pad": "%s"}\n' % (i, hashlib.sha256(b"%d" % i).hexdigest().encode()) for i in range(20_000)
    )
    member = bytearray(gzip.compress(data))
    member[len(member) // 2 : len(member) // 2 + 16] = bytes(16)  # zlib notices at the CRC, at the end

    result = landing.gunzip(bytes(member), 1 << 30)

    assert result.damage is not None and "incorrect data check" in result.damage
    assert result.data == b"", "nothing of a damaged member is trusted"
    assert len(result.suspect) > len(data) * 0.9, "but its text is kept, to be quarantined"
    assert data.startswith(result.suspect[: len(data) // 3])


def test_a_gzip_file_that_expands_past_the_cap_is_refused_with_a_reason(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LANDING_MAX_FILE_BYTES", str(1024 * 1024))
    capped = get_settings()
    line = json.dumps(event("m-bomb")).encode() + b"\n" + b" " * 2000 + b"\n"  # a record and a blank line
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = deflate.compress(line * 1500) + deflate.flush()
    assert len(bomb) * 100 < len(line) * 1500  # 3.4 MB of JSON text in a few KB
    write_bytes(capped, "analytics/events/bomb.jsonl.gz", bomb)
    write_bytes(capped, "analytics/events/big.jsonl", line * 1000)  # 2.3 MB of plain text: the same cap
    write_bytes(capped, EVENTS, jsonl([event("m-1")]))

    summary = load(["analytics"], capped)
    again = load(["analytics"], capped)

    assert rows(capped, "SELECT message_id FROM raw_analytics.events") == [("m-1",)]
    refused = rows(capped, "SELECT source_file, source_line, raw_line, reason FROM raw_analytics.quarantine ORDER BY 1")
    assert [(f, n, raw) for f, n, raw, _ in refused] == [
        ("analytics/events/big.jsonl", 1, ""),
        ("analytics/events/bomb.jsonl.gz", 1, ""),
    ]
    assert all("LANDING_MAX_FILE_BYTES" in reason and "not read" in reason for *_, reason in refused)
    assert sum("LANDING_MAX_FILE_BYTES" in w for w in summary.warnings) == 2
    assert again.rows_quarantined == 0
    assert sum("LANDING_MAX_FILE_BYTES" in w for w in again.warnings) == 2, "still reported while refused"

    monkeypatch.setenv("LANDING_MAX_FILE_BYTES", str(8 * 1024 * 1024))  # the limit raised: read them now
    raised = load(["analytics"], get_settings())

    assert raised.table("analytics", "events").loaded == 1  # m-bomb, once: the copies are re-deliveries
    assert raised.table("analytics", "events").duplicates == 2499


def test_gunzip_never_holds_more_than_the_cap() -> None:
    result = landing.gunzip(gzip.compress(b"\n" * (50 * 1024 * 1024), 9), 1024 * 1024)

    assert result.too_big and len(result.data) <= 1024 * 1024 + 1


# -- the warehouse itself ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["read_only_directory", "directory_is_a_file"])
def test_a_warehouse_that_cannot_be_written_is_a_one_line_message_not_a_traceback(
    settings: Settings,
    tmp_path: Path,
    kind: str,
) -> None:
    write_bytes(settings, CONTACTS, jsonl([contact("1", "2024-01-02T00:00:00Z", "a@x")]))
    target = tmp_path / "locked"
    if kind == "read_only_directory":
        target.mkdir()
        target.chmod(0o555)
    else:
        target.write_text("a file where the warehouse's folder should be")
    env = {**os.environ, "WAREHOUSE_PATH": str(target / "warehouse.duckdb"), "DLT_PIPELINES_DIR": str(target / ".dlt")}
    cli = "import sys; from cli.main import app; sys.argv[0] = 'warehouse'; app()"
    command = [sys.executable, "-c", cli, "load", "--system", "crm"]
    if os.geteuid() == 0:  # root writes anywhere: drop the capabilities that let it, as a normal user runs it
        command = [shutil.which("setpriv") or "setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]

    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT)

    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 1
    assert "Traceback" not in output and len(output.splitlines()) <= 3, output
    assert str(target) in output and "cannot be written" in output, output
