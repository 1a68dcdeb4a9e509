"""Lines: landing bytes cut into numbered lines, and a batch of them as one Arrow table for DuckDB.

Cutting is numpy's newline search, and the Arrow table points into the chunks' bytes instead of copying them,
so a batch reaches the reader's DuckDB zero-copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa

_NEWLINE_BLOCK = 4 * 1024 * 1024


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


def lines_table(chunks: Sequence[Chunk]) -> pa.Table:
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


def take_rows(lines: pa.Table, rids: np.ndarray) -> pa.Table:
    """The rows `rids` (ascending) of a `lines_table`, whose row numbers are its rids: taken chunk by chunk,
    because pyarrow's take on a chunked table first concatenates the chunks, a copy of the whole batch."""
    pieces, start = [], 0
    for batch in lines.to_batches():
        end = start + batch.num_rows
        first, last = np.searchsorted(rids, [start, end])
        if last > first:
            pieces.append(batch.take(pa.array(rids[first:last] - start)))
        start = end
    return pa.Table.from_batches(pieces, schema=lines.schema)
