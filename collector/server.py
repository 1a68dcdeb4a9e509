"""The collector's lifecycle: bind, serve a bounded number of connections, stop cleanly.

At most `max_connections` connections are served at once, a thread each; further ones wait in the kernel's
listen backlog (`listen_backlog`) until a slot frees. Stopping closes the listening socket, ends idle
connections, lets in-flight writes finish and closes the files. Each connection is a `CollectorHandler`
(handler.py); what it accepts is judged by head.py and messages.py, and written by writer.py.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from collector.contract import LoaderContract
from collector.handler import CollectorHandler
from collector.limits import CollectorLimits
from collector.message_ids import RecentMessageIds
from collector.stats import CollectorStats
from collector.writer import EventWriter, repair_torn_tails
from core.files import make_private

__all__ = ["CollectorLimits", "CollectorServer", "CollectorStats", "make_server", "serve"]

log = logging.getLogger(__name__)

EVENTS_SUBDIR = Path("analytics") / "events"
TORN_SUBDIR = Path("analytics") / "events_torn"
"""Where cut-off torn lines are kept: outside the events directory, with a suffix no loader globs."""
_SLOT_WAIT_SECONDS = 0.05
"""How long the accept loop waits for a free slot before it looks at a shutdown request again."""


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
        self.mailchimp: Any = None
        """Mailchimp's webhooks when served too (collector/mailchimp_webhook.py), else None."""
        self.extra_writers: list[EventWriter] = []
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
        for writer in self.extra_writers:
            writer.close()
        self.contract.close()


def make_server(
    host: str,
    port: int,
    landing_dir: Path,
    write_key: str | None,
    *,
    limits: CollectorLimits | None = None,
    clock: Callable[[], float] = time.time,
    mailchimp_secret: str | None = None,
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
    make_private(*events_dir.glob("events-*.jsonl"))  # files an earlier version left readable to others
    repair_torn_tails(events_dir, landing_dir / TORN_SUBDIR)
    writer = EventWriter(
        events_dir,
        max_file_bytes=limits.max_file_bytes,
        max_file_age_seconds=limits.max_file_age_seconds,
        clock=clock,
    )
    server = CollectorServer((host, port), write_key=write_key.strip(), writer=writer, limits=limits)
    if mailchimp_secret:  # Mailchimp's webhooks beside the Segment endpoints
        from collector.mailchimp_webhook import attach_webhook

        attach_webhook(server, landing_dir, mailchimp_secret, limits)
    return server


def serve(
    host: str,
    port: int,
    landing_dir: Path,
    write_key: str | None,
    *,
    limits: CollectorLimits | None = None,
    announce: Callable[[CollectorServer], None] | None = None,
    mailchimp_secret: str | None = None,
) -> CollectorStats:
    """Serve until Ctrl-C or SIGTERM, then finish in-flight writes and return the stats.

    `announce` is called once the socket is bound (the CLI prints where events go).
    """
    server = make_server(host, port, landing_dir, write_key, limits=limits, mailchimp_secret=mailchimp_secret)
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
