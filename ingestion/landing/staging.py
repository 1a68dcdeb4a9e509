"""Staging: a batch's rows wait in the reader's DuckDB, per output table, until the flush writes them to parquet.

The root's rows are the bulk of a batch: instead of being copied into a staging table, the flush reads the
batch's own typed table (named per batch). Children, markers and quarantine rows are small and copied.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa

from ingestion.landing.batch import Batch, BatchRows, Run
from ingestion.landing.lines import Chunk
from ingestion.landing.output import (
    Staged,
    child_hints,
    declared_empty,
    file_items,
    ordered_hints,
    quarantine_hints,
    root_hints,
    write_parquet,
)
from ingestion.landing.sql import count, lit
from ingestion.spec import (
    CLEARS_PARENT,
    LIST_POSITION,
    OVERFLOW_COLUMN,
    QUARANTINE_COLUMNS,
    QUARANTINE_TABLE,
    ChildSpec,
)

RAW_LINE_MAX_BYTES = 64 * 1024
"""Quarantine keeps at most this much of a bad line: enough to diagnose, bounded for a 1 GB garbage line."""


class Staging:
    """The rows of one resource run staged since the last flush, per output table, and the root's rows handed
    to dlt so far (the conflict check looks for first deliveries in both)."""

    def __init__(self, run: Run, resource: str) -> None:
        self.run = run
        self.resource = resource
        self._staged: dict[str, Staged] = {}
        """Output table -> its rows staged since the last flush (root first, then children, quarantine)."""
        self._parts = itertools.count()
        self._written: set[str] = set()
        """Tables this run has handed a file to dlt for."""
        self.flushed_root: list[Path] = []
        """The root table's parquet files flushed so far this run (their rows' first deliveries are looked up)."""
        self.live_root: dict[int, BatchRows] = {}
        """Batch -> how to read its records as stored, for the batches staged since the last flush (whose typed
        tables live until it)."""

    def flush(self, final: bool = False) -> list[Any]:
        """The dlt items of every row staged since the last flush: per table one parquet file with its hints.

        One file per table and flush, not per batch: DuckDB inserts one large file much faster than several
        small ones (a commit and a partly filled row group each), and dlt runs one load job per file. Each
        table's items are a table variant, because one resource writes several tables with different keys;
        the root's column hints travel the same way so that no variant inherits them.

        The `final` flush of a run also hands dlt an empty file for each declared table (root, children,
        quarantine) the destination does not hold yet and this run gave no rows, and only then (an empty file
        is a load job, for the quarantine a merge): a system that has delivered nothing, or only lines that were
        quarantined, still has every raw table, with its declared columns, for dbt's sources and the checks to
        read. dlt's `materialize_table_schema()` cannot do it here: the resources route items to tables by a
        function of the item, and an empty list has no item to route.
        """
        items: list[Any] = []
        order = [self.run.spec.table, *(child.table for child in self.run.spec.children), QUARANTINE_TABLE]
        for table in order:
            staged = self._staged.pop(table, None)
            if staged is None and final and table not in self._written and not self.run.target.has_table(table):
                staged = declared_empty(self.run.spec, table)
            if staged is None:
                continue
            if table == QUARANTINE_TABLE and not staged.rows and not staged.materialize:
                # no bad line: an empty file only to create the table dbt's sources rely on, never a merge job
                # (dlt stages and deletes for it) on every run
                staged.materialize = final and table not in self._written and not self.run.target.has_table(table)
            if staged.rows or staged.materialize:
                path = write_parquet(self.run.con, self.run.target, table, staged)
                if table == self.run.spec.table:
                    self.flushed_root.append(path)
                    self.live_root.clear()
                hints = ordered_hints(self.run.target, staged.hints, table)
                items += file_items(table, path, staged.rows, staged.make_hints(hints))
                self._written.add(table)
            for name in staged.tables:
                self.run.con.execute(f"DROP TABLE {name}")
        return items

    def stage_root(self, batch: Batch) -> bool:
        """Stage the kept records' rows; True when the batch's typed table now belongs to the staged rows."""
        if not count(self.run.con, "kept"):
            return False
        internal = {f"__drift_{i}": name for i, (name, _) in enumerate(batch.drift)}
        drift = {internal[column]: column for column in self._filled(batch, list(internal))}
        produced = {c.name: f't."{c.name}"' for c in self.run.spec.columns}
        produced.update(self._lineage(batch, "o", "t.line_no", "t.rid"))
        produced.update({name: f't."{column}"' for name, column in drift.items()})
        hints = self.run.spec.dlt_columns()
        hints.update({name: {"name": name, "data_type": "text", "nullable": True} for name in drift})
        overflow = ""
        if batch.overflow:
            produced[OVERFLOW_COLUMN] = f'x."{OVERFLOW_COLUMN}"'
            hints[OVERFLOW_COLUMN] = {"name": OVERFLOW_COLUMN, "data_type": "text", "nullable": True}
            overflow = f" LEFT JOIN {batch.overflow_table} x USING (rid)"
        # the flush reads this batch's own typed table, named per batch (renaming it made its DROP slow)
        number = batch.number
        kept = count(self.run.con, "kept")
        self.run.con.execute(f"CREATE TEMP TABLE kept_{number} AS SELECT rid FROM kept")
        self.run.con.execute(f"CREATE TEMP TABLE origins_{number} AS SELECT * FROM origins")
        selects = ", ".join(f'{sql} AS "{name}"' for name, sql in produced.items())
        source = f"{batch.typed} t SEMI JOIN kept_{number} USING (rid) JOIN origins_{number} o USING (file_idx)"
        staged = self._staged.setdefault(self.run.spec.table, Staged(partial(root_hints, self.run.spec)))
        used = [batch.typed, f"kept_{number}", f"origins_{number}"] + ([batch.overflow_table] if overflow else [])
        staged.add(f"SELECT {selects} FROM {source}{overflow}", used)
        self.live_root[number] = BatchRows(
            drift=dict(drift),
            overflow=batch.overflow_table if overflow else None,
            origins=f"origins_{number}",
        )
        staged.rows += kept
        staged.columns.update(dict.fromkeys(produced))
        staged.hints.update(hints)
        self.run.counts.rows += kept
        return True

    def stage_child(self, batch: Batch, index: int, child: ChildSpec) -> None:
        """Items of the kept records, plus one marker row per kept record whose list is now empty."""
        names = [child.parent_key] + [c.name for c in child.columns]
        produced = {name: f'"{name}"' for name in names}
        produced[LIST_POSITION] = "ord::BIGINT"
        produced.update(self._lineage(batch, "o", "line_no", "rid || '.' || ord"))
        produced[CLEARS_PARENT] = CLEARS_PARENT
        key = f'"{self.run.spec.primary_key}"'
        empty = ", ".join(f'NULL AS "{c.name}"' for c in child.columns)
        source = f"""(
            SELECT c.rid, c.file_idx, c.line_no, c.ord, {", ".join(f'c."{n}"' for n in names)},
                   NULL::BOOLEAN AS {CLEARS_PARENT}
            FROM child_{index} c SEMI JOIN kept USING (rid)
            UNION ALL BY NAME
            SELECT t.rid, t.file_idx, t.line_no, 0 AS ord, t.{key} AS "{child.parent_key}", {empty},
                   true AS {CLEARS_PARENT}
            FROM {batch.typed} t SEMI JOIN kept USING (rid) ANTI JOIN child_{index} USING (rid)
        ) x JOIN origins o USING (file_idx)"""
        hints = child.dlt_columns(self.run.spec.key_column.type)
        if not self._stage(child.table, produced, source, hints, partial(child_hints, child)):
            return
        (markers,) = self.run.con.execute(
            f"SELECT count(*) FROM {batch.typed} SEMI JOIN kept USING (rid) ANTI JOIN child_{index} USING (rid)"
        ).fetchone()
        self.run.counts.clearing_markers[child.table] = self.run.counts.clearing_markers.get(child.table, 0) + markers

    def stage_quarantine(self, lines: pa.Table, chunks: Sequence[Chunk]) -> None:
        """The batch's bad lines with their reasons, and where a damaged file could not be read further."""
        rows = self.run.con.execute("""
            SELECT b.rid, o.origin, l.line_no, b.reason
            FROM bad b JOIN src l USING (rid) JOIN origins o USING (file_idx) ORDER BY b.rid
        """).fetchall()
        raw = lines.column("line")
        bad = [(origin, line_no, raw[rid].as_py(), reason) for rid, origin, line_no, reason in rows]
        self.stage_quarantine_rows(bad + damage_rows(chunks))

    def stage_quarantine_rows(self, rows: list[tuple[str, int, bytes, str]]) -> None:
        """Stage (source file, source line, raw bytes, reason) rows for the quarantine table."""
        self.run.counts.quarantined += len(rows)
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
        self.run.con.register("quarantined", table)
        try:
            produced = {name: f'"{name}"' for name in table.column_names}
            produced["_dlt_load_id"] = lit(self.run.target.load_id)
            produced["_dlt_id"] = "uuid()::VARCHAR"
            self._stage(QUARANTINE_TABLE, produced, "quarantined", QUARANTINE_COLUMNS, quarantine_hints)
        finally:
            self.run.con.unregister("quarantined")

    def _stage(
        self, table: str, produced: dict[str, str], source: str, hints: dict[str, Any], make_hints: Any
    ) -> int:
        """Keep `produced` (column -> SQL) of `source` for `table` until `flush`; returns the rows kept."""
        staged = self._staged.setdefault(table, Staged(make_hints))
        part = f"staged_{next(self._parts)}"
        selects = ", ".join(f'{sql} AS "{name}"' for name, sql in produced.items())
        self.run.con.execute(f"CREATE TEMP TABLE {part} AS SELECT {selects} FROM {source}")
        rows = count(self.run.con, part)
        staged.add(f"SELECT * FROM {part}", [part])
        staged.rows += rows
        staged.columns.update(dict.fromkeys(produced))
        staged.hints.update(hints)
        return rows

    def _lineage(self, batch: Batch, origins: str, line_no: str, row: str) -> dict[str, str]:
        """Lineage columns; `_dlt_id` is `<load id>.<batch>.<row>`: unique across loads like dlt's random ids,
        but cheaper than a UUID per row and compressible in the table."""
        return {
            "_source_file": f"CASE WHEN {origins}.from_file THEN {origins}.origin END",
            "_source_line": f"(CASE WHEN {origins}.from_file THEN {line_no} END)::BIGINT",
            "_dlt_load_id": lit(self.run.target.load_id),
            "_dlt_id": f"{lit(f'{self.run.target.load_id}.{batch.number}.')} || {row}",
        }

    def _filled(self, batch: Batch, names: list[str]) -> list[str]:
        """Those of `names` (typed columns) that at least one kept record fills."""
        if not names:
            return []
        counts_sql = ", ".join(f'count("{n}")' for n in names)
        counts = self.run.con.execute(f"SELECT {counts_sql} FROM {batch.typed} SEMI JOIN kept USING (rid)").fetchone()
        return [name for name, filled in zip(names, counts, strict=True) if filled]


def damage_rows(chunks: Sequence[Chunk]) -> list[tuple[str, int, bytes, str]]:
    """A quarantine row per chunk with damage: at the line after its last readable one (line 0 for an entry
    not read at all), saying why the file is not read further."""
    return [(c.origin, c.first_line + len(c.ends), b"", c.damage) for c in chunks if c.damage is not None]


def _raw_text(raw: bytes) -> str:
    """The quarantined line as text: at most 64 KiB, undecodable bytes shown as escapes, newline dropped."""
    return raw[:RAW_LINE_MAX_BYTES].decode("utf-8", errors="backslashreplace").rstrip("\r\n")
