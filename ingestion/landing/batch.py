"""What the reader's steps share: the run (its DuckDB, spec, dlt target and counts), and per batch its number and
what each step found."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import duckdb
import pyarrow as pa

from ingestion.landing.target import Target
from ingestion.spec import TableSpec

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


@dataclass(frozen=True)
class Run:
    """What every step of one resource run works with: the reader's in-memory DuckDB (its tables are the steps'
    inputs and outputs), the spec, the running dlt pipeline and the counts for the load's report."""

    con: duckdb.DuckDBPyConnection
    spec: TableSpec
    target: Target
    counts: BatchCounts


@dataclass
class Batch:
    """One batch of lines on its way through the steps of `RecordReader.read`: each step leaves here what a later
    one needs. Its tables (`src`, `nonrecord`, `kept`, ...) live in the reader's DuckDB."""

    number: int
    """Batches read so far in the run: part of the names of the tables the flush reads, and of each row's
    `_dlt_id`, whose row numbers start over every batch."""
    nonrecords: int = 0
    """Lines that are no record (bad, blank, or of erased people): with none, no step anti-joins `nonrecord`."""
    drift: list[tuple[str, str]] = field(default_factory=list)
    """(column, pointer) of the batch's fields the spec does not declare (drift), see `DriftColumns.place`."""
    overflow: list[tuple[str, str]] = field(default_factory=list)
    """(object pointer, key) of the batch's fields kept in OVERFLOW_COLUMN instead of columns of their own."""
    typed_select: Callable[[str], str] = str
    """The batch's extraction (see `extract.extract`): SQL of the typed rows of a relation of lines given as SQL."""
    in_destination: pa.Table | None = None
    """Events: (k, c, r) of the batch's keys the destination already holds, r the row's rowid there."""

    @property
    def typed(self) -> str:
        """This batch's typed table: named per batch because the flush reads it (see `Staging.stage_root`)."""
        return f"typed_{self.number}"

    @property
    def overflow_table(self) -> str:
        """This batch's table of OVERFLOW_COLUMN values by rid (see `extract.extract_overflow`)."""
        return f"overflow_{self.number}"


@dataclass(frozen=True)
class BatchRows:
    """How to read a batch's typed rows as they will be stored (for content hashes, see `Conflicts`)."""

    drift: dict[str, str]
    """Drift column name -> the typed table's internal column holding it."""
    overflow: str | None
    """The batch's table of OVERFLOW_COLUMN values by rid, if it has one."""
    origins: str
    """The batch's origins (file_idx -> origin)."""
