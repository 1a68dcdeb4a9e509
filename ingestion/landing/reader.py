"""`RecordReader`: chunks of lines in, validated and typed rows out, staged in an in-memory DuckDB.

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
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pyarrow as pa

from core.settings import get_settings
from ingestion.landing.lines import Chunk, lines_table, take_rows
from ingestion.landing.output import child_hints, file_items, quarantine_hints, root_hints
from ingestion.landing.sql import DLT_SQL_TYPES, list_lit, lit, parse_once, summed
from ingestion.landing.target import Target
from ingestion.spec import (
    CLEARS_PARENT,
    LINEAGE_COLUMNS,
    LIST_POSITION,
    OVERFLOW_COLUMN,
    QUARANTINE_COLUMNS,
    QUARANTINE_TABLE,
    ChildSpec,
    ColumnType,
    TableSpec,
    pointer_keys,
)
from privacy.erasure import drop_erased_lines

log = logging.getLogger(__name__)

RAW_LINE_MAX_BYTES = 64 * 1024
"""Quarantine keeps at most this much of a bad line: enough to diagnose, bounded for a 1 GB garbage line."""
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

Dedup = Literal["newest", "first"]
"""Which version of a key survives a batch: the newest cursor (entities) or the first delivery (events)."""


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
            key_type = DLT_SQL_TYPES[spec.key_column.type.value]
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
        lines = lines_table(chunks)
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
                items += file_items(table, path, staged.rows, staged.make_hints(hints))
                self._written.add(table)
            for name in staged.tables:
                self._con.execute(f"DROP TABLE {name}")
        return items

    def _declared_empty(self, table: str) -> _Staged:
        """No rows of `table`, with its declared columns and hints: `flush` writes it to create the table."""
        if table == self.spec.table:
            hints, make_hints = self.spec.dlt_columns(), partial(root_hints, self.spec)
        elif table == QUARANTINE_TABLE:
            hints, make_hints = dict(QUARANTINE_COLUMNS), quarantine_hints
        else:
            child = next(c for c in self.spec.children if c.table == table)
            hints, make_hints = child.dlt_columns(self.spec.key_column.type), partial(child_hints, child)
        nulls = ", ".join(f'NULL::{DLT_SQL_TYPES[h["data_type"]]} AS "{name}"' for name, h in hints.items())
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
            f" WHEN file_idx = {i} THEN {lit(chunk.quarantine)}" for i, chunk in enumerate(chunks) if chunk.quarantine
        )
        groups = con.execute(f"""
            SELECT kind, to_json(shape) AS shape, count(*), list(rid) FILTER (WHERE kind <> 'object')
            FROM (SELECT rid, try(json_keys(txt, {list_lit(p or "$" for p in pointers)})) AS shape,
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
                FROM {records} r, json_each({"r.txt" if not obj else f"json_extract(r.txt, {lit(obj)})"}) e
                JOIN overflow_fields f ON f.object = {lit(obj)} AND f.key = e.key"""
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
        parsed, string_at, json_at = parse_once([c.path for c in strings], jsons)
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
            reasons.append(f"CASE WHEN {not_list} THEN {lit(child.list_path.strip('/') + ' is not a list')} END")
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
                value, check = summed(column)
                selects.append(f'{value} AS "{column.name}"')
                checks.append(check)
        names = [c.name for c in plain]
        for key in (k for k in child.primary_key if k != child.parent_key):
            i = names.index(key) + 1
            checks.append(f"CASE WHEN s[{i}] IS NULL THEN 'missing key {key}' END")
        label = lit(child.list_path.strip("/") + "[")
        self._con.execute(f"""
            CREATE OR REPLACE TEMP TABLE child_{index} AS
            SELECT rid, file_idx, line_no, ord, parent_key AS "{child.parent_key}", {", ".join(selects)},
                   nullif(concat_ws('; ', {", ".join(checks)}), '') AS item_reason,
                   CASE WHEN item_reason IS NOT NULL THEN {label} || ord || '] ' || item_reason END AS reason
            FROM (SELECT rid, file_idx, line_no, parent_key, ord, elem,
                         json_extract_string(elem, {list_lit(c.path for c in plain)}) AS s
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
            take_rows(lines, compared).append_column("first", first)
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
        reason = f"{lit(key_field + ' already delivered with different content (the first delivery, kept: ')}"
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
            parquet = f"(SELECT * FROM read_parquet({lit(str(path))}))"
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
                terms.append(f"CASE WHEN {value} IS NULL THEN 0::UBIGINT ELSE hash({lit(name)}, {value}) END")
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
        staged = self._staged.setdefault(self.spec.table, _Staged(partial(root_hints, self.spec)))
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
        if not self._stage(child.table, produced, source, hints, partial(child_hints, child)):
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
            produced["_dlt_load_id"] = lit(self.target.load_id)
            produced["_dlt_id"] = "uuid()::VARCHAR"
            self._stage(QUARANTINE_TABLE, produced, "quarantined", QUARANTINE_COLUMNS, quarantine_hints)
        finally:
            self._con.unregister("quarantined")

    # -- output helpers

    def _lineage(self, origins: str, line_no: str, row: str) -> dict[str, str]:
        """Lineage columns; `_dlt_id` is `<load id>.<batch>.<row>`: unique across loads like dlt's random ids,
        but a tenth of the cost of a UUID per row and compressible in the table."""
        return {
            "_source_file": f"CASE WHEN {origins}.from_file THEN {origins}.origin END",
            "_source_line": f"(CASE WHEN {origins}.from_file THEN {line_no} END)::BIGINT",
            "_dlt_load_id": lit(self.target.load_id),
            "_dlt_id": f"{lit(f'{self.target.load_id}.{self._batches}.')} || {row}",
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
            f'"{n}"' if n in staged.columns else f'NULL::{DLT_SQL_TYPES.get(t, "VARCHAR")} AS "{n}"'
            for n, t in known.items()
        ]
        selects += [f'"{n}"' for n in staged.columns if n not in known]
        parts = " UNION ALL BY NAME ".join(f"({part})" for part in staged.parts)
        path = self.target.new_file(table)
        self._con.execute(
            f"COPY (SELECT {', '.join(selects)} FROM ({parts})) TO {lit(str(path))} "
            "(FORMAT parquet, COMPRESSION lz4)"
        )
        return path

    def _count(self, table: str) -> int:
        (n,) = self._con.execute(f"SELECT count(*) FROM {table}").fetchone()
        return n


# --------------------------------------------------------------------------------------------- helpers


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
