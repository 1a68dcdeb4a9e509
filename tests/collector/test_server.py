"""The Segment-compatible collector, driven by the official `segment-analytics-python` client and raw HTTP."""

from __future__ import annotations

import base64
import gzip
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from segment.analytics.client import Client
from typer.testing import CliRunner

from cli.main import app
from collector import CollectorLimits, CollectorServer, make_server
from collector.writer import repair_torn_tails

WRITE_KEY = "test-write-key"
TIMEOUT = 10


def _auth(key: str = WRITE_KEY) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


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


def _post(server: CollectorServer, path: str, body: Any, **kwargs: Any) -> requests.Response:
    headers = {**_auth(), **kwargs.pop("headers", {})}
    return requests.post(f"{server.url}{path}", json=body, headers=headers, timeout=TIMEOUT, **kwargs)


def _landed(server: CollectorServer) -> list[dict[str, Any]]:
    lines = []
    for path in sorted(server.events_dir.glob("events-*.jsonl")):
        lines += [json.loads(line) for line in path.read_text().splitlines()]
    return lines


def _start(tmp_path: Path, limits: CollectorLimits | None = None) -> CollectorServer:
    server = make_server("127.0.0.1", 0, tmp_path / "landing", WRITE_KEY, limits=limits)
    server.serve_in_background()
    return server


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[CollectorServer]:
    server = _start(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def client_errors() -> list[Exception]:
    return []


def _client(server: CollectorServer, errors: list[Exception], **options: Any) -> Client:
    return Client(
        WRITE_KEY,
        host=server.url,
        upload_interval=0.05,
        max_retries=1,
        on_error=lambda error, batch: errors.append(error),
        **options,
    )


def test_official_client_batches_land_on_disk_with_segment_fields(
    collector: CollectorServer, client_errors: list[Exception]
) -> None:
    client = _client(collector, client_errors)
    client.identify("user-1", {"email": "ada@example.com"}, anonymous_id="anon-1")
    client.track("user-1", "Order Completed", {"revenue": 42.5}, anonymous_id="anon-1")
    client.page("user-1", name="Home", properties={"url": "https://shop.example/"}, anonymous_id="anon-1")
    client.flush()
    client.shutdown()

    assert client_errors == []
    by_type = {m["type"]: m for m in _landed(collector)}
    assert set(by_type) == {"identify", "track", "page"}
    assert by_type["identify"]["traits"] == {"email": "ada@example.com"}
    assert by_type["track"]["event"] == "Order Completed"
    assert by_type["track"]["properties"] == {"revenue": 42.5}
    assert by_type["page"]["name"] == "Home"
    for message in by_type.values():
        assert message["userId"] == "user-1"
        assert message["anonymousId"] == "anon-1"
        assert {"messageId", "timestamp", "sentAt", "receivedAt", "context"} <= set(message)
        assert "writeKey" not in message


def test_official_client_in_sync_mode_is_acknowledged_after_each_call(
    collector: CollectorServer, client_errors: list[Exception]
) -> None:
    client = _client(collector, client_errors, sync_mode=True)
    client.track("user-2", "Signed Up", anonymous_id="anon-2")
    assert [m["event"] for m in _landed(collector)] == ["Signed Up"]


def test_gzip_encoded_batches_are_accepted(
    collector: CollectorServer, client_errors: list[Exception]
) -> None:
    client = _client(collector, client_errors, sync_mode=True, gzip=True)
    client.track("user-3", "Cart Viewed", anonymous_id="anon-3")
    assert client_errors == []
    assert [m["event"] for m in _landed(collector)] == ["Cart Viewed"]


def test_acknowledged_messages_are_on_disk_when_the_200_arrives(collector: CollectorServer) -> None:
    for n in range(5):
        response = _post(collector, "/v1/track", _track(n))
        assert response.json() == {"success": True}
        assert [m["messageId"] for m in _landed(collector)] == [f"msg-{i}" for i in range(n + 1)]


def test_received_at_is_stamped_and_a_missing_message_id_assigned(collector: CollectorServer) -> None:
    message = _track(1)
    del message["messageId"]
    _post(collector, "/v1/batch", {"batch": [message], "sentAt": "2025-01-01T10:00:01Z"})
    [landed] = _landed(collector)
    assert landed["messageId"]
    assert landed["receivedAt"].endswith("Z")
    assert landed["sentAt"] == "2025-01-01T10:00:01Z"


def test_wrong_write_key_is_401(collector: CollectorServer) -> None:
    response = _post(collector, "/v1/track", _track(1), headers=_auth("not-the-key"))
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert _landed(collector) == []


def test_write_key_in_the_body_is_accepted_without_an_auth_header(collector: CollectorServer) -> None:
    body = {"batch": [_track(1)], "writeKey": WRITE_KEY}
    response = requests.post(f"{collector.url}/v1/batch", json=body, timeout=TIMEOUT)
    assert response.status_code == 200
    assert "writeKey" not in _landed(collector)[0]


def test_malformed_json_is_400_with_the_reason(collector: CollectorServer) -> None:
    response = requests.post(
        f"{collector.url}/v1/batch", data=b'{"batch": [', headers=_auth(), timeout=TIMEOUT
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert "not valid JSON" in response.json()["message"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"anonymousId": None}, "userId or anonymousId"),
        ({"event": ""}, "'event'"),
        ({"timestamp": "last tuesday"}, "timestamp"),
        ({"type": "purchase"}, "type 'purchase'"),
        ({"properties": [1, 2]}, "properties must be a JSON object"),
    ],
)
def test_an_invalid_message_is_400_naming_it_and_only_the_others_are_written(
    collector: CollectorServer, change: dict[str, Any], reason: str
) -> None:
    batch = [_track(0), _track(1, **change), _track(2)]
    response = _post(collector, "/v1/batch", {"batch": batch})
    body = response.json()
    assert response.status_code == 400
    assert reason in body["message"]
    assert "batch[1] (messageId 'msg-1')" in body["message"]
    assert [e["index"] for e in body["errors"]] == [1]
    assert body["stored"] == 2
    assert [m["messageId"] for m in _landed(collector)] == ["msg-0", "msg-2"]


def test_body_over_the_limit_is_413(tmp_path: Path) -> None:
    server = _start(tmp_path, CollectorLimits(max_request_bytes=2_000))
    try:
        response = _post(server, "/v1/batch", {"batch": [_track(n) for n in range(30)]})
    finally:
        server.stop()
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


def test_gzip_body_that_inflates_over_the_limit_is_413(tmp_path: Path) -> None:
    server = _start(tmp_path, CollectorLimits(max_request_bytes=2_000))
    bomb = gzip.compress(json.dumps({"batch": [_track(n) for n in range(100)]}).encode())
    try:
        response = requests.post(
            f"{server.url}/v1/batch",
            data=bomb,
            headers={**_auth(), "Content-Encoding": "gzip"},
            timeout=TIMEOUT,
        )
    finally:
        server.stop()
    assert len(bomb) < 2_000
    assert response.status_code == 413


def test_message_over_the_limit_is_413_naming_it(tmp_path: Path) -> None:
    server = _start(tmp_path, CollectorLimits(max_message_bytes=1_000))
    batch = [_track(0), _track(1, properties={"blob": "x" * 2_000})]
    try:
        response = _post(server, "/v1/batch", {"batch": batch})
    finally:
        server.stop()
    assert response.status_code == 413
    assert "batch[1]" in response.json()["message"]


def test_server_keeps_serving_after_rejected_requests_on_the_same_connection(tmp_path: Path) -> None:
    server = _start(tmp_path, CollectorLimits(max_request_bytes=2_000))
    url = f"{server.url}/v1"
    try:
        with requests.Session() as session:
            session.headers.update(_auth())
            rejected = [
                session.post(f"{url}/track", json=_track(0), headers=_auth("wrong"), timeout=TIMEOUT),
                session.post(f"{url}/batch", data=b"{", timeout=TIMEOUT),
                session.post(f"{url}/nope", json=_track(0), timeout=TIMEOUT),
                session.post(f"{url}/batch", json={"batch": [_track(n) for n in range(30)]}, timeout=TIMEOUT),
            ]
            accepted = session.post(f"{url}/track", json=_track(99), timeout=TIMEOUT)
    finally:
        server.stop()
    assert [r.status_code for r in rejected] == [401, 400, 404, 413]
    assert accepted.status_code == 200
    assert [m["messageId"] for m in _landed(server)] == ["msg-99"]


def test_rotation_spreads_lines_over_several_files_without_loss_or_duplicates(tmp_path: Path) -> None:
    server = _start(tmp_path, CollectorLimits(max_file_bytes=1_500))
    try:
        for n in range(0, 40, 4):
            _post(server, "/v1/batch", {"batch": [_track(i) for i in range(n, n + 4)]})
    finally:
        server.stop()
    files = sorted(server.events_dir.glob("events-*.jsonl"))
    assert len(files) > 3
    assert all(path.read_bytes().endswith(b"\n") for path in files)
    assert [m["messageId"] for m in _landed(server)] == [f"msg-{i}" for i in range(40)]


def test_files_rotate_once_they_are_older_than_the_age_limit(tmp_path: Path) -> None:
    now = [1_700_000_000.0]
    server = make_server(
        "127.0.0.1",
        0,
        tmp_path,
        WRITE_KEY,
        limits=CollectorLimits(max_file_age_seconds=60),
        clock=lambda: now[0],
    )
    server.serve_in_background()
    try:
        _post(server, "/v1/track", _track(1))
        now[0] += 61
        _post(server, "/v1/track", _track(2))
    finally:
        server.stop()
    assert [p.name for p in sorted(server.events_dir.glob("*.jsonl"))] == [
        "events-20231114T221320Z-000001.jsonl",
        "events-20231114T221421Z-000002.jsonl",
    ]


def test_concurrent_clients_lose_nothing(collector: CollectorServer) -> None:
    def send(worker: int) -> None:
        with requests.Session() as session:
            for n in range(0, 100, 5):
                batch = [_track(worker * 1000 + i) for i in range(n, n + 5)]
                response = session.post(
                    f"{collector.url}/v1/batch", json={"batch": batch}, headers=_auth(), timeout=TIMEOUT
                )
                response.raise_for_status()

    threads = [threading.Thread(target=send, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ids = [m["messageId"] for m in _landed(collector)]
    assert sorted(ids) == sorted(f"msg-{w * 1000 + i}" for w in range(4) for i in range(100))


def test_a_torn_last_line_is_cut_and_kept_aside_on_start(tmp_path: Path) -> None:
    events_dir = tmp_path / "analytics" / "events"
    events_dir.mkdir(parents=True)
    damaged = events_dir / "events-20250101T000000Z-000001.jsonl"
    damaged.write_bytes(b'{"messageId":"a"}\n{"messageId":"b"}\n{"messageId":"c", "ty')

    server = make_server("127.0.0.1", 0, tmp_path, WRITE_KEY)
    server.close()

    assert damaged.read_bytes() == b'{"messageId":"a"}\n{"messageId":"b"}\n'
    [torn] = (tmp_path / "analytics" / "events_torn").glob("*.torn")
    assert torn.read_bytes() == b'{"messageId":"c", "ty'


def test_repairing_intact_files_changes_nothing(tmp_path: Path) -> None:
    intact = tmp_path / "events-20250101T000000Z-000001.jsonl"
    intact.write_bytes(b'{"messageId":"a"}\n')
    assert repair_torn_tails(tmp_path, tmp_path / "torn") == []
    assert intact.read_bytes() == b'{"messageId":"a"}\n'


def test_a_restart_continues_file_numbering(tmp_path: Path) -> None:
    for _ in range(2):
        server = _start(tmp_path)
        _post(server, "/v1/track", _track(1))
        server.stop()
    seqs = [p.name.rsplit("-", 1)[1] for p in sorted(server.events_dir.glob("*.jsonl"))]
    assert seqs == ["000001.jsonl", "000002.jsonl"]


def test_a_limit_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match="max_message_bytes must be positive"):
        CollectorLimits(max_message_bytes=0)


def test_no_write_key_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="COLLECTOR_WRITE_KEY"):
        make_server("127.0.0.1", 0, tmp_path, None)


def test_collect_command_refuses_to_start_without_a_write_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLLECTOR_WRITE_KEY", raising=False)
    result = CliRunner().invoke(app, ["collect", "--port", "0", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "COLLECTOR_WRITE_KEY" in result.output


def _lines(stream: Any) -> queue.Queue[str | None]:
    """Read a pipe from a thread, so that every wait on the child's output is bounded; None marks the end."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _rest(lines: queue.Queue[str | None]) -> str:
    text = []
    while (line := lines.get(timeout=TIMEOUT)) is not None:
        text.append(line)
    return "".join(text)


def test_collect_command_serves_until_ctrl_c_then_prints_a_summary(tmp_path: Path) -> None:
    env = {**os.environ, "COLLECTOR_WRITE_KEY": WRITE_KEY, "LANDING_DIR": str(tmp_path), "COLUMNS": "200"}
    command = [sys.executable, "-c", "from cli.main import app; app()", "collect", "--port", "0"]
    # as a shell's background job gets it: SIGINT ignored (CI ran the suite so, and Ctrl-C then did nothing)
    child = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        output = _lines(child.stdout)
        url = re.search(r"http://127\.0\.0\.1:\d+", output.get(timeout=TIMEOUT)).group(0)
        response = requests.post(f"{url}/v1/track", json=_track(1), headers=_auth(), timeout=TIMEOUT)
        child.send_signal(signal.SIGINT)
        try:
            returncode = child.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            pytest.fail(f"collector still running {TIMEOUT} s after Ctrl-C; its output:\n{_rest(output)}")
    finally:
        child.kill()
    assert returncode == 0
    assert response.status_code == 200
    assert re.search(r"messages written\W+1\b", _rest(output))
    assert len(list((tmp_path / "analytics" / "events").glob("events-*.jsonl"))) == 1


def test_every_acknowledged_message_survives_a_kill_9_mid_traffic(tmp_path: Path) -> None:
    env = {**os.environ, "COLLECTOR_WRITE_KEY": WRITE_KEY, "LANDING_DIR": str(tmp_path), "COLUMNS": "200"}
    command = [sys.executable, "-c", "from cli.main import app; app()", "collect", "--port", "0"]
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    acknowledged: list[str] = []
    enough = threading.Event()

    def send(url: str, worker: int) -> None:
        with requests.Session() as session:
            for n in range(0, 3_000, 10):
                batch = [_track(worker * 10_000 + i) for i in range(n, n + 10)]
                try:
                    response = session.post(
                        f"{url}/v1/batch", json={"batch": batch}, headers=_auth(), timeout=2
                    )
                except requests.ConnectionError:
                    return
                if response.ok:
                    acknowledged.extend(m["messageId"] for m in batch)
                if len(acknowledged) >= 300:
                    enough.set()

    try:
        url = re.search(r"http://127\.0\.0\.1:\d+", _lines(child.stdout).get(timeout=TIMEOUT)).group(0)
        senders = [threading.Thread(target=send, args=(url, worker)) for worker in range(3)]
        for sender in senders:
            sender.start()
        enough.wait(TIMEOUT)
        child.kill()  # while the senders are still posting
        for sender in senders:
            sender.join(TIMEOUT)
    finally:
        child.kill()
        child.wait(TIMEOUT)

    restarted = make_server("127.0.0.1", 0, tmp_path, WRITE_KEY)
    restarted.close()
    landed = [m["messageId"] for m in _landed(restarted)]
    assert len(acknowledged) >= 300
    assert set(acknowledged) <= set(landed)
