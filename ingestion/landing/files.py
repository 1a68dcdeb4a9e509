"""Landing files: which ones are read at all, how they are opened, where a run resumes, and gzip text.

Incremental files: each resource keeps, in its dlt state, per file the size, bytes and lines consumed, and a
hash of the first and of the last consumed 4 KiB (`file_mark`). An unchanged file is skipped after reading
8 KiB; a file that grew is read from where it stopped (line numbers continue); a file that shrank or whose
hashes changed was replaced and is read again from the start (keys make that harmless) (`resume_point`). The
state is committed by dlt together with the load package, so a crash never records a file as read without its
rows.

What is read at all: regular files inside the landing directory (`scan_landing`), opened without following
links (`read_regular`). Links, FIFOs and folders outside the landing directory are not read: quarantined once
(line 0) and reported on every run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HASH_BYTES = 4096
LANDING_SUFFIXES = (".jsonl", ".json")
"""Landing files hold JSON lines or one JSON document; either may also be gzip-compressed (`.jsonl.gz`)."""
GZIP_SUFFIX = ".gz"
_INFLATE_STEP = 1024 * 1024
"""Compressed bytes inflated per call (a damaged step is inflated again in small pieces, to keep its text)."""
BOM = b"\xef\xbb\xbf"
"""A UTF-8 byte order mark, which Windows tools write at the start of a file: not part of the first record."""


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


def read_regular(path: Path, offset: int = 0) -> bytes:
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
