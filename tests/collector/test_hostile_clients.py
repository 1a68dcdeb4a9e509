"""The collector against hostile clients and values the loader cannot take.

Every request gets an answer a client can act on (400/401/404/408/413/503, JSON with `code` and `message`),
never a dropped connection; the door refuses exactly what the loader would quarantine; authentication comes
before the body is read; connections are capped and wait in a real listen backlog; a stalled client gets 408.
Timeouts are set short per test, and every wait is bounded by a generous client-side timeout.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from collector import CollectorLimits, CollectorServer, make_server
from tests.conftest import settings_for

WRITE_KEY = "hostile-write-key"
AUTH = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
WRONG_AUTH = "Basic " + base64.b64encode(b"not-the-key:").decode()
TIMEOUT = 10


def _track(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": f"anon-{n}",
        "messageId": f"msg-{n}",
        "timestamp": "2025-01-01T10:00:00.000Z",
        "properties": {"n": n},
        **fields,
    }


def _start(tmp_path: Path, **limits: Any) -> CollectorServer:
    server = make_server("127.0.0.1", 0, tmp_path / "landing", WRITE_KEY, limits=CollectorLimits(**limits))
    server.serve_in_background()
    return server


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorServer]:
    server = _start(tmp_path)
    yield server
    server.stop()


def _post(server: CollectorServer, path: str, body: Any, auth: str = AUTH) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    return requests.post(f"{server.url}{path}", data=data, headers=headers, timeout=TIMEOUT)


def _landed(server: CollectorServer) -> list[dict[str, Any]]:
    lines = []
    for path in sorted(server.events_dir.glob("events-*.jsonl")):
        lines += [json.loads(line) for line in path.read_text().splitlines()]
    return lines


def _still_serving(server: CollectorServer) -> bool:
    return _post(server, "/v1/track", _track(999, messageId="still-serving")).status_code == 200


def _connect(server: CollectorServer) -> socket.socket:
    host, port = server.server_address[:2]
    return socket.create_connection((host, port), timeout=TIMEOUT)


def _answer(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (b'' when it closes without a word)."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def _head(path: str = "/v1/batch", auth: str = AUTH, length: int = 100, **extra: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: collector", f"Authorization: {auth}", f"Content-Length: {length}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in extra.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _json_body(answer: bytes) -> dict[str, Any]:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


# -- timestamps: the loader's rule, applied at the door -------------------------------------------------------

LOADER_REFUSES = ["20261206T100000Z", "2026-W49-7", "2025-01-01T10:00Z", "2025-13-01T00:00:00Z", "last tuesday"]
"""Timestamps DuckDB's TIMESTAMPTZ cast (the landing reader's) refuses; the first three Python's parser takes."""
LOADER_TAKES = ["2025-01-01T10:00:00.000Z", "2025-01-01 10:00:00", "2025-01-01T10:00:00+05:30", "2025-01-01"]


@pytest.mark.parametrize("timestamp", LOADER_REFUSES)
def test_a_timestamp_the_loader_cannot_cast_is_400_naming_the_message_and_field(
    collector: CollectorServer, timestamp: str
) -> None:
    response = _post(collector, "/v1/track", _track(1, timestamp=timestamp))

    body = response.json()
    assert response.status_code == 400
    assert body["code"] == "invalid_message"
    assert "messageId 'msg-1'" in body["message"]
    assert f"timestamp: {timestamp} is not a timestamp" in body["message"]
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(0, "timestamp")]
    assert _landed(collector) == []


def test_a_batch_level_sent_at_the_loader_cannot_cast_is_400(collector: CollectorServer) -> None:
    response = _post(collector, "/v1/batch", {"batch": [_track(1)], "sentAt": "20261206T100000Z"})

    assert response.status_code == 400
    assert "sent_at: 20261206T100000Z is not a timestamp" in response.json()["message"]
    assert response.json()["errors"][0]["field"] == "sentAt"
    assert _landed(collector) == []


@pytest.mark.parametrize("timestamp", LOADER_TAKES)
def test_a_timestamp_the_loader_casts_is_accepted(collector: CollectorServer, timestamp: str) -> None:
    response = _post(collector, "/v1/batch", {"batch": [_track(1, timestamp=timestamp)], "sentAt": timestamp})

    assert response.status_code == 200
    assert _landed(collector)[0]["timestamp"] == timestamp


def test_the_door_refuses_exactly_what_the_loader_quarantines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same values written straight into a landing file (as an export would) and posted to the collector:
    the loader quarantines the ones the collector answers 400, and loads every one it accepted."""
    from core.settings import get_settings
    from ingestion.pipelines import load

    for name, value in settings_for(tmp_path).items():
        monkeypatch.setenv(name, value)
    settings = get_settings()
    values = LOADER_REFUSES + LOADER_TAKES
    exported = settings.landing_dir / "analytics" / "events" / "export.jsonl"
    exported.parent.mkdir(parents=True)
    exported.write_text("".join(json.dumps(_track(n, timestamp=v)) + "\n" for n, v in enumerate(values)))
    server = make_server("127.0.0.1", 0, settings.landing_dir, WRITE_KEY)
    server.serve_in_background()
    try:
        answers = [
            _post(server, "/v1/track", _track(100 + n, timestamp=v)).status_code for n, v in enumerate(values)
        ]
    finally:
        server.stop()

    load(["analytics"], settings)

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as warehouse:
        quarantined = {n for (n,) in warehouse.execute("SELECT source_line FROM raw_analytics.quarantine").fetchall()}
        loaded = {m for (m,) in warehouse.execute("SELECT message_id FROM raw_analytics.events").fetchall()}
    refused_at_the_door = {values[n] for n, status in enumerate(answers) if status == 400}
    quarantined_by_the_loader = {values[line - 1] for line in quarantined}
    assert refused_at_the_door == quarantined_by_the_loader == set(LOADER_REFUSES)
    assert {f"msg-{100 + n}" for n, status in enumerate(answers) if status == 200} <= loaded


def test_in_a_partly_bad_batch_the_good_messages_are_stored_and_the_bad_one_named(
    collector: CollectorServer,
) -> None:
    batch = [_track(0), _track(1, timestamp="2026-W49-7"), _track(2)]

    response = _post(collector, "/v1/batch", {"batch": batch})

    body = response.json()
    assert response.status_code == 400
    assert body["stored"] == 2
    assert body["message"].startswith("1 of 3 messages rejected, 2 stored:")
    assert [(e["index"], e["messageId"], e["field"]) for e in body["errors"]] == [(1, "msg-1", "timestamp")]
    assert [m["messageId"] for m in _landed(collector)] == ["msg-0", "msg-2"]
    assert collector.stats.messages_rejected == 1


# -- the same messageId with other content ---------------------------------------------------------------------


def test_a_message_id_resent_with_other_content_is_counted_reported_and_logged(
    collector: CollectorServer, caplog: pytest.LogCaptureFixture
) -> None:
    first = _post(collector, "/v1/track", _track(1, event="Product Viewed"))
    with caplog.at_level(logging.WARNING, logger="collector"):
        second = _post(collector, "/v1/track", _track(1, event="Order Completed"))

    assert first.json() == {"success": True}
    assert second.status_code == 200
    assert second.json()["conflicting_message_ids"] == ["msg-1"]
    assert collector.stats.conflicting_message_ids == 1
    assert any("msg-1" in r.getMessage() and "different content" in r.getMessage() for r in caplog.records)


def test_a_conflict_inside_one_batch_is_counted(collector: CollectorServer) -> None:
    batch = [_track(1), _track(1, properties={"n": 2})]

    response = _post(collector, "/v1/batch", {"batch": batch})

    assert response.json()["conflicting_message_ids"] == ["msg-1"]
    assert collector.stats.conflicting_message_ids == 1


def test_a_retry_of_the_same_message_is_a_redelivery_not_a_conflict(collector: CollectorServer) -> None:
    _post(collector, "/v1/batch", {"batch": [_track(1)], "sentAt": "2025-01-01T10:00:01Z"})
    retry = _post(collector, "/v1/batch", {"batch": [_track(1)], "sentAt": "2025-01-01T10:00:31Z"})

    assert retry.json() == {"success": True}
    assert (collector.stats.redelivered_message_ids, collector.stats.conflicting_message_ids) == (1, 0)


# -- bodies Python cannot parse or encode ----------------------------------------------------------------------


def test_a_number_longer_than_python_converts_is_400_and_the_collector_keeps_serving(
    collector: CollectorServer,
) -> None:
    body = b'{"type": "track", "event": "e", "anonymousId": "a", "properties": {"n": ' + b"9" * 5_000 + b"}}"

    response = _post(collector, "/v1/track", body)

    assert (response.status_code, response.json()["code"]) == (400, "invalid_json")
    assert "digits" in response.json()["message"]
    assert _still_serving(collector)


def test_a_lone_surrogate_is_400_naming_the_message(collector: CollectorServer) -> None:
    body = b'{"batch": [' + json.dumps(_track(0)).encode() + b', {"type": "track", "event": "\\ud800", '
    body += b'"anonymousId": "a", "messageId": "lonely"}]}'

    response = _post(collector, "/v1/batch", body)

    assert response.status_code == 400
    assert "messageId 'lonely'" in response.json()["message"]
    assert "surrogate" in response.json()["message"]
    assert [m["messageId"] for m in _landed(collector)] == ["msg-0"]
    assert _still_serving(collector)


def test_a_lone_surrogate_in_the_body_write_key_is_401(collector: CollectorServer) -> None:
    body = b'{"writeKey": "\\udc00", "batch": []}'
    response = requests.post(f"{collector.url}/v1/batch", data=body, timeout=TIMEOUT)

    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")
    assert _still_serving(collector)


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_numbers_json_cannot_carry_are_400(collector: CollectorServer, number: bytes) -> None:
    body = b'{"type": "track", "event": "e", "anonymousId": "a", "properties": {"n": ' + number + b"}}"

    response = _post(collector, "/v1/track", body)

    assert (response.status_code, response.json()["code"]) == (400, "invalid_json")
    assert _landed(collector) == []


# -- authentication before the body ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "status"),
    [(_head(auth=WRONG_AUTH), 401), (_head(path="/v1/nope"), 404), (_head(length=10**9), 413)],
    ids=["wrong_key", "unknown_path", "declared_too_large"],
)
def test_a_request_refused_by_its_head_is_answered_before_its_body_arrives(
    tmp_path: Path, head: bytes, status: int
) -> None:
    """The body never comes: a server that read it first would answer nothing until its request timeout."""
    server = _start(tmp_path, request_timeout_seconds=60)
    try:
        with _connect(server) as connection:
            connection.sendall(head)
            answer = _answer(connection)
    finally:
        server.stop()

    assert _status(answer) == status
    assert _json_body(answer)["success"] is False


def test_expect_100_continue_with_a_wrong_key_gets_401_instead_of_continue(collector: CollectorServer) -> None:
    with _connect(collector) as connection:
        connection.sendall(_head(auth=WRONG_AUTH, Expect="100-continue"))
        answer = _answer(connection)

    assert _status(answer) == 401
    assert b"100 Continue" not in answer


def test_expect_100_continue_with_the_right_key_continues(collector: CollectorServer) -> None:
    body = json.dumps(_track(1)).encode()
    with _connect(collector) as connection:
        connection.sendall(_head(path="/v1/track", length=len(body), Expect="100-continue"))
        assert connection.recv(4096).startswith(b"HTTP/1.1 100 Continue")
        connection.sendall(body)
        assert connection.recv(4096).startswith(b"HTTP/1.1 200")


def test_a_client_that_sends_its_whole_body_before_reading_still_gets_its_401(tmp_path: Path) -> None:
    """http.client writes the whole body, then reads: a server that closed on the unread body would reset the
    connection under it (BrokenPipeError, no answer). The refused body is read and dropped instead."""
    server = _start(tmp_path, max_request_bytes=16 * 1024 * 1024)
    body = b'{"batch": [], "padding": "' + b"x" * 12 * 1024 * 1024 + b'"}'  # more than the kernel buffers
    try:
        host, port = server.server_address[:2]
        connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
        connection.request("POST", "/v1/batch", body=body, headers={"Authorization": WRONG_AUTH})
        response = connection.getresponse()
        answer = json.loads(response.read())
        connection.close()
        still_serving = _still_serving(server)
    finally:
        server.stop()

    assert (response.status, answer["code"]) == (401, "unauthorized")
    assert still_serving


def test_the_body_write_key_still_authenticates_without_a_header(collector: CollectorServer) -> None:
    body = {"batch": [_track(1)], "writeKey": WRITE_KEY}
    response = requests.post(f"{collector.url}/v1/batch", json=body, timeout=TIMEOUT)

    assert response.status_code == 200
    assert [m["messageId"] for m in _landed(collector)] == ["msg-1"]


# -- clients that stall ----------------------------------------------------------------------------------------


def test_a_stalled_body_is_408_not_a_storage_error(tmp_path: Path) -> None:
    server = _start(tmp_path, request_timeout_seconds=0.3)
    try:
        with _connect(server) as connection:
            connection.sendall(_head(length=100) + b'{"batch": [')
            answer = _answer(connection)
    finally:
        server.stop()

    assert _status(answer) == 408
    assert _json_body(answer)["code"] == "request_timeout"
    assert server.stats.statuses[408] == 1


def test_a_stalled_request_head_is_408(tmp_path: Path) -> None:
    server = _start(tmp_path, request_timeout_seconds=0.3)
    try:
        with _connect(server) as connection:
            connection.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: coll")
            answer = _answer(connection)
    finally:
        server.stop()

    assert _status(answer) == 408


def test_a_request_trickled_in_is_408_once_its_time_is_up(tmp_path: Path) -> None:
    """Each byte comes well within the idle timeout; the whole request may still take only so long."""
    server = _start(tmp_path, request_timeout_seconds=0.5, idle_timeout_seconds=5)
    answer = b""
    try:
        with _connect(server) as connection:
            connection.sendall(_head(length=10_000))
            connection.settimeout(0.05)
            for _ in range(200):  # at most 10 s of trickling
                try:
                    connection.sendall(b" ")
                    answer += connection.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if answer:
                    break
    finally:
        server.stop()

    assert _status(answer) == 408


def test_a_silent_connection_is_closed_without_an_answer(tmp_path: Path) -> None:
    server = _start(tmp_path, idle_timeout_seconds=0.3)
    try:
        with _connect(server) as connection:
            assert _answer(connection) == b""
    finally:
        server.stop()


def test_a_storage_failure_is_still_503(collector: CollectorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(lines: bytes) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(collector.writer, "append", refuse)

    response = _post(collector, "/v1/track", _track(1))

    assert (response.status_code, response.json()["code"]) == (503, "storage_error")


# -- connections: capped, the rest wait in the listen backlog --------------------------------------------------


def _wait_for(condition: Any, seconds: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_many_trickling_connections_do_not_make_a_thread_each(tmp_path: Path) -> None:
    server = _start(tmp_path, max_connections=4, listen_backlog=256, request_timeout_seconds=60)
    threads_before = threading.active_count()
    connections = []
    try:
        for _ in range(200):
            connection = _connect(server)
            connection.sendall(b"POST /v1/batch HTTP/1.1\r\n")
            connections.append(connection)
        assert _wait_for(lambda: server.active_connections == 4)
        time.sleep(0.2)  # let a server without a cap start more threads, if it would
        assert server.active_connections == 4
        assert threading.active_count() - threads_before <= 4
    finally:
        for connection in connections:
            connection.close()
        server.stop()


def test_connections_over_the_cap_wait_in_the_backlog_and_are_then_served(tmp_path: Path) -> None:
    server = _start(tmp_path, max_connections=1, idle_timeout_seconds=0.5)
    results: list[int] = []
    try:
        with _connect(server) as silent:  # holds the only slot until its idle timeout
            assert _wait_for(lambda: server.active_connections == 1)
            senders = [
                threading.Thread(
                    target=lambda n=n: results.append(_post(server, "/v1/track", _track(n)).status_code)
                )
                for n in range(5)
            ]
            for sender in senders:
                sender.start()
            for sender in senders:
                sender.join(TIMEOUT * 2)
            assert _answer(silent) == b""
    finally:
        server.stop()

    assert results == [200] * 5
    assert sorted(m["messageId"] for m in _landed(server)) == [f"msg-{n}" for n in range(5)]


def test_the_listen_backlog_is_the_configured_one(tmp_path: Path) -> None:
    server = _start(tmp_path, listen_backlog=7)
    try:
        assert server.request_queue_size == 7
    finally:
        server.stop()


# -- every request answered, in JSON ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"PUT /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405),
        (b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411),
    ],
    ids=["garbage", "put", "huge_header", "chunked"],
)
def test_requests_no_client_library_sends_get_a_json_answer(
    collector: CollectorServer, request_bytes: bytes, status: int
) -> None:
    with _connect(collector) as connection:
        connection.sendall(request_bytes)
        answer = _answer(connection)

    assert _status(answer) == status
    assert _json_body(answer)["success"] is False
    assert _still_serving(collector)


# -- stopping --------------------------------------------------------------------------------------------------


def test_stopping_does_not_wait_for_idle_keep_alive_connections(tmp_path: Path) -> None:
    server = _start(tmp_path, idle_timeout_seconds=120)
    with requests.Session() as session:
        session.headers["Authorization"] = AUTH
        assert session.post(f"{server.url}/v1/track", json=_track(1), timeout=TIMEOUT).status_code == 200
        assert server.active_connections == 1  # the session keeps its connection open
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        stopper.join(TIMEOUT)

    assert not stopper.is_alive(), "stop() waited for the idle connection's timeout"
    assert _wait_for(lambda: server.active_connections == 0)  # its thread ends just after stop() returns


def test_a_body_cut_off_by_stopping_is_503_so_the_client_retries(tmp_path: Path) -> None:
    server = _start(tmp_path, request_timeout_seconds=120)
    with _connect(server) as connection:
        connection.sendall(_head(length=100) + b'{"batch": [')
        assert _wait_for(lambda: server.active_connections == 1)
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        answer = _answer(connection)
        stopper.join(TIMEOUT)

    assert _status(answer) == 503
    assert _json_body(answer)["code"] == "shutting_down"
