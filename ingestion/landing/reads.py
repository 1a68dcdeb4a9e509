"""The read loops: landing files or API pages, through one `RecordReader`, to dlt items.

Bytes are pulled as the batch needs them (a landing file's bytes or an API page are held once), read ahead in a
thread while DuckDB works, cut into batches of BATCH_BYTES and flushed to parquet every FLUSH_BYTES. Each file
is named by its landing-relative path (a name that is not UTF-8 kept with escapes) in the state and quarantine.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt

from core.settings import Settings
from ingestion.landing.batch import Dedup
from ingestion.landing.drift import DRIFT_COLUMNS_KEY
from ingestion.landing.file_reads import HELD, NOT_READ, TOO_BIG, records_to_lines, unread_part
from ingestion.landing.files import resume_point, scan_landing
from ingestion.landing.lines import Chunk
from ingestion.landing.reader import RecordReader
from ingestion.landing.target import Target
from ingestion.spec import TableSpec

log = logging.getLogger(__name__)

BATCH_BYTES = 256 * 1024 * 1024
"""Bytes of input per DuckDB pass: bounds memory while keeping passes large enough to stay vectorised."""
FLUSH_BYTES = 1024 * 1024 * 1024
"""Bytes of input per parquet file handed to dlt (its rows wait in the reader's DuckDB, which spills)."""
MAX_WARNINGS = 20
"""Warnings a resource keeps for the load's report; the rest are counted (every one is logged)."""


def read_landing(
    spec: TableSpec,
    resource: str,
    directory: Path,
    landing_dir: Path,
    state: dict[str, Any],
    dedup: Dedup = "newest",
    *,
    settings: Settings,
) -> Iterator[Any]:
    """Yield dlt items for every new line under `directory`, recording progress in the resource `state`.

    What is not read is said in the load's report on every run (`BatchCounts.warnings`) and quarantined once
    (line 0: the file as a whole): links, FIFOs and folders named like landing files, folders outside the
    landing directory, files over LANDING_MAX_FILE_BYTES. A file that cannot be opened this run (moved away
    while the run lists them) is reported and read next run.

    `settings` gives that limit, the reader's DuckDB resources and the erasure ledger whose people's lines are
    skipped.
    """
    seen: dict[str, Any] = state.setdefault("files", {})
    reader = RecordReader(spec, resource, dedup, Target.current(), settings, state.setdefault(DRIFT_COLUMNS_KEY, {}))
    marks: dict[str, dict[str, Any]] = {}
    limit = settings.landing_max_file_bytes

    def chunks() -> Iterator[Chunk]:
        scan = scan_landing(directory, landing_dir)
        for path, why in scan.refused:
            origin = _relative(path, landing_dir)
            reader.warn(f"{origin}: {why}")
            if seen.get(origin) != {NOT_READ: why}:
                marks[origin] = {NOT_READ: why}
                yield Chunk(origin, b"", 0, damage=why)
        for path in scan.files:
            origin = _relative(path, landing_dir)
            try:
                read = unread_part(path, origin, seen.get(origin), spec, limit)
            except OSError as error:
                reader.warn(f"{origin}: not read this run ({error}); it is tried again on the next run")
                continue
            if read.warning:
                reader.warn(f"{origin}: {read.warning}")
            if read.mark is not None:
                marks[origin] = read.mark
            yield from (chunk for chunk in read.chunks if chunk.data or chunk.damage)

    try:
        yield from _read_batched(reader, _read_ahead(chunks()))
        # committed by dlt together with the load package that holds these files' rows
        seen.update(marks)
    finally:
        reader.close()
    _record_counts(resource, reader)


def has_unread(directory: Path, landing_dir: Path, seen: dict[str, Any]) -> bool:
    """Whether `read_landing` of `directory`, with the file marks `seen` (its resource state's `files`), would
    read or report anything: False only when every entry is a regular file read to its end whose consumed bytes
    still hash the same (`resume_point`), so a run would yield no item and no warning.

    What a run reports every time (links and other refused entries, files refused for their size, held-back
    gzip streams) and a file that cannot be looked at count as unread: the reader decides about them and says so.
    """
    scan = scan_landing(directory, landing_dir)
    if scan.refused:
        return True
    for path in scan.files:
        mark = seen.get(_relative(path, landing_dir))
        if not mark or any(key in mark for key in (NOT_READ, TOO_BIG, HELD)):
            return True
        try:
            if resume_point(path, mark) is not None:
                return True
        except OSError:
            return True
    return False


def read_pages(
    spec: TableSpec,
    resource: str,
    pages: Iterable[list[dict[str, Any]]],
    origin: str,
    state: dict[str, Any],
    dedup: Dedup = "newest",
    *,
    settings: Settings,
) -> Iterator[Any]:
    """Yield dlt items for API pages: each page goes through the same reader as a landing file would.

    The newest cursor value read is kept in the resource `state` (`api_cursor`, ISO-8601) for the next run to
    ask only for what changed since. It is the reader's own, not a `dlt.sources.incremental`: dlt cannot read
    a cursor out of the parquet files the reader hands over, and the state is committed with the load package
    just the same. `settings` as for `read_landing`.
    """
    reader = RecordReader(spec, resource, dedup, Target.current(), settings, state.setdefault(DRIFT_COLUMNS_KEY, {}))

    def chunks() -> Iterator[Chunk]:
        line = 1
        for page in pages:
            if page:
                yield Chunk(origin, records_to_lines(page), line, from_file=False)
                line += len(page)

    try:
        yield from _read_batched(reader, chunks())
    finally:
        reader.close()
    if reader.newest_cursor is not None:
        previous = state.get(API_CURSOR_KEY)
        if previous is None or datetime.fromisoformat(previous) < reader.newest_cursor:
            state[API_CURSOR_KEY] = reader.newest_cursor.isoformat()
    _record_counts(resource, reader)


def _read_ahead(chunks: Iterator[Chunk]) -> Iterator[Chunk]:
    """`chunks`, each read (bytes and line ends) in a thread while the reader's DuckDB works on the batch.

    Reading a file and searching its newlines release the GIL, and DuckDB leaves part of the cores idle
    between and within its statements, so the two overlap (docs/performance.md). One chunk ahead at most:
    memory holds one file more.
    """

    def pull() -> Chunk | None:
        chunk = next(chunks, None)
        if chunk is not None:
            chunk.ends  # noqa: B018 - the cached newline search, done here in the thread
        return chunk

    with ThreadPoolExecutor(1, thread_name_prefix="landing-read") as pool:
        pending = pool.submit(pull)
        while (chunk := pending.result()) is not None:
            pending = pool.submit(pull)
            yield chunk


def _read_batched(reader: RecordReader, chunks: Iterable[Chunk]) -> Iterator[Any]:
    """Read `chunks` in batches of about BATCH_BYTES; yield one file per table every FLUSH_BYTES and at the end.

    Chunks are only pulled as the batch needs them: a landing file's bytes or an API page are held once."""
    batch: list[Chunk] = []
    size = staged = 0
    for chunk in chunks:
        batch.append(chunk)
        size += len(chunk.data)
        if size >= BATCH_BYTES:
            reader.read(batch)
            staged += size
            batch, size = [], 0
            if staged >= FLUSH_BYTES:
                yield from reader.flush()
                staged = 0
    if batch:
        reader.read(batch)
    yield from reader.flush(final=True)


def api_origin(url: str) -> str:
    """Quarantine origin of an API run: the endpoint plus the run's start, so two runs never share keys."""
    return f"api:{url}#{datetime.now(UTC).isoformat(timespec='seconds')}"


API_CURSOR_KEY = "api_cursor"
"""Resource-state key of the newest cursor value an API run read (the next run's `updated_at_min`)."""
RUN_COUNTS_KEY = "last_run"
"""Resource-state key of the counts of the last run (`load()` reports them): load id, duplicates, superseded."""


def _record_counts(resource: str, reader: RecordReader) -> None:
    reader.report_overflow()
    counts = reader.counts
    log.info(
        "%s: %d rows, %d quarantined, %d repeated deliveries dropped, %d ids reused with other content "
        "quarantined, %d superseded by newer loaded versions, %d lines of erased people skipped",
        resource,
        counts.rows,
        counts.quarantined,
        counts.duplicates,
        counts.conflicts,
        counts.superseded,
        counts.erased,
    )
    dlt.current.resource_state()[RUN_COUNTS_KEY] = {
        "load_id": reader.target.load_id,
        "duplicates": counts.duplicates,
        "conflicts": counts.conflicts,
        "superseded": counts.superseded,
        "clearing_markers": counts.clearing_markers,
        "warnings": _capped(counts.warnings),
    }


def _capped(warnings: list[str]) -> list[str]:
    """At most MAX_WARNINGS of `warnings`, and how many more there were: the state travels with every load."""
    if len(warnings) <= MAX_WARNINGS:
        return list(warnings)
    return [*warnings[:MAX_WARNINGS], f"... and {len(warnings) - MAX_WARNINGS:,} more (see the log)"]


def _relative(path: Path, landing_dir: Path) -> str:
    """The landing-relative name of `path` (quarantine's source_file, the state's key): a name that is not UTF-8
    shows its undecodable bytes as escapes (`events-\\xff.jsonl`), since the state and the tables hold text."""
    try:
        relative = path.relative_to(landing_dir).as_posix()
    except ValueError:
        try:
            relative = path.resolve().relative_to(landing_dir.resolve()).as_posix()
        except ValueError:
            relative = path.resolve().as_posix()
    return os.fsencode(relative).decode("utf-8", errors="backslashreplace")
