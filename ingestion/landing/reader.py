"""The one reader behind every resource: landing lines (or API pages) in, parquet files for dlt out.

Why one reader: every system has the same problems (broken lines, wrong types, unknown fields, re-delivered
records, files that grow or get replaced) and they are solved once, the same way, here. Each resource only
declares its `TableSpec` (ingestion/spec.py).

How a batch is read (all in an in-memory DuckDB, so the heavy lifting is vectorised C++, not Python rows):

1. Bytes are cut into lines with numpy and handed to DuckDB as one Arrow string column, zero-copy (a batch
   with invalid UTF-8 is decoded line by line instead). A file holding one JSON document (an API response, a
   Segment batch body) is first unwrapped into one line per record, each record given the envelope's metadata
   where the spec says how (`document_records`).
2. Each line is classified: invalid UTF-8, not JSON, not an object, missing key, a known column whose value
   does not fit its declared type, a child list item that does not fit. Such lines go to the quarantine table
   with file, line, raw text (64 KiB at most) and reason; nothing is dropped silently.
3. The declared columns are extracted with one typed parse per line (`from_json` into a struct of exactly
   the fields read); lists become child tables carrying the parent key; within a batch one version per key
   survives (newest cursor for entities, first delivery for events); against the destination, events it
   already holds and entity versions older than the one it holds (`superseded`) are dropped and counted. An
   event id delivered again with other content is not a retry: it is quarantined and counted as a conflict.
4. Schema drift: a field in a read object that the spec does not declare becomes a new text column holding
   the field's JSON text. Because it is always text, a later change of the field's type cannot corrupt the
   column; dbt decides what it means. dlt's schema contract is `columns: evolve` (new columns welcome) and
   `data_type: freeze` (a type change of an existing column fails loudly instead of creating a variant
   column), which cannot trigger because every value is cast or quarantined here first. A field keeps its
   column in every later run, and two fields whose names normalize alike get two (`foo_bar`, `foo_bar_2`).
   Drift is capped (MAX_NEW_COLUMNS_PER_RUN, MAX_DRIFT_COLUMNS), and a field past the caps, or whose name
   cannot name a column (empty, blank, a NUL), is kept in the record's `_overflow_fields` JSON instead.
5. Each table's rows of every FLUSH_BYTES of input leave as one parquet file written by DuckDB, `_dlt_load_id`
   and `_dlt_id` included, in the column order of the pipeline's schema, which dlt imports without rewriting.

Incremental files: each resource keeps, in its dlt state, per file the size, bytes and lines consumed, and a
hash of the first and of the last consumed 4 KiB. An unchanged file is skipped after reading 8 KiB; a file
that grew is read from where it stopped (line numbers continue); a file that shrank or whose hashes changed
was replaced and is read again from the start (keys make that harmless). The state is committed by dlt
together with the load package, so a crash never records a file as read without its rows.

Gzip-compressed files (`*.jsonl.gz`, `*.json.gz`: Segment's S3 exports, bulk exports) are read the same way:
their bytes consumed are compressed bytes, and a grown file is decompressed again and its lines already
read are skipped. A stream that ends early is a file still being written (its complete lines are read now,
and the load's report says what waits); the lines of a damaged member are quarantined with their text, since
zlib notices damage only after it has decoded altered text, and the file is not read past it.

What is read at all: regular files inside the landing directory, of at most LANDING_MAX_FILE_BYTES of JSON
text per run (decompressed). Links, FIFOs, folders outside the landing directory and bigger files are not
read: quarantined once (line 0, or the first line not read) and reported on every run. A UTF-8 byte order mark
at the start of a file is not part of its first record; a file name that is not UTF-8 is kept with escapes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import shutil
import stat
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, partial
from pathlib import Path
from typing import Any, Literal

import dlt
import duckdb
import numpy as np
import pyarrow as pa

from core.settings import get_settings
from ingestion.spec import (
    CLEARS_PARENT,
    DECIMAL_PRECISION,
    DECIMAL_SCALE,
    LINEAGE_COLUMNS,
    LIST_POSITION,
    OVERFLOW_COLUMN,
    QUARANTINE_COLUMNS,
    QUARANTINE_TABLE,
    SQL_TYPES,
    ChildSpec,
    Column,
    ColumnType,
    TableSpec,
    pointer_keys,
    sql_literal,
)
from privacy.erasure import drop_erased_lines

log = logging.getLogger(__name__)

RAW_LINE_MAX_BYTES = 64 * 1024
"""Quarantine keeps at most this much of a bad line: enough to diagnose, bounded for a 1 GB garbage line."""
BATCH_BYTES = 256 * 1024 * 1024
"""Bytes of input per DuckDB pass: bounds memory while keeping passes large enough to stay vectorised."""
FLUSH_BYTES = 1024 * 1024 * 1024
"""Bytes of input per parquet file handed to dlt (its rows wait in the reader's DuckDB, which spills)."""
HASH_BYTES = 4096
LANDING_SUFFIXES = (".jsonl", ".json")
"""Landing files hold JSON lines or one JSON document; either may also be gzip-compressed (`.jsonl.gz`)."""
GZIP_SUFFIX = ".gz"
_INFLATE_STEP = 1024 * 1024
"""Compressed bytes inflated per call (a damaged step is inflated again in small pieces, to keep its text)."""
BOM = b"\xef\xbb\xbf"
"""A UTF-8 byte order mark, which Windows tools write at the start of a file: not part of the first record."""
MAX_NEW_COLUMNS_PER_RUN = 200
"""Drift columns one run may add to a table; further new fields of the run are kept in OVERFLOW_COLUMN (JSON).
Every column a batch reads costs the reader's DuckDB memory: 2,000 new fields in one file ran it out of 2GB
(and a Shopify order brings ~70 fields the spec does not read)."""
MAX_DRIFT_COLUMNS = 500
"""Drift columns a table may get in all: past it every new field stays in OVERFLOW_COLUMN, so a client that puts
ids in field names (`{"order_123": ...}`) cannot widen a table run after run."""
DRIFT_COLUMNS_KEY = "drift_columns"
"""Resource-state key of the drift columns named so far (field pointer -> column): a field keeps its column in
every later run, and two fields whose names normalize alike never share one."""
REEXTRACT_SHARE = 10
"""Events' content comparison: repeats (and their first deliveries) up to 1/10 of a batch are extracted again
from their lines; more, and the batch's typed table is read whole instead (see `_quarantine_conflicts`)."""
MAX_WARNINGS = 20
"""Warnings a resource keeps for the load's report; the rest are counted (every one is logged)."""
SCHEMA_CONTRACT = {"tables": "evolve", "columns": "evolve", "data_type": "freeze"}
"""New tables and columns are welcome (drift); an existing column never changes type."""

Dedup = Literal["newest", "first"]
"""Which version of a key survives a batch: the newest cursor (entities) or the first delivery (events)."""

_DLT_SQL_TYPES = {
    "text": "VARCHAR",
    "json": "VARCHAR",
    "bigint": "BIGINT",
    "bool": "BOOLEAN",
    "double": "DOUBLE",
    "timestamp": "TIMESTAMPTZ",
    "decimal": f"DECIMAL({DECIMAL_PRECISION},{DECIMAL_SCALE})",
}
"""SQL type of a null column the schema knows but a batch lacks (dlt data type -> DuckDB)."""


@dataclass(frozen=True)
class Chunk:
    """Complete lines from one origin, numbered from `first_line`."""

    origin: str
    """Where the lines came from: landing-relative path or `api:<url>#<run>` (quarantine's source_file)."""
    data: bytes
    first_line: int = 1
    from_file: bool = True
    """Lineage columns `_source_file`/`_source_line` are filled for files and null for API pages."""
    damage: str | None = None
    """Why the file is not read past these lines (a corrupt gzip stream, a refused file): one quarantine row at
    the next line says so."""
    quarantine: str | None = None
    """Set for lines decoded from a damaged gzip member: each is quarantined with its text and this reason."""

    @cached_property
    def ends(self) -> np.ndarray:
        """Offset after each line (its newline, or the end of a last line without one); found once."""
        return line_ends(self.data)


@dataclass
class BatchCounts:
    """What one resource read: lines that became rows, lines quarantined, repeated deliveries dropped, entity
    versions dropped because the destination already holds a newer one (`superseded`), and event ids reused for
    other content (`conflicts`)."""

    rows: int = 0
    quarantined: int = 0
    duplicates: int = 0
    """Repeated deliveries of a key dropped: retries of the first delivery (events), older versions (entities)."""
    superseded: int = 0
    conflicts: int = 0
    """Events: deliveries of a message id already delivered with other content (`TableSpec.delivery_columns`
    aside). The first delivery is kept; these are quarantined (and counted in `quarantined` too)."""
    clearing_markers: dict[str, int] = field(default_factory=dict)
    """Per child table: marker rows written to clear a parent's emptied list (never inserted)."""
    erased: int = 0
    """Lines of people in the erasure ledger: skipped, never stored, never quarantined (privacy.erasure)."""
    warnings: list[str] = field(default_factory=list)
    """What the load's report must say about this resource: files not read or held back, fields kept as JSON."""


# --------------------------------------------------------------------------------------------- files & state


def file_mark(path: Path, offset: int, lines: int) -> dict[str, Any]:
    """What the state remembers of a file after consuming `offset` bytes and `lines` lines of it."""
    with _open_regular(path) as f:
        head = f.read(min(offset, HASH_BYTES))
        f.seek(max(0, offset - HASH_BYTES))
        tail = f.read(min(offset, HASH_BYTES))
        size = os.fstat(f.fileno()).st_size
    return {
        "size": size,
        "offset": offset,
        "lines": lines,
        "head": hashlib.sha256(head).hexdigest(),
        "tail": hashlib.sha256(tail).hexdigest(),
    }


def resume_point(path: Path, mark: dict[str, Any] | None) -> tuple[int, int] | None:
    """(byte offset, lines already read) to continue `path` from, or None when nothing new is there.

    A file whose consumed prefix no longer hashes the same, or that shrank, was replaced: start over.
    """
    size = os.stat(path, follow_symlinks=False).st_size
    if not mark:
        return 0, 0
    offset = mark["offset"]
    if size < offset or _hashes(file_mark(path, offset, mark["lines"])) != _hashes(mark):
        log.info("%s was replaced since it was read; reading it again from the start", path)
        return 0, 0
    if size == mark["size"] and size == offset:
        return None
    return offset, mark["lines"]


def _hashes(mark: dict[str, Any]) -> tuple[str, str]:
    return mark["head"], mark["tail"]


def split_complete(data: bytes) -> bytes:
    """The part of `data` made of complete lines.

    A last line without newline is kept when it parses as JSON (a file that simply lacks a final newline) and
    held back otherwise (a writer still appending): the next run reads it once it is complete. One nested deeper
    than Python parses is kept: the reader's DuckDB judges it like any line.
    """
    cut = data.rfind(b"\n") + 1
    tail = data[cut:]
    if tail.strip():
        try:
            json.loads(tail)
        except ValueError:
            return data[:cut]
        except RecursionError:
            return data
    return data


def document_records(data: bytes, spec: TableSpec) -> list[Any] | None:
    """The records of a file holding one JSON document (an API response, a request body), or None if it is not
    one.

    Accepted: a list of records; an envelope in which exactly one of `spec.envelope_keys` holds a list, beside
    any metadata (`{"orders": [...]}`, HubSpot's `{"results": [...], "paging": ...}` and `{"total": 2, "results":
    [...]}`, a Segment `/v1/batch` body), its records given the metadata by `spec.envelope_records`; a single
    record enveloped (`{"customer": {...}}`); or a single record. An object holding the record key at its top
    (`id`, `messageId`) is a record, whatever else it holds. Raises ValueError (the reason) for an envelope whose
    metadata `spec.envelope_records` cannot give its records.
    """
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python parses; read as lines
        return None
    if isinstance(document, dict) and pointer_keys(spec.key_column.path)[0] not in document:
        lists = [key for key in spec.envelope_keys if isinstance(document.get(key), list)]
        if len(lists) == 1:
            records = document[lists[0]]
            return spec.envelope_records(document, records) if spec.envelope_records else records
        if len(document) == 1 and next(iter(document)) in spec.envelope_keys:
            document = next(iter(document.values()))
    return document if isinstance(document, list) else [document]


def records_to_lines(records: Iterable[Any]) -> bytes:
    """Serialize records as JSONL, so API pages and documents go through the line reader like files."""
    return b"".join(_record_line(record) for record in records)


def _record_line(record: Any) -> bytes:
    """One record as a JSON line. A string holding a lone surrogate (`"\\ud800"` in the delivered JSON, which no
    UTF-8 text can hold) keeps it escaped, as delivered, and the line reader judges it like any line."""
    try:
        return json.dumps(record, ensure_ascii=False).encode() + b"\n"
    except UnicodeEncodeError:
        return json.dumps(record).encode() + b"\n"


def is_document(path: Path, data: bytes) -> bool:
    """A `.json` file, or any file starting with `[`, holds one document instead of lines."""
    return landing_suffix(path) == ".json" or data.lstrip()[:1] == b"["


def landing_suffix(path: Path) -> str | None:
    """`.jsonl` or `.json` for a landing file's name, gzip-compressed or not; None for any other file."""
    suffix = Path(path.stem).suffix if is_gzip(path) else path.suffix
    return suffix if suffix in LANDING_SUFFIXES else None


def is_gzip(path: Path) -> bool:
    return path.suffix == GZIP_SUFFIX


def is_landing_file(path: Path) -> bool:
    """A regular file (not a link) named like a landing file."""
    return path.is_file() and not path.is_symlink() and landing_suffix(path) is not None


@dataclass(frozen=True)
class LandingScan:
    """What one entity's landing folder holds: the files to read, and what is named like one but not read."""

    files: list[Path]
    """Regular files, in delivery order (names sort in delivery order, contract section 1)."""
    refused: list[tuple[Path, str]]
    """(path, why it is not read): links, FIFOs, devices, folders, or the folder itself when it resolves outside
    the landing directory."""


def scan_landing(directory: Path, landing_dir: Path) -> LandingScan:
    """The landing files of one entity folder, and the entries that are not read with the reason.

    Only regular files inside the landing directory are read. A symbolic link is refused wherever it points
    (`ln -s /etc/passwd x.jsonl` put that file's lines into the quarantine), and so is a FIFO (reading it waits
    for a writer forever), a device or a folder named like a landing file, and a folder that resolves outside
    the landing directory. Files are later opened without following links (`_open_regular`), so a link put in
    place after this scan is refused too.
    """
    if not directory.is_dir():
        return LandingScan([], [])
    root, resolved = landing_dir.resolve(), directory.resolve()
    if not resolved.is_relative_to(root):
        why = f"not read: the folder resolves to {resolved}, outside the landing directory {root}"
        return LandingScan([], [(directory, why)])
    files, refused = [], []
    for path in sorted(p for p in directory.iterdir() if landing_suffix(p) is not None):
        try:
            mode = os.lstat(path).st_mode
            target = os.readlink(path) if stat.S_ISLNK(mode) else None
        except OSError:  # gone since the listing (moved away): the next run sees what is there then
            continue
        if target is not None:
            refused.append((path, f"not read: a symbolic link (to {target}); landing files must be regular files"))
        elif not stat.S_ISREG(mode):
            refused.append((path, "not read: not a regular file (a folder, FIFO or device named like one)"))
        else:
            files.append(path)
    return LandingScan(files, refused)


def landing_files(directory: Path) -> list[Path]:
    """Landing files of one entity in delivery order (see `scan_landing` for what is left out)."""
    return scan_landing(directory, directory).files


def _open_regular(path: Path) -> Any:
    """`path` opened for reading, never through a link and never blocking: OSError unless a regular file."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise OSError(f"{path} is not a regular file")
    return os.fdopen(descriptor, "rb")


def _read_regular(path: Path, offset: int = 0) -> bytes:
    with _open_regular(path) as f:
        f.seek(offset)
        return f.read()


@dataclass(frozen=True)
class Gunzipped:
    """What `gunzip` made of a gzip file."""

    data: bytes
    """The JSON text of the members that decompressed whole and passed their CRC check, followed by what a last
    member still being written (`ended_early`) holds so far."""
    suspect: bytes = b""
    """What a damaged member decoded before zlib gave up: its text may already be altered (zlib notices damage
    only later, at the member's CRC at the latest), so its lines are quarantined, not loaded."""
    damage: str | None = None
    """zlib's reason the file is not read past `suspect` (bytes that are not gzip, a corrupt member)."""
    ended_early: bool = False
    """The last member has no end yet: a file still being written, or one cut short."""
    too_big: bool = False
    """The JSON text would exceed the limit: nothing is returned."""


def gunzip(raw: bytes, limit: int) -> Gunzipped:
    """The JSON text of the gzip bytes `raw`, holding at most `limit` bytes of it at any time.

    Members are read one after the other (a gzip file may be several, concatenated); trailing zero padding is
    not another member. zlib raises for a whole input step, losing what the step decoded before the damage:
    the damaged step is inflated again in small pieces from a copy of the stream, so that text is kept.
    """
    out: list[bytes] = []
    size = position = 0
    view = memoryview(raw)
    while position < len(view) and any(view[position : position + 64]):
        inflate = zlib.decompressobj(31)  # 31: a gzip header and trailer around the deflate stream
        member: list[bytes] = []
        try:
            while not inflate.eof:
                if position >= len(view):
                    return Gunzipped(b"".join(out + member), ended_early=True)
                step = view[position : position + _INFLATE_STEP]
                before = inflate.copy()
                try:
                    piece = inflate.decompress(step, limit - size + 1)  # max_length: a bomb stops at the limit
                except zlib.error:
                    member += _inflate_until_error(before, step, limit - size)
                    raise
                position += len(step) - len(inflate.unconsumed_tail) - len(inflate.unused_data)
                size += len(piece)
                if size > limit:
                    return Gunzipped(b"", too_big=True)
                member.append(piece)
        except zlib.error as error:
            return Gunzipped(b"".join(out), b"".join(member), f"not a valid gzip stream: {error}")
        out += member
    return Gunzipped(b"".join(out))


def _inflate_until_error(inflate: Any, data: memoryview, budget: int) -> list[bytes]:
    """What `inflate` decodes of `data` before zlib raises: fed 4 KiB at a time, the failing 4 KiB byte by byte."""
    out: list[bytes] = []
    for at in range(0, len(data), 4096):
        piece, saved = data[at : at + 4096], inflate.copy()
        try:
            out.append(inflate.decompress(piece, budget + 1))
        except zlib.error:
            for i in range(len(piece)):
                try:
                    out.append(saved.decompress(piece[i : i + 1]))
                except zlib.error:
                    return out
            return out
        budget -= len(out[-1])
        if budget < 0 or inflate.unconsumed_tail:
            return out
    return out


def read_landing(
    spec: TableSpec,
    resource: str,
    directory: Path,
    landing_dir: Path,
    state: dict[str, Any],
    dedup: Dedup = "newest",
) -> Iterator[Any]:
    """Yield dlt items for every new line under `directory`, recording progress in the resource `state`.

    What is not read is said in the load's report on every run (`BatchCounts.warnings`) and quarantined once
    (line 0: the file as a whole): links, FIFOs and folders named like landing files, folders outside the
    landing directory, files over LANDING_MAX_FILE_BYTES. A file that cannot be opened this run (moved away
    while the run lists them) is reported and read next run.
    """
    seen: dict[str, Any] = state.setdefault("files", {})
    reader = RecordReader(spec, resource, dedup, Target.current(), state.setdefault(DRIFT_COLUMNS_KEY, {}))
    marks: dict[str, dict[str, Any]] = {}
    limit = get_settings().landing_max_file_bytes

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
                read = _new_chunk(path, origin, seen.get(origin), spec, limit)
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


def read_pages(
    spec: TableSpec,
    resource: str,
    pages: Iterable[list[dict[str, Any]]],
    origin: str,
    state: dict[str, Any],
    dedup: Dedup = "newest",
) -> Iterator[Any]:
    """Yield dlt items for API pages: each page goes through the same reader as a landing file would.

    The newest cursor value read is kept in the resource `state` (`api_cursor`, ISO-8601) for the next run to
    ask only for what changed since. It is the reader's own, not a `dlt.sources.incremental`: dlt cannot read
    a cursor out of the parquet files the reader hands over, and the state is committed with the load package
    just the same.
    """
    reader = RecordReader(spec, resource, dedup, Target.current(), state.setdefault(DRIFT_COLUMNS_KEY, {}))

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
    between and within its statements: the two took 2.6 s of a 3M-event extract one after the other, of
    which overlapping saves about a third. One chunk ahead at most: memory holds one file more.
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


NOT_READ = "not_read"
"""File-state key of an entry that is not a landing file (a link, ...): quarantined once, reported every run."""
TOO_BIG = "too_big"
"""File-state key of a file refused for its size: {size, limit, why}; read again once it or the limit changes."""
HELD = "held"
"""File-state key of what an unchanged file holds back (a gzip stream without its end): reported every run."""


@dataclass
class _FileRead:
    """What one landing file gives this run: chunks to read, the state mark once loaded, what to report."""

    chunks: list[Chunk] = field(default_factory=list)
    mark: dict[str, Any] | None = None
    """None: nothing new (the state keeps the file's mark)."""
    warning: str | None = None


def _new_chunk(path: Path, origin: str, mark: dict[str, Any] | None, spec: TableSpec, limit: int) -> _FileRead:
    """The unread part of `path`, the state mark to record once it is loaded, and what to report about it."""
    mark = mark or {}
    size = os.stat(path, follow_symlinks=False).st_size
    refused = mark.get(TOO_BIG)
    if refused and refused["size"] == size and limit <= refused["limit"]:
        return _FileRead(warning=refused["why"])
    progress = {k: v for k, v in mark.items() if k not in (NOT_READ, TOO_BIG, HELD)} or None
    resume = resume_point(path, progress)
    if resume is None:
        return _FileRead(warning=mark.get(HELD))
    offset, lines = resume if landing_suffix(path) != ".json" else (0, 0)
    if is_gzip(path):
        return _new_gzip_chunk(path, origin, progress, lines, spec, limit)
    if size - offset > limit:
        return _refuse(origin, progress, lines, size, limit, f"{size - offset:,} bytes of JSON text to read")
    data = _read_regular(path, offset)
    bom = len(BOM) if offset == 0 and data.startswith(BOM) else 0
    if offset == 0 and is_document(path, data[bom:]):
        read = _document_read(path, origin, data[bom:], spec, len(data))
        if read is not None:
            return read
    chunk = Chunk(origin, split_complete(data[bom:]), lines + 1)
    read = lines + len(chunk.ends)
    held = len(data) - bom - len(chunk.data)
    warning = (
        f"the last {held:,} bytes (line {read + 1}) are held back: no newline and not valid JSON yet, as while "
        "a writer is still appending; they are read once complete"
        if held
        else None
    )
    return _FileRead([chunk], file_mark(path, offset + bom + len(chunk.data), read), warning)


def _document_read(path: Path, origin: str, data: bytes, spec: TableSpec, consumed: int) -> _FileRead | None:
    """The records of a landing file holding one JSON document as lines to read, or None when it is not one.

    An envelope whose metadata cannot be given to its records (a Segment batch whose context is not an object)
    is quarantined whole, as one line with the reason, and reported."""
    try:
        records = document_records(data, spec)
    except ValueError as refused:
        why = f"an envelope not read: {refused}"
        whole = _record_line(json.loads(data))
        return _FileRead([Chunk(origin, whole, quarantine=why)], file_mark(path, consumed, 1), f"{why}; quarantined")
    if records is None:
        return None
    return _FileRead([Chunk(origin, records_to_lines(records))], file_mark(path, consumed, len(records)))


def _new_gzip_chunk(
    path: Path, origin: str, progress: dict[str, Any] | None, lines: int, spec: TableSpec, limit: int
) -> _FileRead:
    """`_new_chunk` of a gzip file: all of it is decompressed, and the `lines` already read are skipped.

    The mark counts compressed bytes, so a file that grew (a writer appending) is recognised as grown. Lines of
    a damaged member come as a second chunk whose lines are quarantined with their text (see `Gunzipped`)."""
    size = os.stat(path, follow_symlinks=False).st_size
    if size > limit:
        return _refuse(origin, progress, lines, size, limit, f"{size:,} bytes even compressed")
    raw = _read_regular(path)
    unzipped = gunzip(raw, limit)
    if unzipped.too_big:
        return _refuse(origin, progress, lines, size, limit, "JSON text that expands past that")
    data, suspect = unzipped.data, unzipped.suspect
    if data.startswith(BOM):
        data = data[len(BOM) :]
    if not lines and not suspect and not unzipped.damage and is_document(path, data):
        read = _document_read(path, origin, data, spec, len(raw))
        if read is not None:
            return read
    if unzipped.damage and data and not data.endswith(b"\n"):  # a line the damage cut off
        cut = data.rfind(b"\n") + 1
        data, suspect = data[:cut], data[cut:] + suspect
    if lines:
        data, suspect = _skip_lines(data, suspect, lines)
    if unzipped.damage is None:
        chunk = Chunk(origin, split_complete(data), lines + 1)
        read = lines + len(chunk.ends)
        mark = file_mark(path, len(raw), read)
        held = len(data) - len(chunk.data)
        if not (held or unzipped.ended_early):
            return _FileRead([chunk], mark)
        why = "the gzip stream ends early (a file still being written, or cut short)" if unzipped.ended_early else ""
        why += " and " if held and why else ""
        why += f"the last {held:,} bytes (line {read + 1}) are not a complete line" if held else ""
        why += f": {read:,} lines read so far, held back until the file grows"
        mark[HELD] = why
        return _FileRead([chunk], mark, why)
    # the stream (or its damaged member) stops here: the mark covers the whole file, so it is not read again
    trusted = Chunk(origin, data, lines + 1, damage=None if suspect else unzipped.damage)
    chunks = [trusted]
    read = lines + len(trusted.ends)
    if suspect:
        reason = f"{unzipped.damage}: decoded from a damaged gzip member, whose text may be altered; not loaded"
        chunks.append(Chunk(origin, suspect, read + 1, quarantine=reason))
    quarantined = len(chunks[-1].ends) if suspect else 1
    log.warning("%s: %s; lines before the damaged part read, the damaged part quarantined", path, unzipped.damage)
    why = (
        f"damaged: {unzipped.damage}; {read - lines:,} lines before the damaged gzip member read, "
        f"{quarantined:,} quarantined, the file not read past it"
    )
    return _FileRead(chunks, file_mark(path, len(raw), read + (quarantined if suspect else 0)), why)


def _skip_lines(data: bytes, suspect: bytes, lines: int) -> tuple[bytes, bytes]:
    """`data` and `suspect` (read one after the other) without their first `lines` lines."""
    ends = line_ends(data)
    if len(ends) >= lines:
        return data[ends[lines - 1] :], suspect
    rest = lines - len(ends)
    suspect_ends = line_ends(suspect)
    return b"", suspect[suspect_ends[rest - 1] :] if len(suspect_ends) >= rest else b""


def _refuse(origin: str, progress: dict[str, Any] | None, lines: int, size: int, limit: int, what: str) -> _FileRead:
    """A file not read for its size: one quarantine row at its next line, and a mark that skips it until the file
    or the limit changes (the progress before it is kept: a grown file is read on from there)."""
    why = (
        f"not read: {what}, more than the {limit:,} bytes one landing file may give a run "
        "(LANDING_MAX_FILE_BYTES); split the file, or raise the limit and it is read on the next run"
    )
    mark = {**(progress or {}), TOO_BIG: {"size": size, "limit": limit, "why": why}}
    return _FileRead([Chunk(origin, b"", lines + 1, damage=why)], mark, why)


# --------------------------------------------------------------------------------------------- the target


class Target:
    """What the reader needs from the running dlt pipeline: its load id, a working directory for the parquet
    files it hands to dlt, the column order its schema already has, and what its destination already holds.

    Before the first load (no dataset, no table, no schema yet) every lookup answers "nothing loaded yet".
    """

    def __init__(self, pipeline: dlt.Pipeline, load_id: str) -> None:
        self.pipeline = pipeline
        self.load_id = load_id
        self.workdir = Path(tempfile.mkdtemp(prefix="reader-", dir=pipeline.working_dir))
        # Made once, here, before any batch is read: dlt's configuration resolution behind `sql_client()`
        # keeps the frames of its callers alive, and called from inside `RecordReader.read` those frames held
        # each batch's lines (256 MiB of input leaked per batch, 12 GB RSS at 9.6M events).
        self._client = pipeline.sql_client()

    @classmethod
    def current(cls) -> Target:
        return cls(dlt.current.pipeline(), dlt.current.load_package_state()["load_id"])

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def new_file(self, table: str) -> Path:
        descriptor, name = tempfile.mkstemp(prefix=f"{table}.", suffix=".parquet", dir=self.workdir)
        os.close(descriptor)
        return Path(name)

    def known_columns(self, table: str) -> dict[str, str]:
        """Column name -> dlt data type of `table` as the pipeline's schema knows it, in the schema's order."""
        schema = dlt.current.source_schema()
        if table not in schema.tables:
            return {}
        return {name: c.get("data_type", "text") for name, c in schema.get_table_columns(table).items()}

    def has_table(self, table: str) -> bool:
        """Whether the destination holds `table` (in the pipeline's dataset) already."""
        with self._client as client:
            if not client.has_dataset():
                return False
            (exists,) = client.native_connection.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                [client.dataset_name, table],
            ).fetchone()
            return bool(exists)

    def loaded(
        self, table: str, key: str, cursor: str | None, keys: pa.Table, rowids: bool = False
    ) -> pa.Table | None:
        """(k, c): those of `keys` (column k) already in the destination `table`, with their `cursor` value; and
        with `rowids`, r: where the row is (for `rows_at`)."""
        with self._client as client:
            if not client.has_dataset():
                return None
            con = client.native_connection
            (exists,) = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                [client.dataset_name, table],
            ).fetchone()
            if not exists:
                return None
            value = f't."{cursor}"' if cursor else "NULL"
            rowid = ", t.rowid AS r" if rowids else ""
            con.register("reader_batch_keys", keys)
            try:
                return con.execute(
                    f"SELECT b.k, {value} AS c{rowid} FROM reader_batch_keys b "
                    f'JOIN {client.make_qualified_table_name(table)} t ON t."{key}" = b.k'
                ).fetch_arrow_table()
            finally:
                con.unregister("reader_batch_keys")


    def select_at(self, table: str, rowids: list[int], select: Callable[[list[str]], str]) -> pa.Table:
        """`select(columns of table)`, a SELECT list, of the rows of the destination `table` at `rowids` (from
        `loaded`). DuckDB skips the row groups that hold none of them: rows loaded close together (retries of
        recent messages) cost little, rows spread over the whole table a scan of it."""
        with self._client as client:
            con = client.native_connection
            name = client.make_qualified_table_name(table)
            columns = [column for (column, *_) in con.execute(f"DESCRIBE {name}").fetchall()]
            return con.execute(
                f"SELECT {select(columns)} FROM {name} WHERE rowid = ANY($1)", [rowids]
            ).fetch_arrow_table()


# --------------------------------------------------------------------------------------------- the reader


@dataclass
class _Staged:
    """Rows of one output table waiting for `RecordReader.flush`: a query per batch, their columns in
    first-seen order, the union of their column hints, and how to make the table's dlt hints of those."""

    make_hints: Any
    materialize: bool = False
    """Written even without rows: the table must exist for dbt and the checks (see `RecordReader.flush`)."""
    parts: list[str] = field(default_factory=list)
    """One SELECT per batch, of the table's columns."""
    tables: list[str] = field(default_factory=list)
    """Temp tables the parts read, dropped after the flush."""
    rows: int = 0
    columns: dict[str, None] = field(default_factory=dict)
    hints: dict[str, Any] = field(default_factory=dict)

    def add(self, select: str, tables: list[str]) -> None:
        self.parts.append(select)
        self.tables.extend(tables)


_COMPARED_LINES = "(SELECT rid, file_idx, line_no, decode(line) AS txt FROM compared_lines)"
"""The lines `_quarantine_conflicts` extracts again, as text (they are records: valid UTF-8)."""


@dataclass(frozen=True)
class _BatchRows:
    """How to read a batch's typed rows as they will be stored (for content hashes, see `_content_select`)."""

    drift: dict[str, str]
    """Drift column name -> the typed table's internal column holding it."""
    overflow: str | None
    """The batch's table of OVERFLOW_COLUMN values by rid, if it has one."""
    origins: str
    """The batch's origins (file_idx -> origin)."""


class RecordReader:
    """Validates and extracts one spec's records from chunks of lines in an in-memory DuckDB.

    One reader lives for one resource run: events use it to remember which message ids this run has already
    delivered, so a message re-delivered in two files of the same run is still loaded once. Each table's
    rows leave as a parquet file written by DuckDB (with `_dlt_load_id` and `_dlt_id` filled) that dlt
    imports as it is: no row ever passes through Python.
    """

    def __init__(
        self,
        spec: TableSpec,
        resource: str,
        dedup: Dedup,
        target: Target,
        drift_columns: dict[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.resource = resource
        self.dedup = dedup
        self.target = target
        self.counts = BatchCounts()
        self._drift_columns = drift_columns if drift_columns is not None else {}
        """Field pointer -> its drift column, for every field named so far (the resource state's, updated here)."""
        self._new_columns = 0
        self._overflowed: dict[str, set[str]] = {"capped": set(), "unnamed": set()}
        """Pointers of the fields this run kept in OVERFLOW_COLUMN: past the drift caps, or not nameable."""
        self._written: set[str] = set()
        """Tables this run has handed a file to dlt for."""
        settings = get_settings()
        settings.duckdb_temp_root.mkdir(parents=True, exist_ok=True)
        self._spill_dir = Path(tempfile.mkdtemp(prefix="reader-", dir=settings.duckdb_temp_root))
        # memory_limit, threads, no insertion order (every ordered step says ORDER BY), spilling: settings.py
        config = settings.duckdb_config(settings.duckdb_memory_limit, self._spill_dir)
        self._con = duckdb.connect(":memory:", config=config)
        self._con.execute("SET TimeZone = 'UTC'")
        # The run's keys so far, for "first" (events): their MD5s, not the keys. Every batch anti-joins all of it,
        # so a long first load pays its width per batch: 100M message ids are ~5 GB of strings, past the reader's
        # memory limit, and 1.6 GB as MD5s; at 50M keys the anti-join took 0.42 s a batch instead of 1.46 s (at
        # 10M, the same). Two different ids of one run share an MD5 with a chance of about n^2 / 2^129 (1e-23 at
        # 100M events): far below any failure of the machine itself.
        self._con.execute("CREATE TEMP TABLE seen_keys (m UHUGEINT)")
        if dedup == "first":
            key_type = _DLT_SQL_TYPES[spec.key_column.type.value]
            self._con.execute(f"CREATE TEMP TABLE first_content (k {key_type}, h UBIGINT, place VARCHAR)")
        """For "first": the content hash of the first delivery of each key that was delivered again, and where it
        was read (see `_quarantine_conflicts`): looked up once per key and run."""
        self._flushed_root: list[Path] = []
        self._live_root: dict[int, _BatchRows] = {}
        """Batch -> how to read its records as stored, for the batches staged since the last flush (whose typed
        tables live until it)."""
        """The root table's parquet files flushed so far this run (their rows' first deliveries are looked up)."""
        self._in_destination: pa.Table | None = None
        """(k, c, r) of the batch's keys the destination already holds, r the row's rowid there."""
        self._drift: list[tuple[str, str]] = []
        """(column, pointer) of the batch's fields the spec does not declare (drift), found by `_classify`."""
        self._overflow: list[tuple[str, str]] = []
        """(object pointer, key) of the batch's fields kept in OVERFLOW_COLUMN instead of columns of their own."""
        self._nonrecords = 0
        self._typed_select: Callable[[str], str] = str
        """The batch's extraction (see `_extract`): SQL of the typed rows of a relation of lines given as SQL."""
        self._staged: dict[str, _Staged] = {}
        self._parts = itertools.count()
        """Output table -> its rows staged since the last flush (root first, then children, quarantine)."""
        self._batches = 0
        """Batches read so far: part of each row's `_dlt_id`, whose row numbers start over every batch."""
        self.newest_cursor: datetime | None = None
        """The newest cursor value of the valid records read so far (None without a cursor or records)."""

    def close(self) -> None:
        self._con.close()
        shutil.rmtree(self._spill_dir, ignore_errors=True)
        self.target.close()

    def warn(self, message: str) -> None:
        """Log `message` and keep it for the load's report (the resource's table name is put before it there)."""
        log.warning("%s: %s", self.spec.table, message)
        self.counts.warnings.append(message)

    def report_overflow(self) -> None:
        """Warn about the fields this run kept in OVERFLOW_COLUMN instead of columns: once, with a few examples."""
        capped, unnamed = self._overflowed["capped"], self._overflowed["unnamed"]
        if capped:
            self.warn(
                f"{_fields(capped)} kept in {OVERFLOW_COLUMN} (JSON) instead of columns of their own: a run "
                f"adds at most {MAX_NEW_COLUMNS_PER_RUN} columns to a table, and drift gives a table at most "
                f"{MAX_DRIFT_COLUMNS} ({_examples(capped)})"
            )
        if unnamed:
            self.warn(
                f"{_fields(unnamed, '')} whose names cannot name a column (empty, blank or holding a NUL) kept in "
                f"{OVERFLOW_COLUMN} (JSON) ({_examples(unnamed)})"
            )
        capped.clear()
        unnamed.clear()

    def read(self, chunks: Sequence[Chunk]) -> None:
        """Validate and extract `chunks`; their rows wait in the reader's DuckDB until `flush`."""
        self._batches += 1
        lines = _lines_table(chunks)
        if lines.num_rows == 0:
            self._stage_quarantine_rows(_damage_rows(chunks))
            return
        origins = pa.table(
            {
                "file_idx": pa.array(range(len(chunks)), pa.int32()),
                "origin": [c.origin for c in chunks],
                "from_file": [c.from_file for c in chunks],
            }
        )
        con = self._con
        con.register("chunk_lines", lines)
        con.register("origins", origins)
        kept_typed = False
        try:
            self._classify(lines, chunks)
            # privacy (issue 7): lines of erased people become non-records before anything is extracted
            erased = drop_erased_lines(con, self.spec.table)
            self.counts.erased += erased
            self._nonrecords += erased
            self._extract()
            self._extract_overflow()
            for i, child in enumerate(self.spec.children):
                self._extract_child(i, child)
            self._keep()
            self._drop_what_the_destination_has()
            if self.dedup == "first":
                self._quarantine_conflicts(lines)
            for i, child in enumerate(self.spec.children):
                self._stage_child(i, child)
            self._stage_quarantine(lines, chunks)
            kept_typed = self._stage_root()
        finally:
            if not kept_typed:
                con.execute(f"DROP TABLE IF EXISTS {self._typed}")
                con.execute(f"DROP TABLE IF EXISTS {self._overflow_table}")
            con.unregister("chunk_lines")
            con.unregister("origins")
            con.unregister("chunk_text")

    def flush(self, final: bool = False) -> list[Any]:
        """The dlt items of every row staged since the last flush: per table one parquet file with its hints.

        One file per table and flush, not per batch: DuckDB inserts one large file much faster than several
        small ones (a commit and a partly filled row group each), and dlt runs one load job per file. Each
        table's items are a table variant, because one resource writes several tables with different keys;
        the root's column hints travel the same way so that no variant inherits them.

        The `final` flush of a run also hands dlt an empty file for each declared table (root, children,
        quarantine) the destination does not hold yet and this run gave no rows: a system that has delivered
        nothing, or only lines that were quarantined, still has every raw table, with its declared columns,
        for dbt's sources and the checks to read. dlt's `materialize_table_schema()` cannot do it here: the
        resources route items to tables by a function of the item, and an empty list has no item to route.
        """
        items: list[Any] = []
        order = [self.spec.table, *(child.table for child in self.spec.children), QUARANTINE_TABLE]
        for table in order:
            staged = self._staged.pop(table, None)
            if staged is None and final and table not in self._written and not self.target.has_table(table):
                staged = self._declared_empty(table)
            if staged is None:
                continue
            if staged.rows or table == QUARANTINE_TABLE or staged.materialize:
                # the quarantine is yielded even when empty: dbt's sources rely on raw_<system>.quarantine
                path = self._write(table, staged)
                if table == self.spec.table:
                    self._flushed_root.append(path)
                    self._live_root.clear()
                hints = self._ordered_hints(staged.hints, table)
                items += _file_items(table, path, staged.rows, staged.make_hints(hints))
                self._written.add(table)
            for name in staged.tables:
                self._con.execute(f"DROP TABLE {name}")
        return items

    def _declared_empty(self, table: str) -> _Staged:
        """No rows of `table`, with its declared columns and hints: `flush` writes it to create the table."""
        if table == self.spec.table:
            hints, make_hints = self.spec.dlt_columns(), partial(_root_hints, self.spec)
        elif table == QUARANTINE_TABLE:
            hints, make_hints = dict(QUARANTINE_COLUMNS), _quarantine_hints
        else:
            child = next(c for c in self.spec.children if c.table == table)
            hints, make_hints = child.dlt_columns(self.spec.key_column.type), partial(_child_hints, child)
        nulls = ", ".join(f'NULL::{_DLT_SQL_TYPES[h["data_type"]]} AS "{name}"' for name, h in hints.items())
        staged = _Staged(make_hints, materialize=True)
        staged.add(f"SELECT {nulls} LIMIT 0", [])
        staged.columns.update(dict.fromkeys(hints))
        staged.hints.update(hints)
        return staged

    # -- SQL steps: each writes one temp table, named for what it holds

    def _classify(self, lines: pa.Table, chunks: Sequence[Chunk]) -> None:
        """src: every line as text (rid, file_idx, line_no, txt); nonrecord: lines that are no JSON object, and
        those of chunks to quarantine whole (`Chunk.quarantine`); `_drift` and `_overflow`: fields of the
        objects' read paths that the spec does not declare (see `_place_drift`).

        A batch of valid UTF-8 (nearly always) reaches DuckDB as an Arrow string column, zero-copy; a batch
        with invalid bytes is decoded line by line instead, and its undecodable lines get a NULL text.
        `nonrecord` holds the reason for each bad line and a NULL reason for blank lines (not records).
        """
        con = self._con
        try:
            text = lines.set_column(3, "txt", lines.column("line").cast(pa.large_string()))
        except pa.ArrowInvalid:
            text = None
        if text is not None:
            con.register("chunk_text", text)
            con.execute("CREATE OR REPLACE TEMP VIEW src AS SELECT rid, file_idx, line_no, txt FROM chunk_text")
        else:
            con.execute("""
                CREATE OR REPLACE TEMP TABLE decoded AS
                SELECT rid, file_idx, line_no, try(decode(line)) AS txt FROM chunk_lines
            """)
            con.execute("CREATE OR REPLACE TEMP VIEW src AS SELECT * FROM decoded")
        # One parse per line answers both questions: is it a JSON object (else why not), and which keys do
        # the objects the spec reads have (the batch's few distinct shapes, for drift). The shapes are
        # grouped as JSON text: hashing and comparing a string is a fifth cheaper than a list of lists.
        paths = self.spec.object_paths()
        pointers = list(paths)
        forced = "".join(
            f" WHEN file_idx = {i} THEN {_lit(chunk.quarantine)}" for i, chunk in enumerate(chunks) if chunk.quarantine
        )
        groups = con.execute(f"""
            SELECT kind, to_json(shape) AS shape, count(*), list(rid) FILTER (WHERE kind <> 'object')
            FROM (SELECT rid, try(json_keys(txt, {_list_lit(p or "$" for p in pointers)})) AS shape,
                         CASE WHEN regexp_full_match(txt, '[ \t\r\n]*') THEN 'blank'{forced}
                              WHEN txt IS NULL THEN 'invalid UTF-8'
                              WHEN shape IS NULL THEN 'not valid JSON'
                              WHEN NOT regexp_matches(txt, '^[ \t\r\n]*[{{]') THEN 'not a JSON object'
                              ELSE 'object' END AS kind
                  FROM src)
            GROUP BY kind, shape
        """).fetchall()
        bad_rids, bad_reasons = [], []
        unknown: dict[tuple[int, str], int] = {}
        for kind, shape, records, rids in groups:
            if kind == "object":
                for i, keys in enumerate(json.loads(shape)):
                    for key in keys or ():
                        if key not in paths[pointers[i]]:
                            unknown[i, key] = unknown.get((i, key), 0) + records
            else:
                bad_rids += rids
                bad_reasons += [None if kind == "blank" else kind] * len(rids)
        self._nonrecords = len(bad_rids)
        rows = pa.table({"rid": pa.array(bad_rids, pa.int64()), "reason": pa.array(bad_reasons, pa.string())})
        con.register("nonrecord_rows", rows)
        con.execute("CREATE OR REPLACE TEMP TABLE nonrecord AS SELECT * FROM nonrecord_rows")
        con.unregister("nonrecord_rows")
        self._place_drift(pointers, unknown)

    def _place_drift(self, pointers: list[str], unknown: dict[tuple[int, str], int]) -> None:
        """Give each new field of the batch (object index, key -> records holding it) its column, or keep it in
        OVERFLOW_COLUMN: `_drift` gets (column, field pointer), `_overflow` (object pointer, key).

        A field named in an earlier run keeps its column (the resource state's `drift_columns`). A new one gets
        a column while the run and the table are within MAX_NEW_COLUMNS_PER_RUN and MAX_DRIFT_COLUMNS, the fields
        most records hold first, and a name no other field has (`spec.drift_column_name`); a field whose name
        cannot name a column, or past the caps, is kept in OVERFLOW_COLUMN, and the run's report says so.
        """
        self._drift, self._overflow = [], []
        taken = set(self._drift_columns.values())
        for (i, key), _ in sorted(unknown.items(), key=lambda item: (-item[1], item[0])):
            pointer = f"{pointers[i]}/{_escape_key(key)}"
            name = self._drift_columns.get(pointer)
            if name is None:
                name = self.spec.drift_column_name(pointers[i], key, taken)
                if name is None:
                    self._overflowed["unnamed"].add(pointer)
                elif self._new_columns >= MAX_NEW_COLUMNS_PER_RUN or len(self._drift_columns) >= MAX_DRIFT_COLUMNS:
                    self._overflowed["capped"].add(pointer)
                    name = None
                else:
                    self._drift_columns[pointer] = name
                    taken.add(name)
                    self._new_columns += 1
            if name is None:
                self._overflow.append((pointers[i], key))
            else:
                self._drift.append((name, pointer))
        self._drift.sort(key=lambda drift: drift[1])
        self._overflow.sort()

    def _extract_overflow(self) -> None:
        """overflow_<batch> (rid, OVERFLOW_COLUMN): for the records holding `_overflow` fields, those fields as
        one JSON object keyed by their pointers. Keys reach DuckDB as data (a registered table), never as SQL
        text, so an empty key or a NUL in one is just a value here."""
        if not self._overflow:
            return
        fields = pa.table(
            {
                "object": [obj for obj, _ in self._overflow],
                "key": [key for _, key in self._overflow],
                "field": [f"{obj}/{_escape_key(key)}" for obj, key in self._overflow],
            }
        )
        records = f"(SELECT rid, txt FROM src {'ANTI JOIN nonrecord USING (rid)' if self._nonrecords else ''})"
        parts = [
            f"""SELECT r.rid, f.field, e.value
                FROM {records} r, json_each({"r.txt" if not obj else f"json_extract(r.txt, {_lit(obj)})"}) e
                JOIN overflow_fields f ON f.object = {_lit(obj)} AND f.key = e.key"""
            for obj in sorted({obj for obj, _ in self._overflow})
        ]
        self._con.register("overflow_fields", fields)
        try:
            self._con.execute(f"""
                CREATE TEMP TABLE {self._overflow_table} AS
                SELECT rid, '{{' || string_agg(to_json(field) || ':' || value, ',' ORDER BY field) || '}}'
                       AS "{OVERFLOW_COLUMN}"
                FROM ({" UNION ALL ".join(parts)}) GROUP BY rid
            """)
        finally:
            self._con.unregister("overflow_fields")

    def _extract(self) -> None:
        """typed_<batch>: the declared columns cast to their types, child lists as JSON text, and the reasons a record
        does not fit. Each line is parsed once and each value cast once; the reason text is only built for
        records that fail."""
        spec = self.spec
        strings = [c for c in spec.columns if c.type is not ColumnType.JSON]
        jsons = [c.path for c in spec.columns if c.type is ColumnType.JSON]
        jsons += [child.list_path for child in spec.children]
        jsons += [pointer for _, pointer in self._drift]
        parsed, string_at, json_at = _parse_once([c.path for c in strings], jsons)
        casts, columns, failures, reasons = [], [], [], []
        for i, column in enumerate(strings):
            delivered = string_at[i]
            casts.append(f'{column.cast_sql(delivered)} AS "{column.name}"')
            columns.append(f'"{column.name}"')
            if column.type is not ColumnType.TEXT:
                failed = f'{delivered} IS NOT NULL AND "{column.name}" IS NULL'
                failures.append(failed)
                reasons.append(column.misfit_sql(delivered, f'"{column.name}"'))
        json_names = [c.name for c in spec.columns if c.type is ColumnType.JSON]
        json_names += [f"__list_{i}" for i in range(len(spec.children))]
        json_names += [f"__drift_{i}" for i in range(len(self._drift))]  # named on output
        for name, value in zip(json_names, json_at, strict=True):
            casts.append(f"nullif({value}::VARCHAR, 'null') AS \"{name}\"")
            columns.append(f'"{name}"')
        missing_key = f"{string_at[strings.index(spec.key_column)]} IS NULL"
        failures.insert(0, missing_key)
        reasons.insert(0, f"CASE WHEN {missing_key} THEN 'missing primary key {spec.primary_key}' END")
        for i, child in enumerate(spec.children):
            not_list = f"json_type(\"__list_{i}\") NOT IN ('ARRAY', 'NULL')"
            failures.append(not_list)
            reasons.append(f"CASE WHEN {not_list} THEN {_lit(child.list_path.strip('/') + ' is not a list')} END")
        typed = f"""
            SELECT rid, file_idx, line_no, {", ".join(columns)},
                   CASE WHEN {" OR ".join(f"({f})" for f in failures)}
                        THEN nullif(concat_ws('; ', {", ".join(reasons)}), '') END AS reason
            FROM (SELECT *, {", ".join(casts)} FROM (SELECT rid, file_idx, line_no, {parsed} FROM """

        def typed_select(lines: str) -> str:
            return f"{typed}{lines}))"

        self._typed_select = typed_select
        records = f"src {'ANTI JOIN nonrecord USING (rid)' if self._nonrecords else ''}"
        self._con.execute(f"CREATE TEMP TABLE {self._typed} AS {typed_select(records)}")

    def _extract_child(self, index: int, child: ChildSpec) -> None:
        """child_<i>: one row per list item of records that fit so far, with the item's own reasons."""
        plain = [c for c in child.columns if c.sum_over is None]
        selects, checks = [], ["CASE WHEN json_type(elem) <> 'OBJECT' THEN 'item is not an object' END"]
        for i, column in enumerate(plain, start=1):
            selects.append(f'{column.cast_sql(f"s[{i}]")} AS "{column.name}"')
            checks.append(column.misfit_sql(f"s[{i}]"))
        for column in child.columns:
            if column.sum_over is not None:
                value, check = _summed(column)
                selects.append(f'{value} AS "{column.name}"')
                checks.append(check)
        names = [c.name for c in plain]
        for key in (k for k in child.primary_key if k != child.parent_key):
            i = names.index(key) + 1
            checks.append(f"CASE WHEN s[{i}] IS NULL THEN 'missing key {key}' END")
        label = _lit(child.list_path.strip("/") + "[")
        self._con.execute(f"""
            CREATE OR REPLACE TEMP TABLE child_{index} AS
            SELECT rid, file_idx, line_no, ord, parent_key AS "{child.parent_key}", {", ".join(selects)},
                   nullif(concat_ws('; ', {", ".join(checks)}), '') AS item_reason,
                   CASE WHEN item_reason IS NOT NULL THEN {label} || ord || '] ' || item_reason END AS reason
            FROM (SELECT rid, file_idx, line_no, parent_key, ord, elem,
                         json_extract_string(elem, {_list_lit(c.path for c in plain)}) AS s
                  FROM (SELECT rid, file_idx, line_no, parent_key, unnest(items) AS elem,
                               generate_subscripts(items, 1) AS ord
                        FROM (SELECT rid, file_idx, line_no, "{self.spec.primary_key}" AS parent_key,
                                     try_cast("__list_{index}" AS JSON[]) AS items
                              FROM {self._typed} WHERE reason IS NULL)))
        """)

    def _keep(self) -> None:
        """bad: lines to quarantine with all their reasons; kept: (rid, key k, cursor c), one line per key.

        Only narrow columns take part in the de-duplication: the line text never travels through a sort.
        """
        child_reasons = "".join(
            f" UNION ALL SELECT rid, {i + 2} AS step, reason FROM child_{i} WHERE reason IS NOT NULL"
            for i in range(len(self.spec.children))
        )
        self._con.execute(f"""
            CREATE OR REPLACE TEMP TABLE bad AS
            SELECT rid, string_agg(reason, '; ' ORDER BY step) AS reason FROM (
                SELECT rid, 0 AS step, reason FROM nonrecord WHERE reason IS NOT NULL
                UNION ALL SELECT rid, 1 AS step, reason FROM {self._typed} WHERE reason IS NOT NULL
                {child_reasons})
            GROUP BY rid
        """)
        key = f'"{self.spec.primary_key}"'
        cursor = f'"{self.spec.cursor}"' if self.spec.cursor else "NULL"
        order = "c DESC NULLS LAST, rid DESC" if self.dedup == "newest" else "rid"
        first = self.dedup == "first"
        # an anti-join, not NOT IN: DuckDB then hashes the batch's keys and streams the run's growing seen_keys
        already = "ANTI JOIN seen_keys USING (m)" if first else ""
        self._con.execute(f"""
            CREATE OR REPLACE TEMP TABLE candidates AS
            SELECT rid, {key} AS k, {cursor} AS c{", md5_number(k::VARCHAR) AS m" if first else ""} FROM {self._typed}
            WHERE reason IS NULL AND rid NOT IN (SELECT rid FROM bad)
        """)
        self._con.execute(f"""
            CREATE OR REPLACE TEMP TABLE kept AS
            SELECT * FROM candidates {already}
            QUALIFY row_number() OVER (PARTITION BY k ORDER BY {order}) = 1
        """)
        collapsed, newest = self._con.execute(
            "SELECT (SELECT count(*) FROM candidates) - (SELECT count(*) FROM kept), (SELECT max(c) FROM kept)"
        ).fetchone()
        self.counts.duplicates += collapsed
        if isinstance(newest, datetime) and (self.newest_cursor is None or newest > self.newest_cursor):
            self.newest_cursor = newest

    def _drop_what_the_destination_has(self) -> None:
        """Across loads: events already loaded are re-deliveries; an entity version older than the one the
        destination holds is superseded (newest `updated_at` wins across loads, not the last delivery)."""
        con = self._con
        if self.dedup == "first" or self.spec.cursor:
            keys = con.execute("SELECT k FROM kept").fetch_arrow_table()
            first = self.dedup == "first"
            cursor = None if first else self.spec.cursor
            table, key = self.spec.table, self.spec.primary_key
            loaded = self.target.loaded(table, key, cursor, keys, rowids=first) if len(keys) else None
            self._in_destination = loaded if first and loaded is not None and loaded.num_rows else None
            if loaded is not None and loaded.num_rows:
                con.register("loaded", loaded)
                try:
                    if self.dedup == "first":
                        (dropped,) = con.execute(
                            "DELETE FROM kept WHERE k IN (SELECT k FROM loaded)"
                        ).fetchone()
                        self.counts.duplicates += dropped
                    else:
                        (dropped,) = con.execute("""
                            DELETE FROM kept USING loaded
                            WHERE kept.k = loaded.k AND loaded.c IS NOT NULL
                              AND (kept.c IS NULL OR kept.c < loaded.c)
                        """).fetchone()
                        self.counts.superseded += dropped
                finally:
                    con.unregister("loaded")
        if self.dedup == "first":
            con.execute("INSERT INTO seen_keys SELECT m FROM kept")

    def _quarantine_conflicts(self, lines: pa.Table) -> None:
        """Events: a delivery of a message id already delivered with other content is quarantined, not dropped.

        A retry (the same message, re-stamped `sentAt` / `receivedAt`: `spec.delivery_columns`) is a harmless
        duplicate; the same id with other content is a client bug, and its version would otherwise live only in
        its landing file. Only the batch's repeats are compared, each with the first delivery of its id, which
        is in this batch, in an earlier batch of the run (its staged rows or the parquet files flushed), or in
        the destination (fetched by rowid). Content is compared as the rows would be stored: every column but
        the key, the delivery stamps and lineage, nulls left out, so key order and equal values written
        differently (`.000Z`) are the same content, and a field kept in `_overflow_fields` by one run and given
        a column by a later one is not.

        Cost: the repeats are found with numpy (the candidates the de-duplication did not keep), and they and
        their first deliveries in this batch are extracted again from their lines, not read from the typed
        table, whose every column a scan would read (unless they are more than 1/REEXTRACT_SHARE of the batch).
        """
        con = self._con
        candidates = con.execute("SELECT rid FROM candidates").fetchnumpy()["rid"]
        kept = con.execute("SELECT rid FROM kept").fetchnumpy()["rid"]
        if len(candidates) == len(kept):  # kept is a subset of the candidates: nothing was a repeat
            return
        repeated = np.zeros(lines.num_rows, dtype=bool)
        repeated[candidates] = True
        repeated[kept] = False
        repeats = np.flatnonzero(repeated)
        con.register("repeat_rids", pa.table({"rid": repeats}))
        try:
            firsts_here = con.execute(
                "SELECT rid FROM kept WHERE m IN (SELECT m FROM candidates SEMI JOIN repeat_rids USING (rid))"
            ).fetchnumpy()["rid"]
        finally:
            con.unregister("repeat_rids")
        compared = np.union1d(repeats, firsts_here)
        first = pa.array(np.isin(compared, firsts_here))
        # a few lines are extracted again; when they are much of the batch, its typed table is read instead
        few = len(compared) * REEXTRACT_SHARE < lines.num_rows
        lines_compared = (
            _take_rows(lines, compared).append_column("first", first)
            if few
            else pa.table({"rid": pa.array(compared), "first": first})
        )
        con.register("compared_lines", lines_compared)
        try:
            current = _BatchRows(
                drift={name: f"__drift_{i}" for i, (name, _) in enumerate(self._drift)},
                overflow=self._overflow_table if self._overflow else None,
                origins="origins",
            )
            records = (
                f"({self._typed_select(_COMPARED_LINES)})"
                if few
                else f"(SELECT * FROM {self._typed} SEMI JOIN compared_lines USING (rid))"
            )
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE hashed AS
                SELECT c.first, x.* FROM ({self._content_select(records, current)}) x JOIN compared_lines c USING (rid)
            """)
        finally:
            con.unregister("compared_lines")
        con.execute("CREATE OR REPLACE TEMP TABLE firsts AS SELECT k, h, place FROM hashed WHERE first")
        con.execute("CREATE OR REPLACE TEMP VIEW repeats AS SELECT rid, k, h FROM hashed WHERE NOT first")
        # the first delivery in the destination (a key loaded by an earlier run)
        if self._in_destination is not None:
            rowids = self._in_destination.column("r").to_pylist()
            # hashed in the destination's DuckDB: only (k, h, place) travel (the hash needs no session setting)
            found = self.target.select_at(self.spec.table, rowids, self._stored_content)
            con.register("destination_firsts", found)
            try:
                con.execute("INSERT INTO firsts SELECT * FROM destination_firsts")
            finally:
                con.unregister("destination_firsts")
        # the first delivery in an earlier batch of this run
        self._find_earlier_firsts()
        key_field = pointer_keys(self.spec.key_column.path)[-1]
        reason = f"{_lit(key_field + ' already delivered with different content (the first delivery, kept: ')}"
        (conflicts,) = con.execute(f"""
            INSERT INTO bad
            SELECT r.rid, {reason} || coalesce(f.place, 'already loaded') || ')' AS reason
            FROM repeats r JOIN firsts f USING (k) WHERE r.h <> f.h
        """).fetchone()
        self.counts.conflicts += conflicts
        self.counts.duplicates -= conflicts
        missing = self._count("(SELECT k FROM repeats ANTI JOIN firsts USING (k))")
        if missing:  # not expected: each repeat's first delivery is in one of the places searched
            self.warn(f"{missing:,} repeated deliveries could not be compared with their first delivery")

    def _find_earlier_firsts(self) -> None:
        """Add to `firsts` the first deliveries of the repeats whose key an earlier batch of the run loaded: from
        the keys already looked up, else from the batches staged since the last flush, then the flushed parquet
        files, newest first (a retry follows its first delivery closely), until all are found. Each is probed
        for the keys alone (narrow columns); only one holding some is read whole."""
        con = self._con
        pending = "(SELECT DISTINCT k FROM repeats ANTI JOIN firsts USING (k))"
        if not self._count(pending):
            return
        con.execute(f"INSERT INTO firsts SELECT * FROM first_content SEMI JOIN {pending} USING (k)")
        key = f'"{self.spec.primary_key}"'
        for batch, rows in sorted(self._live_root.items(), reverse=True):
            if not self._count(pending):
                return
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE probed AS
                SELECT rid FROM (SELECT rid FROM typed_{batch} WHERE {key} IN (SELECT k FROM {pending}))
                SEMI JOIN kept_{batch} USING (rid)
            """)
            if self._count("probed"):
                typed = f"(SELECT * FROM typed_{batch} WHERE rid IN (SELECT rid FROM probed))"
                self._add_found(f"SELECT k, h, place FROM ({self._content_select(typed, rows)})")
        for path in reversed(self._flushed_root):
            if not self._count(pending):
                return
            parquet = f"(SELECT * FROM read_parquet({_lit(str(path))}))"
            con.execute(f"CREATE OR REPLACE TEMP TABLE probed AS SELECT DISTINCT {key} AS k FROM {parquet} "
                        f"WHERE {key} IN (SELECT k FROM {pending})")  # fmt: skip
            if self._count("probed"):
                names = [name for (name, *_) in con.execute(f"DESCRIBE {parquet}").fetchall()]
                self._add_found(
                    f"SELECT {self._stored_content(names)} FROM {parquet} WHERE {key} IN (SELECT k FROM probed)"
                )

    def _add_found(self, select: str) -> None:
        """First deliveries found, (k, h, place): into this batch's `firsts` and the run's `first_content`."""
        self._con.execute(f"CREATE OR REPLACE TEMP TABLE found AS {select}")
        self._con.execute("INSERT INTO first_content SELECT * FROM found")
        self._con.execute("INSERT INTO firsts SELECT * FROM found")

    def _content_hash(self, columns: dict[str, str]) -> str:
        """SQL of a hash of what a row says, whatever columns its table has: the XOR of a hash of each (column,
        value) that is not null, so a column a row lacks and a null one are the same. The key,
        `spec.delivery_columns` and lineage are left out. `columns`: column name -> SQL of its value. Timestamps
        are hashed as microseconds since the epoch, everything else as text: the same in any DuckDB session."""
        skip = {self.spec.primary_key, *self.spec.delivery_columns, *LINEAGE_COLUMNS}
        timestamps = {c.name for c in self.spec.columns if c.type is ColumnType.TIMESTAMP}
        terms = []
        for name, sql in sorted(columns.items()):
            if name not in skip:
                value = f"epoch_us({sql})" if name in timestamps else f"({sql})::VARCHAR"
                terms.append(f"CASE WHEN {value} IS NULL THEN 0::UBIGINT ELSE hash({_lit(name)}, {value}) END")
        while len(terms) > 1:  # a balanced tree of XORs: DuckDB limits how deep an expression nests
            pairs = [terms[i : i + 2] for i in range(0, len(terms), 2)]
            terms = [f"xor({pair[0]}, {pair[1]})" if len(pair) == 2 else pair[0] for pair in pairs]
        return terms[0] if terms else "0::UBIGINT"

    def _content_select(self, typed: str, rows: _BatchRows) -> str:
        """SELECT (rid, k, h, place) of typed rows (a relation like a batch's typed table) as they will be stored:
        key, content hash, where the line was read."""
        columns = {c.name: f't."{c.name}"' for c in self.spec.columns}
        columns.update({name: f't."{internal}"' for name, internal in rows.drift.items()})
        overflow = ""
        if rows.overflow:
            columns[OVERFLOW_COLUMN] = f'x."{OVERFLOW_COLUMN}"'
            overflow = f" LEFT JOIN {rows.overflow} x USING (rid)"
        return f"""
            SELECT t.rid, t."{self.spec.primary_key}" AS k, {self._content_hash(columns)} AS h,
                   o.origin || ' line ' || t.line_no AS place
            FROM {typed} t JOIN {rows.origins} o USING (file_idx){overflow}"""

    def _stored_content(self, names: Iterable[str]) -> str:
        """The SELECT list (k, h, place) of rows as they are stored, with columns `names` (named as in the table:
        the destination's, a flushed file's, the staged rows'): key, content hash, where the row was read."""
        columns = {name: f'"{name}"' for name in names}
        return f"""
            "{self.spec.primary_key}" AS k, {self._content_hash(columns)} AS h,
            "_source_file" || ' line ' || "_source_line" AS place"""

    def _filled(self, names: list[str]) -> list[str]:
        """Those of `names` (typed columns) that at least one kept record fills."""
        if not names:
            return []
        counts_sql = ", ".join(f'count("{n}")' for n in names)
        counts = self._con.execute(f"SELECT {counts_sql} FROM {self._typed} SEMI JOIN kept USING (rid)").fetchone()
        return [name for name, count in zip(names, counts, strict=True) if count]

    @property
    def _typed(self) -> str:
        """This batch's typed table: named per batch because the flush reads it (see `_stage_root`)."""
        return f"typed_{self._batches}"

    @property
    def _overflow_table(self) -> str:
        return f"overflow_{self._batches}"

    def _stage_root(self) -> bool:
        """Stage the kept records' rows; True when the batch's typed table now belongs to the staged rows."""
        if not self._count("kept"):
            return False
        internal = {f"__drift_{i}": name for i, (name, _) in enumerate(self._drift)}
        drift = {internal[column]: column for column in self._filled(list(internal))}
        produced = {c.name: f't."{c.name}"' for c in self.spec.columns}
        produced.update(self._lineage("o", "t.line_no", "t.rid"))
        produced.update({name: f't."{column}"' for name, column in drift.items()})
        hints = self.spec.dlt_columns()
        hints.update({name: {"name": name, "data_type": "text", "nullable": True} for name in drift})
        overflow = ""
        if self._overflow:
            produced[OVERFLOW_COLUMN] = f'x."{OVERFLOW_COLUMN}"'
            hints[OVERFLOW_COLUMN] = {"name": OVERFLOW_COLUMN, "data_type": "text", "nullable": True}
            overflow = f" LEFT JOIN {self._overflow_table} x USING (rid)"
        # The root's rows are the bulk of a batch: instead of copying them into a staging table, the flush
        # reads this batch's own typed table (named per batch: renaming it made its DROP cost 0.4-0.8 s).
        batch = self._batches
        kept = self._count("kept")
        self._con.execute(f"CREATE TEMP TABLE kept_{batch} AS SELECT rid FROM kept")
        self._con.execute(f"CREATE TEMP TABLE origins_{batch} AS SELECT * FROM origins")
        selects = ", ".join(f'{sql} AS "{name}"' for name, sql in produced.items())
        source = f"{self._typed} t SEMI JOIN kept_{batch} USING (rid) JOIN origins_{batch} o USING (file_idx)"
        staged = self._staged.setdefault(self.spec.table, _Staged(partial(_root_hints, self.spec)))
        used = [self._typed, f"kept_{batch}", f"origins_{batch}"] + ([self._overflow_table] if overflow else [])
        staged.add(f"SELECT {selects} FROM {source}{overflow}", used)
        self._live_root[batch] = _BatchRows(
            drift=dict(drift),
            overflow=self._overflow_table if overflow else None,
            origins=f"origins_{batch}",
        )
        staged.rows += kept
        staged.columns.update(dict.fromkeys(produced))
        staged.hints.update(hints)
        self.counts.rows += kept
        return True

    def _stage_child(self, index: int, child: ChildSpec) -> None:
        """Items of the kept records, plus one marker row per kept record whose list is now empty."""
        names = [child.parent_key] + [c.name for c in child.columns]
        produced = {name: f'"{name}"' for name in names}
        produced[LIST_POSITION] = "ord::BIGINT"
        produced.update(self._lineage("o", "line_no", "rid || '.' || ord"))
        produced[CLEARS_PARENT] = CLEARS_PARENT
        key = f'"{self.spec.primary_key}"'
        empty = ", ".join(f'NULL AS "{c.name}"' for c in child.columns)
        source = f"""(
            SELECT c.rid, c.file_idx, c.line_no, c.ord, {", ".join(f'c."{n}"' for n in names)},
                   NULL::BOOLEAN AS {CLEARS_PARENT}
            FROM child_{index} c SEMI JOIN kept USING (rid)
            UNION ALL BY NAME
            SELECT t.rid, t.file_idx, t.line_no, 0 AS ord, t.{key} AS "{child.parent_key}", {empty},
                   true AS {CLEARS_PARENT}
            FROM {self._typed} t SEMI JOIN kept USING (rid) ANTI JOIN child_{index} USING (rid)
        ) x JOIN origins o USING (file_idx)"""
        hints = child.dlt_columns(self.spec.key_column.type)
        if not self._stage(child.table, produced, source, hints, partial(_child_hints, child)):
            return
        (markers,) = self._con.execute(
            f"SELECT count(*) FROM {self._typed} SEMI JOIN kept USING (rid) ANTI JOIN child_{index} USING (rid)"
        ).fetchone()
        self.counts.clearing_markers[child.table] = self.counts.clearing_markers.get(child.table, 0) + markers

    def _stage_quarantine(self, lines: pa.Table, chunks: Sequence[Chunk]) -> None:
        """The batch's bad lines with their reasons, and where a damaged file could not be read further."""
        rows = self._con.execute("""
            SELECT b.rid, o.origin, l.line_no, b.reason
            FROM bad b JOIN src l USING (rid) JOIN origins o USING (file_idx) ORDER BY b.rid
        """).fetchall()
        raw = lines.column("line")
        bad = [(origin, line_no, raw[rid].as_py(), reason) for rid, origin, line_no, reason in rows]
        self._stage_quarantine_rows(bad + _damage_rows(chunks))

    def _stage_quarantine_rows(self, rows: list[tuple[str, int, bytes, str]]) -> None:
        """Stage (source file, source line, raw bytes, reason) rows for the quarantine table."""
        self.counts.quarantined += len(rows)
        now = datetime.now(UTC)
        table = pa.table(
            {
                "source_file": pa.array([r[0] for r in rows], pa.string()),
                "source_line": pa.array([r[1] for r in rows], pa.int64()),
                "resource": pa.array([self.resource] * len(rows), pa.string()),
                "raw_line": pa.array([_raw_text(r[2]) for r in rows], pa.string()),
                "reason": pa.array([r[3] for r in rows], pa.string()),
                "quarantined_at": pa.array([now] * len(rows), pa.timestamp("us", tz="UTC")),
            }
        )
        self._con.register("quarantined", table)
        try:
            produced = {name: f'"{name}"' for name in table.column_names}
            produced["_dlt_load_id"] = _lit(self.target.load_id)
            produced["_dlt_id"] = "uuid()::VARCHAR"
            self._stage(QUARANTINE_TABLE, produced, "quarantined", QUARANTINE_COLUMNS, _quarantine_hints)
        finally:
            self._con.unregister("quarantined")

    # -- output helpers

    def _lineage(self, origins: str, line_no: str, row: str) -> dict[str, str]:
        """Lineage columns; `_dlt_id` is `<load id>.<batch>.<row>`: unique across loads like dlt's random ids,
        but a tenth of the cost of a UUID per row and compressible in the table."""
        return {
            "_source_file": f"CASE WHEN {origins}.from_file THEN {origins}.origin END",
            "_source_line": f"(CASE WHEN {origins}.from_file THEN {line_no} END)::BIGINT",
            "_dlt_load_id": _lit(self.target.load_id),
            "_dlt_id": f"{_lit(f'{self.target.load_id}.{self._batches}.')} || {row}",
        }

    def _ordered_hints(self, hints: dict[str, Any], table: str | None = None) -> dict[str, Any]:
        """`hints` in the column order `_write` uses for `table` (see there)."""
        known = self.target.known_columns(table or self.spec.table)
        order = [n for n in known if n in hints] + [n for n in hints if n not in known]
        return {name: hints[name] for name in order}

    def _stage(
        self, table: str, produced: dict[str, str], source: str, hints: dict[str, Any], make_hints: Any
    ) -> int:
        """Keep `produced` (column -> SQL) of `source` for `table` until `flush`; returns the rows kept."""
        staged = self._staged.setdefault(table, _Staged(make_hints))
        part = f"staged_{next(self._parts)}"
        selects = ", ".join(f'{sql} AS "{name}"' for name, sql in produced.items())
        self._con.execute(f"CREATE TEMP TABLE {part} AS SELECT {selects} FROM {source}")
        rows = self._count(part)
        staged.add(f"SELECT * FROM {part}", [part])
        staged.rows += rows
        staged.columns.update(dict.fromkeys(produced))
        staged.hints.update(hints)
        return rows

    def _write(self, table: str, staged: _Staged) -> Path:
        """COPY the staged rows of `table` to one parquet file.

        Columns follow the order the pipeline's schema already has for `table` (new ones last), and columns
        it knows that no staged batch has are written as nulls: dlt then imports the file as it is, since it
        matches the table column for column.
        """
        known = self.target.known_columns(table)
        selects = [
            f'"{n}"' if n in staged.columns else f'NULL::{_DLT_SQL_TYPES.get(t, "VARCHAR")} AS "{n}"'
            for n, t in known.items()
        ]
        selects += [f'"{n}"' for n in staged.columns if n not in known]
        parts = " UNION ALL BY NAME ".join(f"({part})" for part in staged.parts)
        path = self.target.new_file(table)
        self._con.execute(
            f"COPY (SELECT {', '.join(selects)} FROM ({parts})) TO {_lit(str(path))} "
            "(FORMAT parquet, COMPRESSION lz4)"
        )
        return path

    def _count(self, table: str) -> int:
        (n,) = self._con.execute(f"SELECT count(*) FROM {table}").fetchone()
        return n


# --------------------------------------------------------------------------------------------- helpers


def line_ends(data: bytes) -> np.ndarray:
    """Offset after each line of `data` (int64): after its newline, or at the end for a last line without one.

    Searched in blocks that stay in the CPU cache: one pass over a 1 GB buffer would first write a 1 GB mask.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    blocks = range(0, len(buf), _NEWLINE_BLOCK)
    found = [np.flatnonzero(buf[at : at + _NEWLINE_BLOCK] == 10) + (at + 1) for at in blocks]
    ends = np.concatenate(found).astype(np.int64) if found else np.zeros(0, np.int64)
    if len(data) and (len(ends) == 0 or ends[-1] != len(data)):
        ends = np.append(ends, np.int64(len(data)))
    return ends


_NEWLINE_BLOCK = 4 * 1024 * 1024


def _lines_table(chunks: Sequence[Chunk]) -> pa.Table:
    """All lines of `chunks` as one Arrow table (rid, file_idx, line_no, line), bytes not copied."""
    parts = []
    rid = 0
    for file_idx, chunk in enumerate(chunks):
        data, ends = chunk.data, chunk.ends
        offsets = np.concatenate(([0], ends))
        n = len(ends)
        line = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
        )
        parts.append(
            pa.table(
                {
                    "rid": pa.array(np.arange(rid, rid + n, dtype=np.int64)),
                    "file_idx": pa.array(np.full(n, file_idx, dtype=np.int32)),
                    "line_no": pa.array(np.arange(chunk.first_line, chunk.first_line + n, dtype=np.int64)),
                    "line": line,
                }
            )
        )
        rid += n
    if not parts:
        return pa.table({"rid": [], "file_idx": [], "line_no": [], "line": pa.array([], pa.large_binary())})
    return pa.concat_tables(parts)


def _take_rows(lines: pa.Table, rids: np.ndarray) -> pa.Table:
    """The rows `rids` (ascending) of a `_lines_table`, whose row numbers are its rids: taken chunk by chunk,
    because pyarrow's take on a chunked table first concatenates the chunks, a copy of the whole batch."""
    pieces, start = [], 0
    for batch in lines.to_batches():
        end = start + batch.num_rows
        first, last = np.searchsorted(rids, [start, end])
        if last > first:
            pieces.append(batch.take(pa.array(rids[first:last] - start)))
        start = end
    return pa.Table.from_batches(pieces, schema=lines.schema)


def _parse_once(strings: Sequence[str], jsons: Sequence[str]) -> tuple[str, list[str], list[str]]:
    """SQL parsing `txt` once for every pointer: the select list, then per pointer the SQL of its value (the
    delivered text of `strings`, like `json_extract_string`; the JSON of `jsons`, like `json_extract`).

    One `from_json` into a struct of exactly these fields parses the line once and extracts them all (it
    matches keys case-sensitively and renders values as `json_extract_string` does). When the pointers do not
    form such a struct (a pointer inside another's value, or keys that differ only in case, which a struct
    cannot tell apart), two path-list extractions do the same with two parses.
    """
    structure = _structure([(p, "VARCHAR") for p in strings] + [(p, "JSON") for p in jsons])
    if structure is None:
        selects = f"json_extract_string(txt, {_list_lit(strings)}) AS s"
        selects += f", json_extract(txt, {_list_lit(jsons)}) AS j" if jsons else ""
        return selects, [f"s[{i}]" for i in range(1, len(strings) + 1)], [f"j[{i}]" for i in range(1, len(jsons) + 1)]

    def field(pointer: str) -> str:
        return "r" + "".join(f"[{_lit(key)}]" for key in pointer_keys(pointer))

    return f"from_json(txt, {_lit(json.dumps(structure))}) AS r", [field(p) for p in strings], [field(p) for p in jsons]


def _structure(leaves: Sequence[tuple[str, str]]) -> dict[str, Any] | None:
    """The `from_json` structure holding every (pointer, type) leaf, or None when no struct can."""
    root: dict[str, Any] = {}
    for pointer, kind in leaves:
        *parents, leaf = pointer_keys(pointer) or [None]
        if leaf is None:
            return None
        node = root
        for key in parents:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                return None
        if node.get(leaf, kind) != kind:
            return None
        node[leaf] = kind

    def distinct_ignoring_case(node: dict[str, Any]) -> bool:
        keys = [key.lower() for key in node if key]
        nested = [child for child in node.values() if isinstance(child, dict)]
        return len(set(keys)) == len(node) and all(distinct_ignoring_case(child) for child in nested)

    return root if distinct_ignoring_case(root) else None


def _summed(column: Column) -> tuple[str, str]:
    """SQL summing `column.path` over the items of the list `column.sum_over`, and the check on each item."""
    items = f"try_cast(json_extract(elem, {_lit(column.sum_over or '')}) AS JSON[])"
    cast = f"TRY_CAST(json_extract_string(x, {_lit(column.path)}) AS {SQL_TYPES[column.type.value]})"
    value = f"coalesce(list_sum(list_transform({items}, x -> {cast})), 0)"
    bad = f"json_extract_string(x, {_lit(column.path)}) IS NOT NULL AND {cast} IS NULL"
    check = (
        f"CASE WHEN coalesce(list_bool_or(list_transform({items}, x -> {bad})), false) "
        f"THEN {_lit(column.name + ': a value is not a ' + column.type.value)} END"
    )
    return value, check


def _damage_rows(chunks: Sequence[Chunk]) -> list[tuple[str, int, bytes, str]]:
    """A quarantine row per chunk with damage: at the line after its last readable one (line 0 for an entry
    not read at all), saying why the file is not read further."""
    return [(c.origin, c.first_line + len(c.ends), b"", c.damage) for c in chunks if c.damage is not None]


def _escape_key(key: str) -> str:
    """`key` as one step of a JSON pointer (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def _fields(pointers: set[str], kind: str = "new ") -> str:
    return f"{len(pointers):,} {kind}field{'' if len(pointers) == 1 else 's'}"


def _examples(pointers: set[str], count: int = 3) -> str:
    """A few of the field `pointers`, shown as JSON strings (a NUL or a blank stays visible)."""
    shown = ", ".join(json.dumps(p) for p in sorted(pointers)[:count])
    return f"e.g. {shown}" + (", ..." if len(pointers) > count else "")


def _raw_text(raw: bytes) -> str:
    """The quarantined line as text: at most 64 KiB, undecodable bytes shown as escapes, newline dropped."""
    return raw[:RAW_LINE_MAX_BYTES].decode("utf-8", errors="backslashreplace").rstrip("\r\n")


_lit = sql_literal


def _list_lit(items: Iterable[str]) -> str:
    return "[" + ", ".join(_lit(i) for i in items) + "]"


@dataclass(frozen=True)
class TableFile:
    """The data item of an imported parquet file: it only names the table the file belongs to."""

    table: str


def routed_table(item: TableFile) -> str:
    """Every resource's `table_name`: each file the reader hands to dlt says which table it loads."""
    return item.table


def _file_items(table: str, path: Path, rows: int, hints: Any) -> list[Any]:
    """The items that make dlt import `path` into `table` with `hints`.

    First the table's hints as a table variant (an empty item: it only updates the schema), then the file
    itself, routed to the table by `routed_table` and hard-linked into the load package without rewriting.
    """
    return [
        dlt.mark.with_hints([], hints, create_table_variant=True),
        dlt.mark.with_file_import(str(path), "parquet", rows, TableFile(table)),
    ]


def _root_hints(spec: TableSpec, columns: dict[str, Any]) -> Any:
    """Hints of the root table variant: the resource's key and disposition, and the batch's columns."""
    return dlt.mark.make_hints(table_name=spec.table, columns=columns, schema_contract=SCHEMA_CONTRACT)


def _child_hints(child: ChildSpec, columns: dict[str, Any]) -> Any:
    """Hints of a child table variant: they start from the resource's, so each inherited one is overridden."""
    return dlt.mark.make_hints(
        table_name=child.table,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=list(child.key),
        merge_key=child.parent_key,
        columns=columns,
        schema_contract=SCHEMA_CONTRACT,
    )


def _quarantine_hints(columns: dict[str, Any]) -> Any:
    return dlt.mark.make_hints(
        table_name=QUARANTINE_TABLE,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=["source_file", "source_line"],
        columns=columns,
    )
