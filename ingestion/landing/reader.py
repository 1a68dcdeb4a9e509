"""`RecordReader`: chunks of lines in, validated and typed rows out, staged in an in-memory DuckDB.

The reader runs the steps of a batch; each step is a module of its own (classify, drift, extract, dedup,
conflicts, staging, output), sharing the reader's DuckDB connection and a `Batch`.

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

import logging
import shutil
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from core.settings import Settings
from ingestion.landing.batch import Batch, BatchCounts, Dedup, Run
from ingestion.landing.classify import classify
from ingestion.landing.conflicts import Conflicts
from ingestion.landing.dedup import Deduplication
from ingestion.landing.drift import DriftColumns
from ingestion.landing.extract import extract, extract_child, extract_overflow
from ingestion.landing.lines import Chunk, lines_table
from ingestion.landing.staging import Staging, damage_rows
from ingestion.landing.target import Target
from ingestion.spec import TableSpec
from privacy.erasure import drop_erased_lines

log = logging.getLogger(__name__)


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
        settings: Settings,
        drift_columns: dict[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.resource = resource
        self.dedup = dedup
        self.target = target
        self.counts = BatchCounts()
        self._settings = settings
        """Where the reader's DuckDB spills and how much memory it takes; whose lines the erasure ledger holds."""
        settings.duckdb_temp_root.mkdir(parents=True, exist_ok=True)
        self._spill_dir = Path(tempfile.mkdtemp(prefix="reader-", dir=settings.duckdb_temp_root))
        # memory_limit, threads, no insertion order (every ordered step says ORDER BY), spilling: settings.py
        config = settings.duckdb_config(settings.duckdb_memory_limit, self._spill_dir)
        self._con = duckdb.connect(":memory:", config=config)
        self._con.execute("SET TimeZone = 'UTC'")
        run = Run(self._con, spec, target, self.counts)
        self._drift = DriftColumns(spec, drift_columns)
        self._dedup = Deduplication(run, dedup)
        self._staging = Staging(run, resource)
        self._conflicts = Conflicts(run, self._staging, self.warn) if dedup == "first" else None
        self._batches = 0
        """Batches read so far (see `Batch.number`)."""

    @property
    def newest_cursor(self) -> datetime | None:
        """The newest cursor value of the valid records read so far (None without a cursor or records)."""
        return self._dedup.newest_cursor

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
        self._drift.report(self.warn)

    def read(self, chunks: Sequence[Chunk]) -> None:
        """Validate and extract `chunks`; their rows wait in the reader's DuckDB until `flush`."""
        self._batches += 1
        lines = lines_table(chunks)
        if lines.num_rows == 0:
            self._staging.stage_quarantine_rows(damage_rows(chunks))
            return
        origins = pa.table(
            {
                "file_idx": pa.array(range(len(chunks)), pa.int32()),
                "origin": [c.origin for c in chunks],
                "from_file": [c.from_file for c in chunks],
            }
        )
        con, spec, batch = self._con, self.spec, Batch(self._batches)
        con.register("chunk_lines", lines)
        con.register("origins", origins)
        kept_typed = False
        try:
            found = classify(con, spec, lines, chunks)
            batch.drift, batch.overflow = self._drift.place(found.pointers, found.unknown)
            # privacy: lines of erased people become non-records before anything is extracted
            erased = drop_erased_lines(con, spec.table, self._settings)
            self.counts.erased += erased
            batch.nonrecords = found.nonrecords + erased
            extract(con, spec, batch)
            extract_overflow(con, batch)
            for i, child in enumerate(spec.children):
                extract_child(con, spec, batch, i, child)
            self._dedup.keep(batch)
            self._dedup.drop_what_the_destination_has(batch)
            if self._conflicts is not None:
                self._conflicts.quarantine(batch, lines)
            for i, child in enumerate(spec.children):
                self._staging.stage_child(batch, i, child)
            self._staging.stage_quarantine(lines, chunks)
            kept_typed = self._staging.stage_root(batch)
        finally:
            if not kept_typed:
                con.execute(f"DROP TABLE IF EXISTS {batch.typed}")
                con.execute(f"DROP TABLE IF EXISTS {batch.overflow_table}")
            con.unregister("chunk_lines")
            con.unregister("origins")
            con.unregister("chunk_text")

    def flush(self, final: bool = False) -> list[Any]:
        """The dlt items of every row staged since the last flush (see `Staging.flush`)."""
        return self._staging.flush(final)
