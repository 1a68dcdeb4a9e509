"""One connection of the Segment-compatible collector: read each request, judge it, store its messages, answer.

`POST /v1/batch` (and `/v1/import`), `/v1/track`, `/v1/page`, `/v1/identify`, `/v1/screen`, `/v1/group`,
`/v1/alias`, with HTTP basic auth (the write key as user name, as Segment's libraries send it; a `writeKey` in
the body is accepted when no Authorization header is sent). Answers as Segment does: `200 {"success": true}`
only after the messages are on disk; errors carry `code` and `message`, which Segment's clients report.

Every request gets an answer, in JSON: 400 bad JSON / bad message / bad HTTP, 401 bad write key, 404 unknown
path, 405 not a POST, 408 a request that did not arrive in time, 411 no Content-Length (or a chunked body), 413
body or message too large, 415 unknown Content-Encoding, 431 headers too large, 500 a bug of the collector, 503
while shutting down or when the disk refuses (the client retries 5xx). The connection's thread never lets an
error escape, so the server keeps serving after any of them.
"""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from collector.connection import READ_BUFFER, TimedReads, linger
from collector.head import Head, check_body_write_key, judge_head
from collector.messages import Batch, Rejection, accept_messages, decode_body
from collector.writer import WriterClosed

if TYPE_CHECKING:
    from collector.server import CollectorServer

log = logging.getLogger(__name__)

_MAX_REQUEST_LINE = 65536


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
        self._reads = TimedReads(self.connection, self.server.limits.idle_timeout_seconds)
        self.rfile = io.BufferedReader(self._reads, READ_BUFFER)
        self._unread_body = False

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if self._unread_body:
                linger(self.connection, self.server.limits.max_request_bytes + READ_BUFFER)

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
            head = self._check_head()
        except Rejection as rejection:
            self._refuse_before_body(rejection)
            return
        try:
            raw = self._read_body(head.length)
            document = decode_body(raw, self.headers.get("Content-Encoding"), self.server.limits.max_request_bytes)
            if not head.authorized:
                check_body_write_key(document, self.server.write_key)
            batch = accept_messages(
                head.route,
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

    def _check_head(self) -> Head:
        return judge_head(self.path, self.headers, self.server.write_key, self.server.limits.max_request_bytes)

    def _read_body(self, length: int) -> bytes:
        try:
            body = self.rfile.read(length)
        except TimeoutError as exc:
            self.close_connection = True
            timeout = self.server.limits.request_timeout_seconds
            raise Rejection(408, "request_timeout", f"the body did not arrive within {timeout:g} s") from exc
        if len(body) < length:
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


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
