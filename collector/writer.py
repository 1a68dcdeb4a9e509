"""Durable, append-only JSONL files for the collector: whole lines, fsynced before anyone is told "ok".

Guarantees a caller may rely on:
- `append()` returns only after the bytes and (for a new file) its directory entry are fsynced, so an
  acknowledged message survives a crash or power loss.
- A request's lines go out in one `write()` on an `O_APPEND` descriptor under one lock: lines of concurrent
  requests never interleave, and a reader never sees half a line except at the end of a file during a write.
- Files are named `events-<UTC timestamp>-<seq>.jsonl` and rotate by size and age, so names sort in delivery
  order and a loader can pick up closed files while new ones fill.
- A crash mid-write can leave a torn last line (bytes of a request that was never acknowledged).
  `repair_torn_tails()` cuts it off at start-up and keeps its bytes in a `.torn` file elsewhere, so the
  loader never trips on it and nothing is silently thrown away. The complete lines of such a request may
  remain; the client resends it and the loader's de-duplication on `messageId` absorbs the repeat.
- Events hold personal data (emails in traits, IPs, URLs): every file written here, `.torn` ones included, is
  readable by its owner only (0600, core.files).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from core.files import PRIVATE_FILE_MODE, write_private

log = logging.getLogger(__name__)

FILE_PATTERN = re.compile(r"^events-(\d{8}T\d{6}Z)-(\d{6})\.jsonl$")
_TAIL_CHUNK = 64 * 1024


class WriterClosed(RuntimeError):
    """The collector is shutting down: the request was not written and must not be acknowledged."""


class EventWriter:
    """Appends complete JSONL lines to rotating files in one directory; one instance per directory."""

    def __init__(
        self,
        directory: Path,
        *,
        max_file_bytes: int = 64 * 1024 * 1024,
        max_file_age_seconds: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_file_bytes <= 0 or max_file_age_seconds <= 0:
            raise ValueError("max_file_bytes and max_file_age_seconds must be positive")
        self.directory = directory
        self.max_file_bytes = max_file_bytes
        self.max_file_age_seconds = max_file_age_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._size = 0
        self._opened_at = 0.0
        self._closed = False
        self._seq = _last_seq(directory)
        self.files: list[Path] = []
        """Every file this writer created, in order."""

    def append(self, lines: bytes) -> Path:
        """Write `lines` (complete, newline-terminated) durably; return the file they went to."""
        if not lines.endswith(b"\n"):
            raise ValueError("append() takes complete lines, ending with a newline")
        with self._lock:
            if self._closed:
                raise WriterClosed("the event writer is closed")
            if self._should_rotate(len(lines)):
                self._rotate()
            assert self._fd is not None
            _write_all(self._fd, lines)
            os.fsync(self._fd)
            self._size += len(lines)
            return self.files[-1]

    def close(self) -> None:
        """Wait for a write in progress, then close; later appends raise WriterClosed."""
        with self._lock:
            self._closed = True
            self._close_file()

    def _should_rotate(self, incoming: int) -> bool:
        if self._fd is None:
            return True
        too_big = self._size > 0 and self._size + incoming > self.max_file_bytes
        return too_big or self._clock() - self._opened_at >= self.max_file_age_seconds

    def _rotate(self) -> None:
        self._close_file()
        self._seq += 1
        stamp = datetime.fromtimestamp(self._clock(), UTC).strftime("%Y%m%dT%H%M%SZ")
        path = self.directory / f"events-{stamp}-{self._seq:06d}.jsonl"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, PRIVATE_FILE_MODE)
        _fsync_directory(self.directory)
        self._size, self._opened_at = 0, self._clock()
        self.files.append(path)
        log.info("writing events to %s", path)

    def _close_file(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _last_seq(directory: Path) -> int:
    """Continue numbering after the files already there, so a restart never reuses a name."""
    seqs = [int(m.group(2)) for p in directory.glob("events-*.jsonl") if (m := FILE_PATTERN.match(p.name))]
    return max(seqs, default=0)


def repair_torn_tails(directory: Path, quarantine_dir: Path) -> list[Path]:
    """Cut an unterminated last line off every events file; keep its bytes in `quarantine_dir`.

    Returns the `.torn` files written. Safe to run again after a crash halfway through.
    """
    kept: list[Path] = []
    for path in sorted(directory.glob("events-*.jsonl")):
        end = _end_of_last_line(path)
        if end is None:
            continue
        quarantine_dir.mkdir(parents=True, exist_ok=True)
        torn = quarantine_dir / f"{path.name}.{end}.torn"
        with path.open("rb") as source:
            source.seek(end)
            tail = source.read()
        write_private(torn, tail)
        with path.open("r+b") as damaged:
            damaged.truncate(end)
            os.fsync(damaged.fileno())
        log.warning("cut a torn last line (%d bytes) off %s; kept in %s", len(tail), path, torn)
        kept.append(torn)
    return kept


def _end_of_last_line(path: Path) -> int | None:
    """The offset just after the last newline when the file ends mid-line, else None (nothing to repair)."""
    size = path.stat().st_size
    if size == 0:
        return None
    with path.open("rb") as handle:
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return None
        position = size
        while position > 0:
            start = max(0, position - _TAIL_CHUNK)
            handle.seek(start)
            newline = handle.read(position - start).rfind(b"\n")
            if newline >= 0:
                return start + newline + 1
            position = start
    return 0
