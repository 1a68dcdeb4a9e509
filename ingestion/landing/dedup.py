"""De-duplication: one version of each key survives a batch, and what the destination already holds is dropped.

Entities keep their newest cursor (`updated_at`), within the batch and across loads (an older version than the
loaded one is `superseded`); events keep their first delivery, within the run and against the destination.
"""

from __future__ import annotations

from datetime import datetime

from ingestion.landing.batch import Batch, Dedup, Run


class Deduplication:
    """The versions of one resource run's keys: which survive each batch, and the newest cursor read so far."""

    def __init__(self, run: Run, dedup: Dedup) -> None:
        self.run = run
        self.dedup = dedup
        self.newest_cursor: datetime | None = None
        """The newest cursor value of the valid records read so far (None without a cursor or records)."""
        # The run's keys so far, for "first" (events): their MD5s, not the keys. Every batch anti-joins all of it,
        # so a long first load pays its width per batch, and MD5s are a fraction of the width of message ids
        # (docs/performance.md). Two different ids of one run share an MD5 with a chance of about n^2 / 2^129:
        # far below any failure of the machine itself.
        self.run.con.execute("CREATE TEMP TABLE seen_keys (m UHUGEINT)")

    def keep(self, batch: Batch) -> None:
        """bad: lines to quarantine with all their reasons; candidates: (rid, key k, cursor c) of the records that
        fit; kept: one line per key.

        Only narrow columns take part in the de-duplication: the line text never travels through a sort.
        """
        child_reasons = "".join(
            f" UNION ALL SELECT rid, {i + 2} AS step, reason FROM child_{i} WHERE reason IS NOT NULL"
            for i in range(len(self.run.spec.children))
        )
        self.run.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE bad AS
            SELECT rid, string_agg(reason, '; ' ORDER BY step) AS reason FROM (
                SELECT rid, 0 AS step, reason FROM nonrecord WHERE reason IS NOT NULL
                UNION ALL SELECT rid, 1 AS step, reason FROM {batch.typed} WHERE reason IS NOT NULL
                {child_reasons})
            GROUP BY rid
        """)
        key = f'"{self.run.spec.primary_key}"'
        cursor = f'"{self.run.spec.cursor}"' if self.run.spec.cursor else "NULL"
        order = "c DESC NULLS LAST, rid DESC" if self.dedup == "newest" else "rid"
        first = self.dedup == "first"
        # an anti-join, not NOT IN: DuckDB then hashes the batch's keys and streams the run's growing seen_keys
        already = "ANTI JOIN seen_keys USING (m)" if first else ""
        self.run.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE candidates AS
            SELECT rid, {key} AS k, {cursor} AS c{", md5_number(k::VARCHAR) AS m" if first else ""} FROM {batch.typed}
            WHERE reason IS NULL AND rid NOT IN (SELECT rid FROM bad)
        """)
        self.run.con.execute(f"""
            CREATE OR REPLACE TEMP TABLE kept AS
            SELECT * FROM candidates {already}
            QUALIFY row_number() OVER (PARTITION BY k ORDER BY {order}) = 1
        """)
        collapsed, newest = self.run.con.execute(
            "SELECT (SELECT count(*) FROM candidates) - (SELECT count(*) FROM kept), (SELECT max(c) FROM kept)"
        ).fetchone()
        self.run.counts.duplicates += collapsed
        if isinstance(newest, datetime) and (self.newest_cursor is None or newest > self.newest_cursor):
            self.newest_cursor = newest

    def drop_what_the_destination_has(self, batch: Batch) -> None:
        """Across loads: events already loaded are re-deliveries (their rows are left in `batch.in_destination`
        for the conflict check); an entity version older than the one the destination holds is superseded
        (newest `updated_at` wins across loads, not the last delivery)."""
        con = self.run.con
        if self.dedup == "first" or self.run.spec.cursor:
            keys = con.execute("SELECT k FROM kept").fetch_arrow_table()
            first = self.dedup == "first"
            cursor = None if first else self.run.spec.cursor
            table, key = self.run.spec.table, self.run.spec.primary_key
            loaded = self.run.target.loaded(table, key, cursor, keys, rowids=first) if len(keys) else None
            batch.in_destination = loaded if first and loaded is not None and loaded.num_rows else None
            if loaded is not None and loaded.num_rows:
                con.register("loaded", loaded)
                try:
                    if self.dedup == "first":
                        (dropped,) = con.execute("DELETE FROM kept WHERE k IN (SELECT k FROM loaded)").fetchone()
                        self.run.counts.duplicates += dropped
                    else:
                        (dropped,) = con.execute("""
                            DELETE FROM kept USING loaded
                            WHERE kept.k = loaded.k AND loaded.c IS NOT NULL
                              AND (kept.c IS NULL OR kept.c < loaded.c)
                        """).fetchone()
                        self.run.counts.superseded += dropped
                finally:
                    con.unregister("loaded")
        if self.dedup == "first":
            con.execute("INSERT INTO seen_keys SELECT m FROM kept")
