"""The part every fake API shares: a threaded HTTP server on a free port, request log, failure injection."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

SHUTDOWN_TIMEOUT_SECONDS = 5.0
POLL_INTERVAL_SECONDS = 0.02
"""How soon `shutdown()` is noticed: short, so a test's with block closes at once."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it; header names lower-cased."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeApiServer:
    """Serve `handle()` on 127.0.0.1:<free port> while inside a `with` block.

    `inject()` queues canned replies (429 with Retry-After, 503, ...) that the next requests get before the
    normal handler runs: that is how tests stage rate limits and outages deterministically.
    """

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._injected: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def handle(self, request: RecordedRequest) -> Reply:
        raise NotImplementedError("subclasses answer requests")

    def inject(
        self, status: int, *, times: int = 1, headers: dict[str, str] | None = None, body: Any = None
    ) -> None:
        with self._lock:
            self._injected.extend(Reply(status, body, dict(headers or {})) for _ in range(times))

    def rate_limit(self, *, times: int = 1, retry_after: str = "2.0") -> None:
        self.inject(
            429, times=times, headers={"Retry-After": retry_after}, body={"errors": "Too many requests"}
        )

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake server is not running; use it in a with block")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(POLL_INTERVAL_SECONDS,),
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(SHUTDOWN_TIMEOUT_SECONDS)

    def dispatch(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            injected = self._injected.popleft() if self._injected else None
        return injected or self.handle(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        parts = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        reply = self.server.fake.dispatch(request)  # type: ignore[attr-defined]
        payload = json.dumps(reply.body).encode() if reply.body is not None else b""
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests assert on `FakeApiServer.requests` instead."""


def page_window(items: list[Any], offset: int, limit: int) -> tuple[list[Any], int | None]:
    """A page of `items` from `offset`, and the next offset (None on the last page)."""
    page = items[offset : offset + limit]
    following = offset + limit
    return page, following if following < len(items) else None
