"""The Segment-compatible HTTP collector: the Tracking API in, durable JSONL landing files out.

`POST /v1/batch` (and `/v1/import`), `/v1/track`, `/v1/page`, `/v1/identify`, `/v1/screen`, `/v1/group`,
`/v1/alias`, with HTTP basic auth (the write key as user name, as Segment's libraries send it; a `writeKey` in
the body is accepted when no Authorization header is sent). Answers as Segment does: `200 {"success": true}`
only after the messages are on disk; errors carry `code` and `message`, which Segment's clients report.

Statuses: 400 bad JSON / bad message, 401 bad write key, 404 unknown path, 411 no Content-Length, 413 body or
message too large, 415 unknown Content-Encoding, 503 while shutting down or when the disk refuses (the client
retries those). The server keeps serving after any of them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ingestion.collector.messages import BATCH_PATHS, SINGLE_PATHS, Rejection, accept_messages, decode_body
from ingestion.collector.writer import EventWriter, WriterClosed, repair_torn_tails

log = logging.getLogger(__name__)

EVENTS_SUBDIR = Path("analytics") / "events"
TORN_SUBDIR = Path("analytics") / "events_torn"
"""Where cut-off torn lines are kept: outside the events directory, with a suffix no loader globs."""
ROUTES = frozenset(BATCH_PATHS) | frozenset(SINGLE_PATHS)


@dataclass(frozen=True)
class CollectorLimits:
    """Size and rotation limits; the size defaults are Segment's (500 KB a batch, 32 KB a message)."""

    max_request_bytes: int = 500 * 1024
    max_message_bytes: int = 32 * 1024
    max_file_bytes: int = 64 * 1024 * 1024
    max_file_age_seconds: float = 300.0
    idle_timeout_seconds: float = 30.0
    """How long a keep-alive connection may sit silent (or a body trickle in) before it is closed."""

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value <= 0:
                raise ValueError(f"collector limit {name} must be positive, got {value}")


@dataclass
class CollectorStats:
    """What the collector did, for the closing summary; updated under a lock by the request threads."""

    messages_written: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, status: int, messages: int = 0) -> None:
        with self._lock:
            self.statuses[status] += 1
            self.messages_written += messages

    @property
    def requests_accepted(self) -> int:
        return self.statuses[200]

    @property
    def requests_rejected(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)


class CollectorServer(ThreadingHTTPServer):
    """A threaded HTTP server holding the write key, the limits, the one writer and the stats."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], *, write_key: str, writer: EventWriter, limits: CollectorLimits
    ) -> None:
        super().__init__(address, CollectorHandler)
        self.write_key = write_key
        self.writer = writer
        self.limits = limits
        self.stats = CollectorStats()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def events_dir(self) -> Path:
        return self.writer.directory

    def serve_in_background(self, poll_interval: float = 0.05) -> threading.Thread:
        """Serve from a daemon thread (tests, embedding); `stop()` ends it."""
        self._thread = threading.Thread(
            target=self.serve_forever, args=(poll_interval,), name="collector", daemon=True
        )
        self._thread.start()
        return self._thread

    def stop(self, timeout_seconds: float = 5.0) -> None:
        """Stop a background server: no new requests, in-flight writes finish, files closed."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout_seconds)
        self.close()

    def close(self) -> None:
        """Close the listening socket, then the writer (waiting for a write in progress)."""
        self.server_close()
        self.writer.close()


def make_server(
    host: str,
    port: int,
    landing_dir: Path,
    write_key: str | None,
    *,
    limits: CollectorLimits | None = None,
    clock: Callable[[], float] = time.time,
) -> CollectorServer:
    """Bind a collector (port 0: any free port), after repairing torn lines a crash may have left.

    Raises ValueError when no write key is given: an open collector would accept anyone's events.
    """
    if not write_key or not write_key.strip():
        raise ValueError(
            "no collector write key: set COLLECTOR_WRITE_KEY (the key your Segment clients send)"
        )
    limits = limits or CollectorLimits()
    events_dir = landing_dir / EVENTS_SUBDIR
    events_dir.mkdir(parents=True, exist_ok=True)
    repair_torn_tails(events_dir, landing_dir / TORN_SUBDIR)
    writer = EventWriter(
        events_dir,
        max_file_bytes=limits.max_file_bytes,
        max_file_age_seconds=limits.max_file_age_seconds,
        clock=clock,
    )
    return CollectorServer((host, port), write_key=write_key.strip(), writer=writer, limits=limits)


def serve(
    host: str,
    port: int,
    landing_dir: Path,
    write_key: str | None,
    *,
    limits: CollectorLimits | None = None,
    announce: Callable[[CollectorServer], None] | None = None,
) -> CollectorStats:
    """Serve until Ctrl-C or SIGTERM, then finish in-flight writes and return the stats.

    `announce` is called once the socket is bound (the CLI prints where events go).
    """
    server = make_server(host, port, landing_dir, write_key, limits=limits)
    if threading.current_thread() is threading.main_thread():
        # SIGINT too: a process started in the background by a non-interactive shell inherits it ignored,
        # and Python then installs no KeyboardInterrupt for it (found when CI ran the suite in the background)
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop_signal, _interrupt)
    if announce:
        announce(server)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("collector stopping")
    finally:
        server.close()
    return server.stats


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class CollectorHandler(BaseHTTPRequestHandler):
    """One connection; answers every request with JSON and never lets an error escape to the server loop."""

    server: CollectorServer
    protocol_version = "HTTP/1.1"
    server_version = "warehouse-collector"

    def setup(self) -> None:
        self.timeout = self.server.limits.idle_timeout_seconds
        super().setup()

    def do_POST(self) -> None:
        try:
            written = self._collect()
        except Rejection as rejection:
            log.info("rejected %s: %s", self.path, rejection)
            self._reply(rejection.status, rejection.body())
        except WriterClosed:
            self._reply(503, {"success": False, "code": "shutting_down", "message": "collector is stopping"})
        except OSError:
            log.exception("could not write events for %s", self.path)
            self._reply(503, {"success": False, "code": "storage_error", "message": "events not stored"})
        else:
            self._reply(200, {"success": True}, written)

    def do_GET(self) -> None:
        self._reply(405, {"success": False, "code": "method_not_allowed", "message": "use POST"})

    def _collect(self) -> int:
        raw = self._read_body()  # first, so that a keep-alive connection stays in step whatever the answer
        path = urlsplit(self.path).path.rstrip("/")
        if path not in ROUTES:
            raise Rejection(404, "not_found", f"no endpoint {path}; use {', '.join(sorted(ROUTES))}")
        authorized = self._check_basic_auth()
        document = decode_body(
            raw, self.headers.get("Content-Encoding"), self.server.limits.max_request_bytes
        )
        if not authorized:
            self._check_body_write_key(document)
        messages = accept_messages(
            path, document, received_at=_now_iso(), max_message_bytes=self.server.limits.max_message_bytes
        )
        if messages:
            lines = b"".join(
                json.dumps(m, separators=(",", ":"), ensure_ascii=False).encode() + b"\n" for m in messages
            )
            self.server.writer.append(lines)
        return len(messages)

    def _check_basic_auth(self) -> bool:
        """True when Basic auth carries the write key; False when absent (the body may carry it)."""
        header = self.headers.get("Authorization")
        if header is None:
            return False
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "basic":
            raise _unauthorized("only HTTP basic auth with the write key as user name is accepted")
        try:
            user = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise _unauthorized("malformed basic auth credentials") from exc
        if not hmac.compare_digest(user.encode(), self.server.write_key.encode()):
            raise _unauthorized("invalid write key")
        return True

    def _check_body_write_key(self, document: Any) -> None:
        key = document.get("writeKey") if isinstance(document, dict) else None
        if not isinstance(key, str) or not hmac.compare_digest(key.encode(), self.server.write_key.encode()):
            raise _unauthorized("missing or invalid write key")

    def _read_body(self) -> bytes:
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self.close_connection = True
            raise Rejection(411, "length_required", "a Content-Length header is required")
        try:
            length = int(length_header)
            if length < 0:  # int() takes "-5"; reading a negative length would fail the handler
                raise ValueError(length_header)
        except ValueError as exc:
            self.close_connection = True
            raise Rejection(
                400, "invalid_request", f"Content-Length {length_header!r} is not a number of bytes"
            ) from exc
        limit = self.server.limits.max_request_bytes
        if length > limit:
            self.close_connection = True  # the unread body must not be taken for the next request
            raise Rejection(413, "body_too_large", f"body is {length:,} bytes, over the {limit:,} limit")
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            raise Rejection(400, "invalid_request", "the body ended before Content-Length bytes")
        return body

    def _reply(self, status: int, body: dict[str, Any], messages: int = 0) -> None:
        self.server.stats.record(status, messages)
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            log.info("client went away before the %d reply to %s", status, self.path)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def _unauthorized(message: str) -> Rejection:
    return Rejection(401, "unauthorized", message)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
