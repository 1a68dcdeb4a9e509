"""The one reader behind every resource: landing lines (or API pages) in, typed Arrow tables out.

Why one reader: every system has the same problems (broken lines, wrong types, unknown fields, re-delivered
records, files that grow or get replaced) and they are solved once, the same way, here. Each resource only
declares its `TableSpec` (ingestion/spec.py).

How a batch is read (all in an in-memory DuckDB, so the heavy lifting is vectorised C++, not Python rows):

1. Bytes are cut into lines with numpy and handed to DuckDB as one Arrow binary column, zero-copy.
2. Each line is classified: invalid UTF-8, not JSON, not an object, missing key, a known column whose value
   does not fit its declared type, a child list item that does not fit. Such lines go to the quarantine table
   with file, line, raw text (64 KiB at most) and reason; nothing is dropped silently.
3. The declared columns are extracted with typed JSON extraction; lists become child tables carrying the
   parent key; within a batch one version per key survives (newest cursor for entities, first delivery for
   events).
4. Schema drift: a field in a read object that the spec does not declare becomes a new text column holding
   the field's JSON text. Because it is always text, a later change of the field's type cannot corrupt the
   column; dbt decides what it means. dlt's schema contract is `columns: evolve` (new columns welcome) and
   `data_type: freeze` (a type change of an existing column fails loudly instead of creating a variant
   column), which cannot trigger because every value is cast or quarantined here first.

Incremental files: each resource keeps, in its dlt state, per file the size, bytes and lines consumed, and a
hash of the first and of the last consumed 4 KiB. An unchanged file is skipped after reading 8 KiB; a file
that grew is read from where it stopped (line numbers continue); a file that shrank or whose hashes changed
was replaced and is read again from the start (keys make that harmless). The state is committed by dlt
together with the load package, so a crash never records a file as read without its rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import dlt
import duckdb
import numpy as np
import pyarrow as pa

from ingestion.spec import (
    DECIMAL_PRECISION,
    DECIMAL_SCALE,
    QUARANTINE_COLUMNS,
    QUARANTINE_TABLE,
    ChildSpec,
    Column,
    ColumnType,
    TableSpec,
)

log = logging.getLogger(__name__)

RAW_LINE_MAX_BYTES = 64 * 1024
"""Quarantine keeps at most this much of a bad line: enough to diagnose, bounded for a 1 GB garbage line."""
BATCH_BYTES = 256 * 1024 * 1024
"""Bytes of input per DuckDB pass: bounds memory while keeping passes large enough to stay vectorised."""
HASH_BYTES = 4096
LANDING_SUFFIXES = (".jsonl", ".json")
SCHEMA_CONTRACT = {"tables": "evolve", "columns": "evolve", "data_type": "freeze"}
"""New tables and columns are welcome (drift); an existing column never changes type."""

Dedup = Literal["newest", "first"]
"""Which version of a key survives a batch: the newest cursor (entities) or the first delivery (events)."""

_SQL_TYPES = {
    ColumnType.BIGINT: "BIGINT",
    ColumnType.DECIMAL: f"DECIMAL({DECIMAL_PRECISION},{DECIMAL_SCALE})",
    ColumnType.TIMESTAMP: "TIMESTAMPTZ",
}


@dataclass(frozen=True)
class Chunk:
    """Complete lines from one origin, numbered from `first_line`."""

    origin: str
    """Where the lines came from: landing-relative path or `api:<url>#<run>` (quarantine's source_file)."""
    data: bytes
    first_line: int = 1
    from_file: bool = True
    """Lineage columns `_source_file`/`_source_line` are filled for files and null for API pages."""


@dataclass
class BatchCounts:
    """What one resource read: lines that became rows, lines quarantined, repeated deliveries collapsed."""

    rows: int = 0
    quarantined: int = 0
    duplicates: int = 0


# --------------------------------------------------------------------------------------------- files & state


def file_mark(path: Path, offset: int, lines: int) -> dict[str, Any]:
    """What the state remembers of a file after consuming `offset` bytes and `lines` lines of it."""
    with path.open("rb") as f:
        head = f.read(min(offset, HASH_BYTES))
        f.seek(max(0, offset - HASH_BYTES))
        tail = f.read(min(offset, HASH_BYTES))
    return {
        "size": path.stat().st_size,
        "offset": offset,
        "lines": lines,
        "head": hashlib.sha256(head).hexdigest(),
        "tail": hashlib.sha256(tail).hexdigest(),
    }


def resume_point(path: Path, mark: dict[str, Any] | None) -> tuple[int, int] | None:
    """(byte offset, lines already read) to continue `path` from, or None when nothing new is there.

    A file whose consumed prefix no longer hashes the same, or that shrank, was replaced: start over.
    """
    size = path.stat().st_size
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
    held back otherwise (a writer still appending): the next run reads it once it is complete.
    """
    cut = data.rfind(b"\n") + 1
    tail = data[cut:]
    if tail.strip():
        try:
            json.loads(tail)
        except ValueError:
            return data[:cut]
    return data


def document_records(data: bytes, envelope_keys: frozenset[str]) -> list[Any] | None:
    """The records of a file holding one JSON document (an API response), or None if it is not one.

    Accepted: a list of records, an envelope `{"orders": [...]}` or `{"customer": {...}}`, or a single record.
    """
    try:
        document = json.loads(data)
    except ValueError:
        return None
    if isinstance(document, dict) and len(document) == 1:
        ((key, content),) = document.items()
        if key in envelope_keys:
            document = content
    return document if isinstance(document, list) else [document]


def records_to_lines(records: Iterable[Any]) -> bytes:
    """Serialize records as JSONL, so API pages and documents go through the line reader like files."""
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in records)


def is_document(path: Path, data: bytes) -> bool:
    """A `.json` file, or any file starting with `[`, holds one document instead of lines."""
    return path.suffix == ".json" or data.lstrip()[:1] == b"["


def landing_files(directory: Path) -> list[Path]:
    """Landing files of one entity in delivery order (names sort in delivery order, contract section 1)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in LANDING_SUFFIXES)


def read_landing(
    spec: TableSpec,
    resource: str,
    directory: Path,
    landing_dir: Path,
    state: dict[str, Any],
    dedup: Dedup = "newest",
) -> Iterator[Any]:
    """Yield dlt items for every new line under `directory`, recording progress in the resource `state`."""
    seen: dict[str, Any] = state.setdefault("files", {})
    reader = RecordReader(spec, resource, dedup)
    batch: list[Chunk] = []
    marks: dict[str, dict[str, Any]] = {}
    size = 0
    try:
        for path in landing_files(directory):
            chunk, mark = _new_chunk(path, landing_dir, seen.get(_relative(path, landing_dir)), spec)
            if mark is None:
                continue
            marks[chunk.origin] = mark
            if chunk.data:
                batch.append(chunk)
                size += len(chunk.data)
            if size >= BATCH_BYTES:
                yield from reader.read(batch)
                seen.update(marks)
                batch, marks, size = [], {}, 0
        if batch:
            yield from reader.read(batch)
        seen.update(marks)
    finally:
        reader.close()
    _log_counts(resource, reader.counts)


def read_pages(
    spec: TableSpec,
    resource: str,
    pages: Iterable[list[dict[str, Any]]],
    origin: str,
    dedup: Dedup = "newest",
) -> Iterator[Any]:
    """Yield dlt items for API pages: each page goes through the same reader as a landing file would."""
    reader = RecordReader(spec, resource, dedup)
    line = 1
    try:
        for page in pages:
            if not page:
                continue
            yield from reader.read([Chunk(origin, records_to_lines(page), line, from_file=False)])
            line += len(page)
    finally:
        reader.close()
    _log_counts(resource, reader.counts)


def api_origin(url: str) -> str:
    """Quarantine origin of an API run: the endpoint plus the run's start, so two runs never share keys."""
    return f"api:{url}#{datetime.now(UTC).isoformat(timespec='seconds')}"


def _log_counts(resource: str, counts: BatchCounts) -> None:
    log.info(
        "%s: %d rows, %d quarantined, %d repeated deliveries collapsed",
        resource,
        counts.rows,
        counts.quarantined,
        counts.duplicates,
    )


def _relative(path: Path, landing_dir: Path) -> str:
    try:
        return path.resolve().relative_to(landing_dir.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _new_chunk(
    path: Path, landing_dir: Path, mark: dict[str, Any] | None, spec: TableSpec
) -> tuple[Chunk, dict[str, Any] | None]:
    """The unread part of `path` and the state mark to record once it is loaded (None: nothing new)."""
    origin = _relative(path, landing_dir)
    resume = resume_point(path, mark)
    if resume is None:
        return Chunk(origin, b""), None
    offset, lines = resume if path.suffix != ".json" else (0, 0)
    with path.open("rb") as f:
        f.seek(offset)
        data = f.read()
    if offset == 0 and is_document(path, data):
        records = document_records(data, spec.envelope_keys)
        if records is not None:
            return Chunk(origin, records_to_lines(records)), file_mark(path, len(data), len(records))
    data = split_complete(data)
    consumed = lines + data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return Chunk(origin, data, lines + 1), file_mark(path, offset + len(data), consumed)


# --------------------------------------------------------------------------------------------- the reader


class RecordReader:
    """Validates and extracts one spec's records from chunks of lines in an in-memory DuckDB.

    One reader lives for one resource run: events use it to remember which message ids this run has already
    delivered, so a message re-delivered in two files of the same run is still loaded once.
    """

    def __init__(self, spec: TableSpec, resource: str, dedup: Dedup) -> None:
        self.spec = spec
        self.resource = resource
        self.dedup = dedup
        self.counts = BatchCounts()
        self._con = duckdb.connect(":memory:")
        self._con.execute("SET TimeZone = 'UTC'")
        self._root_hints = dlt.mark.make_hints(table_name=spec.table, columns=spec.dlt_columns())
        key_type = _SQL_TYPES.get(spec.key_column.type, "VARCHAR")
        self._con.execute(f"CREATE TEMP TABLE seen_keys (k {key_type} PRIMARY KEY)")

    def close(self) -> None:
        self._con.close()

    def read(self, chunks: Sequence[Chunk]) -> Iterator[Any]:
        """Yield the root table, child tables and quarantine for `chunks`, each as a dlt table variant.

        Variants, because one resource writes several tables with different keys; the root's column hints
        travel the same way so that no variant inherits them (a variant starts from the resource's hints).
        """
        lines = _lines_table(chunks)
        if lines.num_rows == 0:
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
        try:
            self._classify()
            self._extract()
            for i, child in enumerate(self.spec.children):
                self._extract_child(i, child)
            self._keep()
            root = self._root_output()
            quarantine = self._quarantine_output(lines)
            children = [self._child_output(i, child) for i, child in enumerate(self.spec.children)]
        finally:
            con.unregister("chunk_lines")
            con.unregister("origins")
        self.counts.rows += root.num_rows
        self.counts.quarantined += quarantine.num_rows
        if root.num_rows:
            yield dlt.mark.with_hints(root, self._root_hints, create_table_variant=True)
        for child, table in zip(self.spec.children, children, strict=True):
            if table.num_rows:
                yield dlt.mark.with_hints(table, _child_hints(self.spec, child), create_table_variant=True)
        # yielded even when empty: dbt's sources can rely on raw_<system>.quarantine existing
        yield dlt.mark.with_hints(quarantine, _QUARANTINE_HINTS, create_table_variant=True)

    # -- SQL steps: each writes one temp table, named for what it holds

    def _classify(self) -> None:
        """lines: every non-blank line with its text, or the reason it is not a JSON object at all."""
        self._con.execute("""
            CREATE OR REPLACE TEMP TABLE lines AS
            SELECT rid, file_idx, line_no, txt,
                   CASE WHEN txt IS NULL THEN 'invalid UTF-8'
                        WHEN NOT json_valid(txt) THEN 'not valid JSON'
                        WHEN json_type(txt) <> 'OBJECT' THEN 'not a JSON object'
                   END AS reason
            FROM (SELECT rid, file_idx, line_no, try(decode(line)) AS txt FROM chunk_lines)
            WHERE txt IS NULL OR trim(txt, ' ' || chr(9) || chr(10) || chr(13)) <> ''
        """)

    def _extract(self) -> None:
        """typed: the declared columns cast to their types, plus the reasons a record does not fit."""
        spec = self.spec
        strings = [c for c in spec.columns if c.type is not ColumnType.JSON]
        jsons = [c for c in spec.columns if c.type is ColumnType.JSON]
        selects, checks = [], []
        for i, column in enumerate(strings, start=1):
            value, check = _typed(f"s[{i}]", column)
            selects.append(f'{value} AS "{column.name}"')
            checks.append(check)
        for i, column in enumerate(jsons, start=1):
            selects.append(f"nullif(j[{i}]::VARCHAR, 'null') AS \"{column.name}\"")
        key_index = strings.index(spec.key_column) + 1
        checks.insert(
            0, f"CASE WHEN s[{key_index}] IS NULL THEN 'missing primary key {spec.primary_key}' END"
        )
        for child in spec.children:
            checks.append(
                f"CASE WHEN json_type(txt, {_lit(child.list_path)}) NOT IN ('ARRAY', 'NULL') "
                f"THEN {_lit(child.list_path.strip('/') + ' is not a list')} END"
            )
        json_extract = f", json_extract(txt, {_list_lit(c.path for c in jsons)}) AS j" if jsons else ""
        self._con.execute(f"""
            CREATE OR REPLACE TEMP TABLE typed AS
            SELECT rid, file_idx, line_no, txt, {", ".join(selects)},
                   nullif(concat_ws('; ', {", ".join(checks)}), '') AS reason
            FROM (SELECT rid, file_idx, line_no, txt,
                         json_extract_string(txt, {_list_lit(c.path for c in strings)}) AS s {json_extract}
                  FROM lines WHERE reason IS NULL)
        """)

    def _extract_child(self, index: int, child: ChildSpec) -> None:
        """child_<i>: one row per list item of records that fit so far, with the item's own reasons."""
        plain = [c for c in child.columns if c.sum_over is None]
        selects, checks = [], ["CASE WHEN json_type(elem) <> 'OBJECT' THEN 'item is not an object' END"]
        for i, column in enumerate(plain, start=1):
            value, check = _typed(f"s[{i}]", column)
            selects.append(f'{value} AS "{column.name}"')
            checks.append(check)
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
            SELECT file_idx, line_no, ord, parent_key AS "{child.parent_key}", {", ".join(selects)},
                   nullif(concat_ws('; ', {", ".join(checks)}), '') AS item_reason,
                   CASE WHEN item_reason IS NOT NULL THEN {label} || ord || '] ' || item_reason END AS reason
            FROM (SELECT file_idx, line_no, parent_key, ord, elem,
                         json_extract_string(elem, {_list_lit(c.path for c in plain)}) AS s
                  FROM (SELECT file_idx, line_no, parent_key, unnest(items) AS elem,
                               generate_subscripts(items, 1) AS ord
                        FROM (SELECT file_idx, line_no, "{self.spec.primary_key}" AS parent_key,
                                     try_cast(json_extract(txt, {_lit(child.list_path)}) AS JSON[]) AS items
                              FROM typed WHERE reason IS NULL)))
        """)

    def _keep(self) -> None:
        """bad: lines to quarantine with all their reasons; kept: one surviving line per key."""
        child_reasons = "".join(
            f" UNION ALL SELECT file_idx, line_no, reason FROM child_{i} WHERE reason IS NOT NULL"
            for i in range(len(self.spec.children))
        )
        self._con.execute(f"""
            CREATE OR REPLACE TEMP TABLE bad AS
            SELECT l.rid, l.file_idx, l.line_no, r.reason
            FROM (SELECT file_idx, line_no, string_agg(reason, '; ') AS reason FROM (
                      SELECT file_idx, line_no, reason FROM lines WHERE reason IS NOT NULL
                      UNION ALL SELECT file_idx, line_no, reason FROM typed WHERE reason IS NOT NULL
                      {child_reasons})
                  GROUP BY file_idx, line_no) r
            JOIN lines l USING (file_idx, line_no)
        """)
        key = f'"{self.spec.primary_key}"'
        if self.dedup == "newest" and self.spec.cursor:
            order = f'"{self.spec.cursor}" DESC NULLS LAST, file_idx DESC, line_no DESC'
        elif self.dedup == "newest":
            order = "file_idx DESC, line_no DESC"
        else:
            order = "file_idx, line_no"
        already = f"WHERE {key} NOT IN (SELECT k FROM seen_keys)" if self.dedup == "first" else ""
        self._con.execute("""
            CREATE OR REPLACE TEMP TABLE candidates AS
            SELECT * FROM typed t
            WHERE reason IS NULL AND NOT EXISTS (
                SELECT 1 FROM bad b WHERE b.file_idx = t.file_idx AND b.line_no = t.line_no)
        """)
        self._con.execute(f"""
            CREATE OR REPLACE TEMP TABLE kept AS
            SELECT * FROM candidates {already}
            QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {order}) = 1
        """)
        (collapsed,) = self._con.execute(
            "SELECT (SELECT count(*) FROM candidates) - (SELECT count(*) FROM kept)"
        ).fetchone()
        self.counts.duplicates += collapsed
        if self.dedup == "first":
            self._con.execute(f"INSERT INTO seen_keys SELECT {key} FROM kept")

    def _drift_columns(self) -> list[tuple[str, str]]:
        """(column, pointer) for fields of read objects the spec does not declare, in a stable order."""
        found: list[tuple[str, str]] = []
        for pointer, known in self.spec.object_paths().items():
            keys = self._con.execute(
                f"SELECT DISTINCT unnest(json_keys(txt, {_lit(pointer or '$')})) AS k FROM kept ORDER BY k"
            ).fetchall()
            for (key,) in keys:
                if key not in known:
                    escaped = key.replace("~", "~0").replace("/", "~1")
                    found.append((self.spec.drift_column_name(pointer, key), f"{pointer}/{escaped}"))
        return found

    def _root_output(self) -> pa.Table:
        names = [f'"{c.name}"' for c in self.spec.columns]
        drift = self._drift_columns()
        drift_sql = ""
        if drift:
            values = ", ".join(
                f"nullif(d[{i}]::VARCHAR, 'null') AS \"{name}\"" for i, (name, _) in enumerate(drift, start=1)
            )
            drift_sql = f", {values}"
        source = "json_extract(k.txt, " + _list_lit(p for _, p in drift) + ") AS d, " if drift else ""
        return self._con.execute(f"""
            SELECT {", ".join(names)} {drift_sql},
                   CASE WHEN from_file THEN origin END AS _source_file,
                   CASE WHEN from_file THEN line_no END::BIGINT AS _source_line
            FROM (SELECT {source} k.*, o.origin, o.from_file FROM kept k JOIN origins o USING (file_idx))
            ORDER BY file_idx, line_no
        """).fetch_arrow_table()

    def _child_output(self, index: int, child: ChildSpec) -> pa.Table:
        names = [f'c."{child.parent_key}"'] + [f'c."{c.name}"' for c in child.columns]
        return self._con.execute(f"""
            SELECT {", ".join(names)},
                   CASE WHEN o.from_file THEN o.origin END AS _source_file,
                   CASE WHEN o.from_file THEN c.line_no END::BIGINT AS _source_line
            FROM child_{index} c
            JOIN (SELECT file_idx, line_no FROM kept) k USING (file_idx, line_no)
            JOIN origins o USING (file_idx)
            ORDER BY c.file_idx, c.line_no, c.ord
        """).fetch_arrow_table()

    def _quarantine_output(self, lines: pa.Table) -> pa.Table:
        rows = self._con.execute("""
            SELECT rid, o.origin, b.line_no, b.reason
            FROM bad b JOIN origins o USING (file_idx) ORDER BY b.file_idx, b.line_no
        """).fetchall()
        raw = lines.column("line")
        now = datetime.now(UTC)
        return pa.table(
            {
                "source_file": pa.array([r[1] for r in rows], pa.string()),
                "source_line": pa.array([r[2] for r in rows], pa.int64()),
                "resource": pa.array([self.resource] * len(rows), pa.string()),
                "raw_line": pa.array([_raw_text(raw[r[0]].as_py()) for r in rows], pa.string()),
                "reason": pa.array([r[3] for r in rows], pa.string()),
                "quarantined_at": pa.array([now] * len(rows), pa.timestamp("us", tz="UTC")),
            }
        )


# --------------------------------------------------------------------------------------------- helpers


def _lines_table(chunks: Sequence[Chunk]) -> pa.Table:
    """All lines of `chunks` as one Arrow table (rid, file_idx, line_no, line), bytes not copied."""
    parts = []
    rid = 0
    for file_idx, chunk in enumerate(chunks):
        data = chunk.data
        buf = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(buf == 10) + 1
        if len(data) and (len(ends) == 0 or ends[-1] != len(data)):
            ends = np.append(ends, len(data))
        offsets = np.concatenate(([0], ends)).astype(np.int64)
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


def _typed(value: str, column: Column) -> tuple[str, str]:
    """SQL for `value` (the delivered string) cast to the column's type, and the check that it fit."""
    if column.type in (ColumnType.TEXT, ColumnType.JSON):
        return value, "NULL"
    if column.type is ColumnType.BIGINT:
        cast = f"CASE WHEN regexp_full_match({value}, '-?[0-9]+') THEN TRY_CAST({value} AS BIGINT) END"
    elif column.type is ColumnType.BOOL:
        cast = f"CASE {value} WHEN 'true' THEN true WHEN 'false' THEN false END"
    else:
        cast = f"TRY_CAST({value} AS {_SQL_TYPES[column.type]})"
    check = (
        f"CASE WHEN {value} IS NOT NULL AND ({cast}) IS NULL THEN "
        f"{_lit(column.name + ': ')} || left({value}, 100) || {_lit(' is not a ' + column.type.value)} END"
    )
    return cast, check


def _summed(column: Column) -> tuple[str, str]:
    """SQL summing `column.path` over the items of the list `column.sum_over`, and the check on each item."""
    items = f"try_cast(json_extract(elem, {_lit(column.sum_over or '')}) AS JSON[])"
    cast = f"TRY_CAST(json_extract_string(x, {_lit(column.path)}) AS {_SQL_TYPES[column.type]})"
    value = f"coalesce(list_sum(list_transform({items}, x -> {cast})), 0)"
    bad = f"json_extract_string(x, {_lit(column.path)}) IS NOT NULL AND {cast} IS NULL"
    check = (
        f"CASE WHEN coalesce(list_bool_or(list_transform({items}, x -> {bad})), false) "
        f"THEN {_lit(column.name + ': a value is not a ' + column.type.value)} END"
    )
    return value, check


def _raw_text(raw: bytes) -> str:
    """The quarantined line as text: at most 64 KiB, undecodable bytes shown as escapes, newline dropped."""
    return raw[:RAW_LINE_MAX_BYTES].decode("utf-8", errors="backslashreplace").rstrip("\r\n")


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _list_lit(items: Iterable[str]) -> str:
    return "[" + ", ".join(_lit(i) for i in items) + "]"


def _child_hints(spec: TableSpec, child: ChildSpec) -> Any:
    """Hints of a child table variant: they start from the resource's, so each inherited one is overridden."""
    return dlt.mark.make_hints(
        table_name=child.table,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=list(child.primary_key) or "",
        merge_key=child.parent_key,
        columns=child.dlt_columns(spec.key_column.type),
        schema_contract=SCHEMA_CONTRACT,
    )


_QUARANTINE_HINTS = dlt.mark.make_hints(
    table_name=QUARANTINE_TABLE,
    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
    primary_key=["source_file", "source_line"],
    columns=QUARANTINE_COLUMNS,
)
