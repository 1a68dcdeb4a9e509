"""What one landing file gives a run: the chunks of complete lines not read yet, the state mark to record
once they are loaded, and what the load's report must say about the file.

A last line without newline that is not valid JSON yet is held back (a writer still appending). A file holding
one JSON document (an API response, a Segment batch body) is unwrapped into one line per record first. A file of
more than LANDING_MAX_FILE_BYTES of JSON text (decompressed) is refused with one quarantine row at its first
unread line, reported on every run. A UTF-8 byte order mark at the start of a file is not part of its first
record.

Gzip-compressed files (`*.jsonl.gz`, `*.json.gz`: Segment's S3 exports, bulk exports) are read the same way:
their bytes consumed are compressed bytes, and a grown file is decompressed again and its lines already read
are skipped. A stream that ends early is a file still being written (its complete lines are read now, and the
load's report says what waits); the lines of a damaged member are quarantined with their text, since zlib
notices damage only after it has decoded altered text, and the file is not read past it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestion.landing.files import BOM, file_mark, gunzip, is_gzip, landing_suffix, read_regular, resume_point
from ingestion.landing.lines import Chunk, line_ends
from ingestion.spec import TableSpec, pointer_keys

log = logging.getLogger(__name__)

NOT_READ = "not_read"
"""File-state key of an entry that is not a landing file (a link, ...): quarantined once, reported every run."""
TOO_BIG = "too_big"
"""File-state key of a file refused for its size: {size, limit, why}; read again once it or the limit changes."""
HELD = "held"
"""File-state key of what an unchanged file holds back (a gzip stream without its end): reported every run."""


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


@dataclass
class FileRead:
    """What one landing file gives this run: chunks to read, the state mark once loaded, what to report."""

    chunks: list[Chunk] = field(default_factory=list)
    mark: dict[str, Any] | None = None
    """None: nothing new (the state keeps the file's mark)."""
    warning: str | None = None


def unread_part(path: Path, origin: str, mark: dict[str, Any] | None, spec: TableSpec, limit: int) -> FileRead:
    """The unread part of `path`, the state mark to record once it is loaded, and what to report about it."""
    mark = mark or {}
    size = os.stat(path, follow_symlinks=False).st_size
    refused = mark.get(TOO_BIG)
    if refused and refused["size"] == size and limit <= refused["limit"]:
        return FileRead(warning=refused["why"])
    progress = {k: v for k, v in mark.items() if k not in (NOT_READ, TOO_BIG, HELD)} or None
    resume = resume_point(path, progress)
    if resume is None:
        return FileRead(warning=mark.get(HELD))
    offset, lines = resume if landing_suffix(path) != ".json" else (0, 0)
    if is_gzip(path):
        return _new_gzip_chunk(path, origin, progress, lines, spec, limit)
    if size - offset > limit:
        return _refuse(origin, progress, lines, size, limit, f"{size - offset:,} bytes of JSON text to read")
    data = read_regular(path, offset)
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
    return FileRead([chunk], file_mark(path, offset + bom + len(chunk.data), read), warning)


def _document_read(path: Path, origin: str, data: bytes, spec: TableSpec, consumed: int) -> FileRead | None:
    """The records of a landing file holding one JSON document as lines to read, or None when it is not one.

    An envelope whose metadata cannot be given to its records (a Segment batch whose context is not an object)
    is quarantined whole, as one line with the reason, and reported."""
    try:
        records = document_records(data, spec)
    except ValueError as refused:
        why = f"an envelope not read: {refused}"
        whole = _record_line(json.loads(data))
        return FileRead([Chunk(origin, whole, quarantine=why)], file_mark(path, consumed, 1), f"{why}; quarantined")
    if records is None:
        return None
    return FileRead([Chunk(origin, records_to_lines(records))], file_mark(path, consumed, len(records)))


def _new_gzip_chunk(
    path: Path, origin: str, progress: dict[str, Any] | None, lines: int, spec: TableSpec, limit: int
) -> FileRead:
    """`unread_part` of a gzip file: all of it is decompressed, and the `lines` already read are skipped.

    The mark counts compressed bytes, so a file that grew (a writer appending) is recognised as grown. Lines of
    a damaged member come as a second chunk whose lines are quarantined with their text (see `Gunzipped`)."""
    size = os.stat(path, follow_symlinks=False).st_size
    if size > limit:
        return _refuse(origin, progress, lines, size, limit, f"{size:,} bytes even compressed")
    raw = read_regular(path)
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
            return FileRead([chunk], mark)
        why = "the gzip stream ends early (a file still being written, or cut short)" if unzipped.ended_early else ""
        why += " and " if held and why else ""
        why += f"the last {held:,} bytes (line {read + 1}) are not a complete line" if held else ""
        why += f": {read:,} lines read so far, held back until the file grows"
        mark[HELD] = why
        return FileRead([chunk], mark, why)
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
    return FileRead(chunks, file_mark(path, len(raw), read + (quarantined if suspect else 0)), why)


def _skip_lines(data: bytes, suspect: bytes, lines: int) -> tuple[bytes, bytes]:
    """`data` and `suspect` (read one after the other) without their first `lines` lines."""
    ends = line_ends(data)
    if len(ends) >= lines:
        return data[ends[lines - 1] :], suspect
    rest = lines - len(ends)
    suspect_ends = line_ends(suspect)
    return b"", suspect[suspect_ends[rest - 1] :] if len(suspect_ends) >= rest else b""


def _refuse(origin: str, progress: dict[str, Any] | None, lines: int, size: int, limit: int, what: str) -> FileRead:
    """A file not read for its size: one quarantine row at its next line, and a mark that skips it until the file
    or the limit changes (the progress before it is kept: a grown file is read on from there)."""
    why = (
        f"not read: {what}, more than the {limit:,} bytes one landing file may give a run "
        "(LANDING_MAX_FILE_BYTES); split the file, or raise the limit and it is read on the next run"
    )
    mark = {**(progress or {}), TOO_BIG: {"size": size, "limit": limit, "why": why}}
    return FileRead([Chunk(origin, b"", lines + 1, damage=why)], mark, why)


# --------------------------------------------------------------------------------------------- the target
