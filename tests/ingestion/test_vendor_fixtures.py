"""The vendors' own payload shapes (tests/fixtures/, origins in its README) go through the real sources.

Every object of a fixture ends in its raw table or in the system's quarantine with a reason: nothing is lost.
Documented payloads are expected in the raw tables; a quarantine row names what the reader refused.
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import requests

from collector import make_server
from core.settings import Settings, get_settings
from ingestion.pipelines import load, make_pipeline
from ingestion.sources.crm import crm_source
from tests.fakes.server import FakeApiServer, RecordedRequest, Reply
from tests.ingestion.records import columns, rows

FIXTURES = Path(__file__).parents[1] / "fixtures"
HUBSPOT_TOKEN = "pat-fixture-token"
WRITE_KEY = "fixture-write-key"
SEGMENT_SINGLE_MESSAGES = ("identify", "track", "page", "screen", "group", "alias")


def fixture(vendor: str, name: str) -> Any:
    return json.loads((FIXTURES / vendor / name).read_text(encoding="utf-8"))


def write_lines(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def assert_nothing_lost(settings: Settings, system: str, table: str, key: str, ids: set[str]) -> None:
    """Each id is in the raw table, or in the quarantine with a reason; then: none of them was quarantined."""
    loaded = {str(i) for (i,) in rows(settings, f"SELECT {key} FROM raw_{system}.{table}")}
    refused = rows(settings, f"SELECT raw_line, reason FROM raw_{system}.quarantine")
    quarantined = {i for i in ids for line, reason in refused if reason and i in (line or "")}
    assert ids - loaded - quarantined == set(), "lost without a trace"
    assert ids - loaded == set(), f"documented payloads quarantined: {[reason for _, reason in refused]}"


# ------------------------------------------------------------------------------------------------ HubSpot


class DocumentedHubSpot(FakeApiServer):
    """Answers the crm source's requests with the fixture documents, verbatim: list pages (linked by
    `paging.next.after`), the archived list, and a search page."""

    def handle(self, request: RecordedRequest) -> Reply:
        if request.headers.get("authorization") != f"Bearer {HUBSPOT_TOKEN}":
            return Reply(401, {"status": "error", "category": "INVALID_AUTHENTICATION"})
        if request.method == "POST" and request.path == "/crm/v3/objects/contacts/search":
            return Reply(200, fixture("hubspot", "contacts_search.json"))
        if request.method == "GET" and request.path == "/crm/v3/objects/contacts":
            if request.param("archived") == "true":
                return Reply(200, fixture("hubspot", "contacts_archived.json"))
            first = fixture("hubspot", "contacts_page_1.json")
            if request.param("after") == first["paging"]["next"]["after"]:
                return Reply(200, fixture("hubspot", "contacts_page_2.json"))
            return Reply(200, first)
        return Reply(404, {"status": "error", "message": f"no route for {request.method} {request.path}"})


def hubspot_ids(*names: str) -> set[str]:
    return {c["id"] for name in names for c in fixture("hubspot", name)["results"]}


def run_crm_api(monkeypatch: pytest.MonkeyPatch, api: DocumentedHubSpot) -> None:
    monkeypatch.setenv("SOURCES__CRM__BASE_URL", api.base_url)
    monkeypatch.setenv("SOURCES__CRM__TOKEN", HUBSPOT_TOKEN)
    make_pipeline("crm", get_settings()).run(crm_source(transport="api"), loader_file_format="parquet")


def test_hubspot_documented_list_pages_load_every_contact_through_the_api(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with DocumentedHubSpot() as api:
        run_crm_api(monkeypatch, api)

    assert len([r for r in api.requests if r.param("after")]) == 1, "page 2 is reached through paging.next.after"
    listed = hubspot_ids("contacts_page_1.json", "contacts_page_2.json", "contacts_archived.json")
    assert_nothing_lost(settings, "crm", "contacts", "id", listed)
    assert rows(settings, "SELECT id, archived, email, firstname FROM raw_crm.contacts ORDER BY id") == [
        ("1049", True, "departed@example.com", "Dee"),
        ("1051", False, "Grace.Hopper@Example.com", "Grace"),
        ("1052", False, "olafur@example.is", "Ólafur"),
        ("1053", False, None, None),
        ("1054", False, "  zoe.dupont+news@example.be ", "Zoë"),
    ]


def test_hubspot_documented_search_page_merges_changes_on_the_next_api_run(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with DocumentedHubSpot() as api:
        run_crm_api(monkeypatch, api)
        api.requests.clear()
        run_crm_api(monkeypatch, api)

    assert [r.method for r in api.requests][:1] == ["POST"], "the second run searches from its cursor"
    every = hubspot_ids(
        "contacts_page_1.json", "contacts_page_2.json", "contacts_archived.json", "contacts_search.json"
    )
    assert_nothing_lost(settings, "crm", "contacts", "id", every)
    changed = "SELECT id, email, date_of_birth FROM raw_crm.contacts WHERE id IN ('1052', '1060') ORDER BY id"
    assert rows(settings, changed) == [
        ("1052", "olafur.jonsson@example.is", "1990-02-29"),
        ("1060", "ana.souza@example.com.br.", "0000-00-00"),
    ]


def test_hubspot_documented_contacts_as_landing_lines_load_every_contact(settings: Settings) -> None:
    names = ("contacts_archived.json", "contacts_page_1.json", "contacts_page_2.json", "contacts_search.json")
    contacts = [c for name in names for c in fixture("hubspot", name)["results"]]
    write_lines(settings.landing_dir / "crm" / "contacts" / "hubspot-export.jsonl", contacts)

    summary = load(["crm"], settings)

    assert_nothing_lost(settings, "crm", "contacts", "id", {c["id"] for c in contacts})
    assert summary.rows_quarantined == 0
    assert rows(settings, "SELECT count(*) FROM raw_crm.contacts") == [(len({c["id"] for c in contacts}),)]
    assert rows(settings, "SELECT email FROM raw_crm.contacts WHERE id = '1052'") == [("olafur.jonsson@example.is",)]


def test_hubspot_list_and_search_responses_saved_as_landing_files_load_every_contact(
    settings: Settings,
) -> None:
    """A list page has `paging` beside `results`, a search response `total`: envelope metadata, not a record."""
    folder = settings.landing_dir / "crm" / "contacts"
    folder.mkdir(parents=True)
    for name in ("contacts_page_1.json", "contacts_search.json"):
        shutil.copy(FIXTURES / "hubspot" / name, folder / name)

    summary = load(["crm"], settings)

    assert_nothing_lost(settings, "crm", "contacts", "id", hubspot_ids("contacts_page_1.json", "contacts_search.json"))
    assert summary.rows_quarantined == 0
    assert rows(settings, "SELECT email FROM raw_crm.contacts WHERE id = '1052'") == [("olafur.jonsson@example.is",)]
    assert "paging" not in {c.split("__")[0] for c in columns(settings, "raw_crm", "contacts")}


# ------------------------------------------------------------------------------------------------ Segment


def segment_messages() -> list[dict[str, Any]]:
    return [fixture("segment", f"{kind}.json") for kind in SEGMENT_SINGLE_MESSAGES]


def test_segment_spec_messages_as_landing_lines_load_every_message(settings: Settings) -> None:
    messages = segment_messages()
    write_lines(settings.landing_dir / "analytics" / "events" / "segment-export.jsonl", messages)

    summary = load(["analytics"], settings)

    assert_nothing_lost(settings, "analytics", "events", "message_id", {m["messageId"] for m in messages})
    assert summary.rows_quarantined == 0
    assert rows(settings, "SELECT type, user_id, anonymous_id FROM raw_analytics.events ORDER BY timestamp") == [
        (m["type"], m.get("userId"), m.get("anonymousId"))
        for m in sorted(messages, key=lambda m: m["timestamp"])
    ]


def test_segment_spec_messages_sent_to_the_collector_load_every_message(settings: Settings) -> None:
    """Each single message to its own endpoint, and a batch whose context applies to each of its messages."""
    server = make_server("127.0.0.1", 0, settings.landing_dir, WRITE_KEY)
    server.serve_in_background()
    auth = {"Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()}
    try:
        for message in segment_messages():
            answer = requests.post(f"{server.url}/v1/{message['type']}", json=message, headers=auth, timeout=10)
            assert answer.status_code == 200, answer.text
        batch = fixture("segment", "batch.json")
        answer = requests.post(f"{server.url}/v1/batch", json=batch, headers=auth, timeout=10)
        assert answer.status_code == 200, answer.text
    finally:
        server.stop()

    summary = load(["analytics"], settings)

    assert_nothing_lost(
        settings, "analytics", "events", "message_id", {m["messageId"] for m in segment_messages()}
    )
    assert summary.rows_quarantined == 0
    batch_rows = rows(
        settings,
        "SELECT type, coalesce(user_id, anonymous_id), context__ip FROM raw_analytics.events "
        "WHERE sent_at = TIMESTAMPTZ '2024-05-14 09:02:01+00' ORDER BY timestamp",
    )
    assert batch_rows == [
        (m["type"], m.get("userId") or m.get("anonymousId"), batch["context"]["ip"]) for m in batch["batch"]
    ]


COLLECTOR_STAMPS = {"message_id", "received_at", "_source_file", "_source_line", "_dlt_load_id", "_dlt_id"}
"""What the collector adds to a message (an id where the client gave none, the receive time) and lineage."""


def loaded_events(settings: Settings) -> list[dict[str, Any]]:
    """raw_analytics.events without the collector's stamps, as dicts in timestamp order."""
    names = [c for c in columns(settings, "raw_analytics", "events") if c not in COLLECTOR_STAMPS]
    found = rows(settings, f"SELECT {', '.join(f'{chr(34)}{n}{chr(34)}' for n in names)} FROM raw_analytics.events "
                 "ORDER BY timestamp")  # fmt: skip
    return [dict(zip(names, row, strict=True)) for row in found]


def test_segment_batch_body_saved_as_a_landing_file_loads_as_the_collector_stores_it(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The batch's context (under each message's own), integrations and sentAt reach every message, and the
    messages without messageId get ids that stay the same when the body is read again."""
    batch = fixture("segment", "batch.json")
    saved = settings.landing_dir / "analytics" / "events" / "batch.json"
    saved.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "segment" / "batch.json", saved)

    summary = load(["analytics"], settings)

    ids = {message_id for (message_id,) in rows(settings, "SELECT message_id FROM raw_analytics.events")}
    assert summary.rows_quarantined == 0 and len(ids) == len(batch["batch"])
    assert "batch-msg-3" in ids, "a message's own id is kept"
    assert_nothing_lost(settings, "analytics", "events", "message_id", ids)
    from_file = loaded_events(settings)

    shutil.copy(saved, saved.with_name("batch-again.json"))  # the same body saved twice: its messages once
    again = load(["analytics"], settings)
    assert again.table("analytics", "events").loaded == 0
    assert {i for (i,) in rows(settings, "SELECT message_id FROM raw_analytics.events")} == ids

    monkeypatch.setenv("LANDING_DIR", str(tmp_path / "collected"))
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "collected.duckdb"))
    monkeypatch.setenv("DLT_PIPELINES_DIR", str(tmp_path / "collected-dlt"))
    through_collector = get_settings()
    server = make_server("127.0.0.1", 0, through_collector.landing_dir, WRITE_KEY)
    server.serve_in_background()
    auth = {"Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()}
    try:
        answer = requests.post(f"{server.url}/v1/batch", json=batch, headers=auth, timeout=10)
        assert answer.status_code == 200, answer.text
    finally:
        server.stop()
    load(["analytics"], through_collector)

    assert from_file == loaded_events(through_collector)
    assert {(e["context__ip"], e["integrations"], e["sent_at"].isoformat()) for e in from_file} == {
        ("198.51.100.23", '{"All":true}', "2024-05-14T09:02:01+00:00")
    }
