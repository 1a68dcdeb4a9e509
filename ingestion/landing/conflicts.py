"""Events: a delivery of a message id already delivered with other content is quarantined, not dropped.

A retry (the same message, re-stamped `sentAt` / `receivedAt`: `spec.delivery_columns`) is a harmless duplicate;
the same id with other content is a client bug, and its version would otherwise live only in its landing file.
Only a batch's repeats are compared, each with the first delivery of its id, which is in this batch, in an
earlier batch of the run (its staged rows or the parquet files flushed), or in the destination (fetched by
rowid). Content is compared as the rows would be stored: every column but the key, the delivery stamps and
lineage, nulls left out, so key order and equal values written differently (`.000Z`) are the same content, and
a field kept in `_overflow_fields` by one run and given a column by a later one is not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pyarrow as pa

from ingestion.landing.batch import Batch, BatchRows, Run
from ingestion.landing.lines import take_rows
from ingestion.landing.sql import DLT_SQL_TYPES, count, lit
from ingestion.landing.staging import Staging
from ingestion.spec import LINEAGE_COLUMNS, OVERFLOW_COLUMN, ColumnType, pointer_keys

REEXTRACT_SHARE = 10
"""Repeats (and their first deliveries) up to 1/10 of a batch are extracted again from their lines; more, and the
batch's typed table is read whole instead (see `Conflicts.quarantine`)."""
_COMPARED_LINES = "(SELECT rid, file_idx, line_no, decode(line) AS txt FROM compared_lines)"
"""The lines `Conflicts.quarantine` extracts again, as text (they are records: valid UTF-8)."""


class Conflicts:
    """Finds the event ids of a run delivered again with other content, and quarantines those deliveries."""

    def __init__(self, run: Run, staging: Staging, warn: Callable[[str], None]) -> None:
        self.run = run
        self._staging = staging
        """Where the run's earlier batches are: staged since the last flush, or flushed as parquet files."""
        self._warn = warn
        key_type = DLT_SQL_TYPES[run.spec.key_column.type.value]
        run.con.execute(f"CREATE TEMP TABLE first_content (k {key_type}, h UBIGINT, place VARCHAR)")
        """The content hash of the first delivery of each key that was delivered again, and where it was read:
        looked up once per key and run."""

    def quarantine(self, batch: Batch, lines: pa.Table) -> None:
        """Add to `bad` the batch's repeats whose content differs from their key's first delivery, and count them
        as conflicts instead of duplicates.

        Cost: the repeats are found with numpy (the candidates the de-duplication did not keep), and they and
        their first deliveries in this batch are extracted again from their lines, not read from the typed
        table, whose every column a scan would read (unless they are more than 1/REEXTRACT_SHARE of the batch).
        """
        con = self.run.con
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
            current = BatchRows(
                drift={name: f"__drift_{i}" for i, (name, _) in enumerate(batch.drift)},
                overflow=batch.overflow_table if batch.overflow else None,
                origins="origins",
            )
            records = (
                f"({batch.typed_select(_COMPARED_LINES)})"
                if few
                else f"(SELECT * FROM {batch.typed} SEMI JOIN compared_lines USING (rid))"
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
        if batch.in_destination is not None:
            rowids = batch.in_destination.column("r").to_pylist()
            # hashed in the destination's DuckDB: only (k, h, place) travel (the hash needs no session setting)
            found = self.run.target.select_at(self.run.spec.table, rowids, self._stored_content)
            con.register("destination_firsts", found)
            try:
                con.execute("INSERT INTO firsts SELECT * FROM destination_firsts")
            finally:
                con.unregister("destination_firsts")
        # the first delivery in an earlier batch of this run
        self._find_earlier_firsts()
        key_field = pointer_keys(self.run.spec.key_column.path)[-1]
        reason = f"{lit(key_field + ' already delivered with different content (the first delivery, kept: ')}"
        (conflicts,) = con.execute(f"""
            INSERT INTO bad
            SELECT r.rid, {reason} || coalesce(f.place, 'already loaded') || ')' AS reason
            FROM repeats r JOIN firsts f USING (k) WHERE r.h <> f.h
        """).fetchone()
        self.run.counts.conflicts += conflicts
        self.run.counts.duplicates -= conflicts
        missing = count(con, "(SELECT k FROM repeats ANTI JOIN firsts USING (k))")
        if missing:  # not expected: each repeat's first delivery is in one of the places searched
            self._warn(f"{missing:,} repeated deliveries could not be compared with their first delivery")

    def _find_earlier_firsts(self) -> None:
        """Add to `firsts` the first deliveries of the repeats whose key an earlier batch of the run loaded: from
        the keys already looked up, else from the batches staged since the last flush, then the flushed parquet
        files, newest first (a retry follows its first delivery closely), until all are found. Each is probed
        for the keys alone (narrow columns); only one holding some is read whole."""
        con = self.run.con
        pending = "(SELECT DISTINCT k FROM repeats ANTI JOIN firsts USING (k))"
        if not count(con, pending):
            return
        con.execute(f"INSERT INTO firsts SELECT * FROM first_content SEMI JOIN {pending} USING (k)")
        key = f'"{self.run.spec.primary_key}"'
        for batch, rows in sorted(self._staging.live_root.items(), reverse=True):
            if not count(con, pending):
                return
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE probed AS
                SELECT rid FROM (SELECT rid FROM typed_{batch} WHERE {key} IN (SELECT k FROM {pending}))
                SEMI JOIN kept_{batch} USING (rid)
            """)
            if count(con, "probed"):
                typed = f"(SELECT * FROM typed_{batch} WHERE rid IN (SELECT rid FROM probed))"
                self._add_found(f"SELECT k, h, place FROM ({self._content_select(typed, rows)})")
        for path in reversed(self._staging.flushed_root):
            if not count(con, pending):
                return
            parquet = f"(SELECT * FROM read_parquet({lit(str(path))}))"
            con.execute(f"CREATE OR REPLACE TEMP TABLE probed AS SELECT DISTINCT {key} AS k FROM {parquet} "
                        f"WHERE {key} IN (SELECT k FROM {pending})")  # fmt: skip
            if count(con, "probed"):
                names = [name for (name, *_) in con.execute(f"DESCRIBE {parquet}").fetchall()]
                self._add_found(
                    f"SELECT {self._stored_content(names)} FROM {parquet} WHERE {key} IN (SELECT k FROM probed)"
                )

    def _add_found(self, select: str) -> None:
        """First deliveries found, (k, h, place): into this batch's `firsts` and the run's `first_content`."""
        self.run.con.execute(f"CREATE OR REPLACE TEMP TABLE found AS {select}")
        self.run.con.execute("INSERT INTO first_content SELECT * FROM found")
        self.run.con.execute("INSERT INTO firsts SELECT * FROM found")

    def _content_hash(self, columns: dict[str, str]) -> str:
        """SQL of a hash of what a row says, whatever columns its table has: the XOR of a hash of each (column,
        value) that is not null, so a column a row lacks and a null one are the same. The key,
        `spec.delivery_columns` and lineage are left out. `columns`: column name -> SQL of its value. Timestamps
        are hashed as microseconds since the epoch, everything else as text: the same in any DuckDB session."""
        skip = {self.run.spec.primary_key, *self.run.spec.delivery_columns, *LINEAGE_COLUMNS}
        timestamps = {c.name for c in self.run.spec.columns if c.type is ColumnType.TIMESTAMP}
        terms = []
        for name, sql in sorted(columns.items()):
            if name not in skip:
                value = f"epoch_us({sql})" if name in timestamps else f"({sql})::VARCHAR"
                terms.append(f"CASE WHEN {value} IS NULL THEN 0::UBIGINT ELSE hash({lit(name)}, {value}) END")
        while len(terms) > 1:  # a balanced tree of XORs: DuckDB limits how deep an expression nests
            pairs = [terms[i : i + 2] for i in range(0, len(terms), 2)]
            terms = [f"xor({pair[0]}, {pair[1]})" if len(pair) == 2 else pair[0] for pair in pairs]
        return terms[0] if terms else "0::UBIGINT"

    def _content_select(self, typed: str, rows: BatchRows) -> str:
        """SELECT (rid, k, h, place) of typed rows (a relation like a batch's typed table) as they will be stored:
        key, content hash, where the line was read."""
        columns = {c.name: f't."{c.name}"' for c in self.run.spec.columns}
        columns.update({name: f't."{internal}"' for name, internal in rows.drift.items()})
        overflow = ""
        if rows.overflow:
            columns[OVERFLOW_COLUMN] = f'x."{OVERFLOW_COLUMN}"'
            overflow = f" LEFT JOIN {rows.overflow} x USING (rid)"
        return f"""
            SELECT t.rid, t."{self.run.spec.primary_key}" AS k, {self._content_hash(columns)} AS h,
                   o.origin || ' line ' || t.line_no AS place
            FROM {typed} t JOIN {rows.origins} o USING (file_idx){overflow}"""

    def _stored_content(self, names: Iterable[str]) -> str:
        """The SELECT list (k, h, place) of rows as they are stored, with columns `names` (named as in the table:
        the destination's, a flushed file's, the staged rows'): key, content hash, where the row was read."""
        columns = {name: f'"{name}"' for name in names}
        return f"""
            "{self.run.spec.primary_key}" AS k, {self._content_hash(columns)} AS h,
            "_source_file" || ' line ' || "_source_line" AS place"""
