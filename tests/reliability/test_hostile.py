"""Hostile and broken input: loaded with its exact text, or quarantined with a reason; never a crash or a loss.

The landing reader gets one CRM file of hostile lines (formulas and SQL in names, emoji, right-to-left text,
invalid UTF-8, a line cut in the middle, a 10 MB line, JSON nested 10,000 deep) and a truncated last line;
every complete line must end as a row or a quarantined line, and loaded names must reach staging unchanged.
The collector gets the requests the Segment clients never send; each gets a clear status, and it keeps serving.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from collector import CollectorServer, make_server
from core.dbt_cli import run_dbt
from core.settings import Settings, get_settings
from ingestion.pipelines import load
from tests.conftest import settings_for

HOSTILE_NAMES = {
    "formula": "=cmd|' /C calc'!A0",
    "formula-plus": '+HYPERLINK("http://evil.example","x")',
    "sql": "'; drop table x; --",
    "sql-quoted": 'Robert"); DROP TABLE raw_crm.contacts;--',
    "escapes": "back\\slash \\n not a newline, a tab\tinside",
    "emoji": "Zoë 👩🏽‍💻🇧🇪",
    "rtl": "مرحبا שלום",
    "rtl-override": "invoice\u202egnp.exe",
    "zero-width": "An\u200bn\ufeff",
    "combining": "Z̸̢a̵l̷g̶o̴",
}
TEN_MB = 10 * 1024 * 1024
CONTACTS = "crm/contacts/contacts-b0000-p0000.jsonl"


def contact(cid: str, first_name: str = "Ann", **properties: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "properties": {"email": f"{cid}@example.com", "firstname": first_name, "lastname": first_name, **properties},
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-02T00:00:00Z",
        "archived": False,
    }


def line(record: Any) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode() + b"\n"


def bomb(depth: int) -> str:
    return "[" * depth + "]" * depth


def deep_line(cid: str, nested: str) -> bytes:
    """A contact whose name is a JSON value nested 10,000 deep: a known text column keeps its JSON text."""
    return f'{{"id": "{cid}", "properties": {{"firstname": {nested}, "lastname": {nested}}}}}\n'.encode()


LOADED_LINES = {  # contact id -> (its line, the first name it must have in raw and staging)
    **{f"hostile-{name}": (line(contact(f"hostile-{name}", text)), text) for name, text in HOSTILE_NAMES.items()},
    "huge-name": (line(contact("huge-name", "A" * TEN_MB)), "A" * TEN_MB),
    "deep-bomb": (deep_line("deep-bomb", bomb(10_000)), bomb(10_000)),
}
LOADED = {cid: name for cid, (_, name) in LOADED_LINES.items()}
QUARANTINED = {  # line -> (a part of) the reason it must be quarantined for
    b'{"id": "bad-utf8", "properties": {"firstname": "\xff\xfe\xc3"}, "updatedAt": "2026-01-02T00:00:00Z"}\n': (
        "invalid UTF-8"
    ),
    line(contact("cut-mid-line"))[:45] + b"\n": "not valid JSON",
    b'{"id": "huge-junk", "x": "' + b"y" * TEN_MB + b"\n": "not valid JSON",
    (bomb(10_000) + "\n").encode(): "not a JSON object",
    line({"id": "dated-yesterday", "properties": {}, "updatedAt": "yesterday"}): "yesterday is not a timestamp",
}
TORN_TAIL = line(contact("torn-tail", "Tail"))


@pytest.fixture(scope="module")
def hostile_load(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The hostile file loaded (its last line still being written), then finished and loaded again."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in settings_for(tmp_path_factory.mktemp("reliability_hostile")).items():
            monkeypatch.setenv(name, value)
        settings = get_settings()
        path = settings.landing_dir / CONTACTS
        path.parent.mkdir(parents=True)
        body = b"".join(loaded for loaded, _ in LOADED_LINES.values()) + b"".join(QUARANTINED)
        path.write_bytes(body + b"\n" + TORN_TAIL[:30])  # a blank line (not a record), then a line being written
        load(["crm"], settings)
        yield settings


def query(settings: Settings, sql: str, *params: Any) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(sql, list(params)).fetchall()


def test_every_complete_line_is_a_row_or_quarantined_with_a_reason(hostile_load: Settings) -> None:
    loaded = query(hostile_load, "SELECT id, _source_line FROM raw_crm.contacts ORDER BY _source_line")
    quarantined = query(hostile_load, "SELECT source_line, reason, strlen(raw_line) FROM raw_crm.quarantine ORDER BY 1")

    assert [cid for cid, _ in loaded] == list(LOADED)
    assert [n for _, n in loaded] + [n for n, _, _ in quarantined] == list(range(1, len(LOADED) + len(QUARANTINED) + 1))
    for (_, reason, kept_bytes), expected in zip(quarantined, QUARANTINED.values(), strict=True):
        assert expected in reason
        assert 0 < kept_bytes <= 64 * 1024 + 16  # the raw text kept, capped (escapes may lengthen it a little)


def test_loaded_hostile_text_reaches_staging_exactly(hostile_load: Settings) -> None:
    run_dbt(
        [
            "build", "--select", "resource_type:seed", "stg_crm__contacts",
            "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test",
        ],
        hostile_load,
        target_path=hostile_load.data_dir / "dbt_target",
    )  # fmt: skip

    raw = dict(query(hostile_load, "SELECT id, firstname FROM raw_crm.contacts"))
    staged = dict(query(hostile_load, "SELECT contact_id, first_name FROM staging.stg_crm__contacts"))
    assert raw == LOADED
    assert staged == LOADED
    assert query(hostile_load, "SELECT count(*) FROM raw_crm.contacts") == [(len(LOADED),)], "no SQL ran"


def test_a_torn_last_line_waits_for_its_writer_then_loads(hostile_load: Settings) -> None:
    assert query(hostile_load, "SELECT count(*) FROM raw_crm.contacts WHERE id = 'torn-tail'") == [(0,)]
    with (hostile_load.landing_dir / CONTACTS).open("ab") as landing_file:
        landing_file.write(TORN_TAIL[30:])

    load(["crm"], hostile_load)

    assert query(hostile_load, "SELECT firstname FROM raw_crm.contacts WHERE id = 'torn-tail'") == [("Tail",)]
    assert query(hostile_load, "SELECT count(*) FROM raw_crm.quarantine") == [(len(QUARANTINED),)]


# -- the collector ---------------------------------------------------------------------------------------------

WRITE_KEY = "hostile-key"
AUTH = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorServer]:
    server = make_server("127.0.0.1", 0, tmp_path, WRITE_KEY)
    server.serve_in_background()
    yield server
    server.stop()


def raw_request(server: CollectorServer, head: bytes, body: bytes = b"") -> bytes:
    """Send bytes no HTTP client library would send; the status line of the answer (b'' if none)."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head + b"\r\n\r\n" + body)
        return connection.recv(4096).split(b"\r\n", 1)[0]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"batch": [' + bomb(100_000).encode() + b"]}", 400, "invalid_json"),
        (b'{"batch": [{"type": "track", "event": "' + b"\xff\xfe" + b'", "anonymousId": "a"}]}', 400, "invalid_json"),
        (b'{"batch": {"not": "a list"}}', 400, "invalid_request"),
        (b'{"batch": ["not an object"]}', 400, "invalid_message"),
    ],
    ids=["nesting_bomb", "invalid_utf8", "batch_not_a_list", "message_not_an_object"],
)
def test_broken_bodies_get_a_clear_status_and_the_collector_keeps_serving(
    collector: CollectorServer, body: bytes, status: int, code: str
) -> None:
    rejected = requests.post(f"{collector.url}/v1/batch", data=body, headers={"Authorization": AUTH}, timeout=10)
    accepted = requests.post(
        f"{collector.url}/v1/track",
        json={"type": "track", "event": "Still Here", "anonymousId": "a"},
        headers={"Authorization": AUTH},
        timeout=10,
    )

    assert (rejected.status_code, rejected.json()["code"]) == (status, code)
    assert accepted.status_code == 200


def test_a_negative_content_length_is_400_not_a_dropped_connection(collector: CollectorServer) -> None:
    head = f"POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\nContent-Length: -5".encode()
    assert raw_request(collector, head) == b"HTTP/1.1 400 Bad Request"
    accepted = requests.post(
        f"{collector.url}/v1/track",
        json={"type": "track", "event": "Still Here", "anonymousId": "a"},
        headers={"Authorization": AUTH},
        timeout=10,
    )
    assert accepted.status_code == 200
