"""The Segment-compatible HTTP collector: the Tracking API in, durable JSONL landing files out.

`POST /v1/batch` (and `/v1/import`), `/v1/track`, `/v1/page`, `/v1/identify`, `/v1/screen`, `/v1/group`,
`/v1/alias`, with HTTP basic auth (the write key as user name, as Segment's libraries send it; a `writeKey` in
the body is accepted when no Authorization header is sent). Answers as Segment does: `200 {"success": true}`
only after the messages are on disk; errors carry `code` and `message`, which Segment's clients report.

Every request gets an answer, in JSON: 400 bad JSON / bad message / bad HTTP, 401 bad write key, 404 unknown
path, 405 not a POST, 408 a request that did not arrive in time, 411 no Content-Length (or a chunked body), 413
body or message too large, 415 unknown Content-Encoding, 431 headers too large, 500 a bug of the collector, 503
while shutting down or when the disk refuses (the client retries 5xx). The server keeps serving after any of them.

Against hostile clients: what the head of a request decides (path, Basic auth, Content-Length) is checked
before a byte of the body is read; at most `max_connections` connections are served at once, a thread each,
and further ones wait in the kernel's listen backlog (`listen_backlog`) until a slot frees; a connection silent
for `idle_timeout_seconds` is closed, and a request that takes longer than `request_timeout_seconds` from its
first byte to its body's last gets 408, however slowly it trickles.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import io
import json
import logging
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from collector.contract import LoaderContract
from collector.message_ids import RecentMessageIds, Repeats
from collector.messages import BATCH_PATHS, SINGLE_PATHS, Batch, Rejection, accept_messages, decode_body
from collector.writer import EventWriter, WriterClosed, repair_torn_tails

log = logging.getLogger(__name__)

EVENTS_SUBDIR = Path("analytics") / "events"
TORN_SUBDIR = Path("analytics") / "events_torn"
"""Where cut-off torn lines are kept: outside the events directory, with a suffix no loader globs."""
ROUTES = frozenset(BATCH_PATHS) | frozenset(SINGLE_PATHS)
_SLOT_WAIT_SECONDS = 0.05
"""How long the accept loop waits for a free slot before it looks at a shutdown request again."""
_LINGER_SECONDS = 2.0
"""How long a refused body is read and dropped after the answer, so the client can read the answer."""
_MAX_REQUEST_LINE = 65536
_READ_BUFFER = 64 * 1024


@dataclass(frozen=True)
class CollectorLimits:
    """Size, rotation, time and connection limits; the size defaults are Segment's (500 KB a batch, 32 KB a message)."""

    max_request_bytes: int = 500 * 1024
    max_message_bytes: int = 32 * 1024
    max_file_bytes: int = 64 * 1024 * 1024
    max_file_age_seconds: float = 300.0
    idle_timeout_seconds: float = 15.0
    """How long a connection may stay silent before a request (or between two); then it is closed unanswered."""
    request_timeout_seconds: float = 30.0
    """How long a request may take from its first byte to its body's last; then it is answered 408."""
    max_connections: int = 64
    """Connections served at once (a thread each); more wait in the listen backlog until one ends."""
    listen_backlog: int = 128
    """Connections the kernel holds while every slot is busy (capped by the kernel's `somaxconn`)."""
    remembered_message_ids: int = 100_000
    """Recent client message ids kept to tell a retry from a reused id with other content (message_ids.py)."""

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value <= 0:
                raise ValueError(f"collector limit {name} must be positive, got {value}")


@dataclass
class CollectorStats:
    """What the collector did, for the closing summary; updated under a lock by the request threads."""

    messages_written: int = 0
    messages_rejected: int = 0
    """Messages refused one by one inside requests (a request refused whole counts in `statuses` only)."""
    redelivered_message_ids: int = 0
    """Messages stored again with the content of an earlier one (a client's retry): the loader keeps one."""
    conflicting_message_ids: int = 0
    """Messages stored with the id of an earlier one but other content: the loader keeps the earlier one."""
    statuses: Counter[int] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, status: int, messages: int = 0, rejected: int = 0) -> None:
        with self._lock:
            self.statuses[status] += 1
            self.messages_written += messages
            self.messages_rejected += rejected

    def record_repeats(self, repeats: Repeats) -> None:
        with self._lock:
            self.redelivered_message_ids += repeats.redelivered
            self.conflicting_message_ids += len(repeats.conflicting)

    @property
    def requests_accepted(self) -> int:
        return self.statuses[200]

    @property
    def requests_rejected(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)


class _AllSlotsBusy(OSError):
    """No free slot: the accept loop leaves the connection in the listen backlog and tries again."""


class CollectorServer(ThreadingHTTPServer):
    """A threaded HTTP server holding the write key, the limits, the one writer and the stats.

    At most `limits.max_connections` connections are accepted at a time: the accept loop takes a slot before
    it accepts, so the others wait in the kernel's backlog of `limits.listen_backlog` connections.
    """

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], *, write_key: str, writer: EventWriter, limits: CollectorLimits
    ) -> None:
        self.request_queue_size = limits.listen_backlog  # what server_activate() passes to listen()
        self.limits = limits
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.stopping = False
        super().__init__(address, CollectorHandler)
        self.write_key = write_key
        self.writer = writer
        self.stats = CollectorStats()
        self.contract = LoaderContract()
        self.message_ids = RecentMessageIds(limits.remembered_message_ids)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def events_dir(self) -> Path:
        return self.writer.directory

    @property
    def active_connections(self) -> int:
        """Connections being served now (each holds a slot and a thread)."""
        with self._connections_lock:
            return len(self._connections)

    def get_request(self) -> tuple[socket.socket, Any]:
        if not self._slots.acquire(timeout=_SLOT_WAIT_SECONDS):
            raise _AllSlotsBusy("every connection slot is busy")
        try:
            connection, address = super().get_request()
        except BaseException:
            self._slots.release()
            raise
        with self._connections_lock:
            self._connections.add(connection)
        return connection, address

    def process_request(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started: the slot is not going to be freed by one
            self._free(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._free(request)

    def _free(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A handler failed in a way it did not answer: log it (never print a traceback to the console)."""
        log.error("the connection from %s failed", client_address, exc_info=True)

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
        """Close the listening socket, end idle connections, wait for the handlers, then close the writer."""
        self.stopping = True
        with self._connections_lock:
            for connection in self._connections:  # a handler waiting for a request sees the end and returns
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RD)
        self.server_close()
        self.writer.close()
        self.contract.close()


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


class _TimedReads(socket.SocketIO):
    """A connection's reads, each given the idle timeout, or once a request began only the time it has left."""

    def __init__(self, connection: socket.socket, idle_timeout: float) -> None:
        super().__init__(connection, "rb")
        self._connection = connection
        self.idle_timeout = idle_timeout
        self.deadline: float | None = None
        """When the request being read must be complete (time.monotonic()); None between requests."""

    def readinto(self, buffer: Any) -> int | None:
        timeout = self.idle_timeout if self.deadline is None else self.deadline - time.monotonic()
        if timeout <= 0:
            raise TimeoutError("the request took longer than it may")
        self._connection.settimeout(timeout)
        return super().readinto(buffer)


class CollectorHandler(BaseHTTPRequestHandler):
    """One connection; answers every request with JSON and never lets an error escape to the server loop."""

    server: CollectorServer
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.1"  # so that even a garbled request line gets a status line
    server_version = "warehouse-collector"
    disable_nagle_algorithm = True

    def setup(self) -> None:
        self.timeout = self.server.limits.idle_timeout_seconds
        super().setup()
        self.rfile.close()  # the plain reader: replaced by one whose reads keep the request's deadline
        self._reads = _TimedReads(self.connection, self.server.limits.idle_timeout_seconds)
        self.rfile = io.BufferedReader(self._reads, _READ_BUFFER)
        self._unread_body = False

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if self._unread_body:
                self._linger()

    def handle_one_request(self) -> None:
        """Wait (idle timeout) for a request, then read and answer it within the request timeout."""
        limits = self.server.limits
        self._reads.deadline = None
        self.command, self.path, self.requestline = "", "", ""
        self.request_version = self.default_request_version
        try:
            if not self.rfile.peek(1):  # the client closed the connection
                self.close_connection = True
                return
        except OSError:  # silent for the idle timeout, reset, or the collector stopping: nothing was asked
            self.close_connection = True
            return
        self._reads.deadline = time.monotonic() + limits.request_timeout_seconds
        try:
            self._handle_request()
        except TimeoutError:
            self.close_connection = True
            message = f"the request did not arrive within {limits.request_timeout_seconds:g} s"
            self._reply(408, {"success": False, "code": "request_timeout", "message": message})
        except OSError as exc:  # the client reset the connection: there is no one to answer
            log.info("connection from %s ended mid-request: %s", self.client_address[0], exc)
            self.close_connection = True
        except Exception:  # a bug: still an answer (the client retries 5xx), and the traceback in the log
            log.exception("could not handle %s %s", self.command, self.path)
            self.close_connection = True
            self._reply(500, {"success": False, "code": "internal_error", "message": "the collector failed"})

    def _handle_request(self) -> None:
        self.raw_requestline = self.rfile.readline(_MAX_REQUEST_LINE + 1)
        if len(self.raw_requestline) > _MAX_REQUEST_LINE:
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if not self.parse_request():  # it has answered
            return
        if self.command != "POST":
            self._refuse_before_body(Rejection(405, "method_not_allowed", f"{self.command} is not allowed; use POST"))
            return
        self.do_POST()

    def handle_expect_100(self) -> bool:
        """`Expect: 100-continue`: judge the head first, so that a refused client never sends its body."""
        try:
            self._check_head()
        except Rejection as rejection:
            self._refuse_before_body(rejection)
            return False
        return super().handle_expect_100()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, headers too large), answered in JSON like the rest."""
        self.close_connection = True
        status = HTTPStatus(code)
        body = {"success": False, "code": status.phrase.lower().replace(" ", "_"), "message": message or status.phrase}
        self._reply(code, body)

    def do_POST(self) -> None:
        try:
            authorized = self._check_head()
        except Rejection as rejection:
            self._refuse_before_body(rejection)
            return
        try:
            raw = self._read_body()
            document = decode_body(raw, self.headers.get("Content-Encoding"), self.server.limits.max_request_bytes)
            if not authorized:
                self._check_body_write_key(document)
            batch = accept_messages(
                self._route,
                document,
                received_at=_now_iso(),
                max_message_bytes=self.server.limits.max_message_bytes,
                contract=self.server.contract,
            )
        except Rejection as rejection:
            log.info("rejected %s: %s", self.path, rejection)
            self._reply(rejection.status, rejection.body())
            return
        self._store(batch)

    def _store(self, batch: Batch) -> None:
        """Write the batch's good messages, then answer: 200, or the refusal of its bad ones."""
        try:
            if batch.accepted:
                self.server.writer.append(batch.lines)
        except WriterClosed:
            self._reply(503, {"success": False, "code": "shutting_down", "message": "collector is stopping"})
            return
        except OSError:
            log.exception("could not write events for %s", self.path)
            self._reply(503, {"success": False, "code": "storage_error", "message": "events not stored"})
            return
        repeats = self.server.message_ids.record([(m.message_id, m.digest) for m in batch.accepted])
        self.server.stats.record_repeats(repeats)
        details: dict[str, Any] = {}
        if repeats.conflicting:
            details["conflicting_message_ids"] = repeats.conflicting
            log.warning(
                "messageIds stored again with different content (the loader keeps the first version): %s; "
                "%d such messages since start",
                ", ".join(repeats.conflicting),
                self.server.stats.conflicting_message_ids,
            )
        stored = len(batch.accepted)
        rejection = batch.rejection(stored, details)
        if rejection is not None:
            log.info("rejected part of %s: %s", self.path, rejection)
            self._reply(rejection.status, rejection.body(), stored, len(batch.errors))
        else:
            self._reply(200, {"success": True, **details}, stored)

    def _check_head(self) -> bool:
        """Judge what the head decides, before the body: path, Basic auth, Content-Length.

        True when Basic auth carries the write key; False when there is none (the body may carry the key).
        """
        self._route = urlsplit(self.path).path.rstrip("/")
        if self._route not in ROUTES:
            raise Rejection(404, "not_found", f"no endpoint {self._route}; use {', '.join(sorted(ROUTES))}")
        authorized = self._check_basic_auth()
        self._length = self._content_length()
        return authorized

    def _check_basic_auth(self) -> bool:
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
        if not _same_key(user, self.server.write_key):
            raise _unauthorized("invalid write key")
        return True

    def _check_body_write_key(self, document: Any) -> None:
        key = document.get("writeKey") if isinstance(document, dict) else None
        if not isinstance(key, str) or not _same_key(key, self.server.write_key):
            raise _unauthorized("missing or invalid write key")

    def _content_length(self) -> int:
        if self.headers.get("Transfer-Encoding", "identity").strip().lower() != "identity":
            raise Rejection(411, "length_required", "chunked bodies are not accepted: send a Content-Length")
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise Rejection(411, "length_required", "a Content-Length header is required")
        try:
            length = int(length_header)
            if length < 0:  # int() takes "-5"; reading a negative length would fail the handler
                raise ValueError(length_header)
        except ValueError as exc:
            raise Rejection(
                400, "invalid_request", f"Content-Length {length_header!r} is not a number of bytes"
            ) from exc
        limit = self.server.limits.max_request_bytes
        if length > limit:
            raise Rejection(413, "body_too_large", f"body is {length:,} bytes, over the {limit:,} limit")
        return length

    def _read_body(self) -> bytes:
        try:
            body = self.rfile.read(self._length)
        except TimeoutError as exc:
            self.close_connection = True
            timeout = self.server.limits.request_timeout_seconds
            raise Rejection(408, "request_timeout", f"the body did not arrive within {timeout:g} s") from exc
        if len(body) < self._length:
            self.close_connection = True
            if self.server.stopping:
                raise Rejection(503, "shutting_down", "collector is stopping")
            raise Rejection(400, "invalid_request", "the body ended before Content-Length bytes")
        return body

    def _refuse_before_body(self, rejection: Rejection) -> None:
        """Answer a request refused by its head; its body, unread, ends the connection (read and dropped)."""
        log.info("rejected %s %s: %s", self.command, self.path, rejection)
        self.close_connection = True
        self._unread_body = "Transfer-Encoding" in self.headers or self.headers.get("Content-Length", "0") != "0"
        self._reply(rejection.status, rejection.body())

    def _linger(self) -> None:
        """Read and drop what the client still sends of a refused body, for a short while: closing a socket with
        unread bytes resets the connection, and a client still sending would lose the answer it was given."""
        budget = self.server.limits.max_request_bytes + _READ_BUFFER
        deadline = time.monotonic() + _LINGER_SECONDS
        try:
            self.connection.shutdown(socket.SHUT_WR)
            while budget > 0 and (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                chunk = self.connection.recv(min(budget, _READ_BUFFER))
                if not chunk:
                    return
                budget -= len(chunk)
        except OSError:
            return

    def _reply(self, status: int, body: dict[str, Any], messages: int = 0, rejected: int = 0) -> None:
        self.server.stats.record(status, messages, rejected)
        payload = json.dumps(body).encode()
        try:
            self.connection.settimeout(self.server.limits.request_timeout_seconds)
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


def _same_key(offered: str, write_key: str) -> bool:
    # surrogatepass: a lone surrogate in a JSON writeKey is a wrong key, not an encoding error
    return hmac.compare_digest(offered.encode("utf-8", "surrogatepass"), write_key.encode("utf-8", "surrogatepass"))


def _unauthorized(message: str) -> Rejection:
    return Rejection(401, "unauthorized", message)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
