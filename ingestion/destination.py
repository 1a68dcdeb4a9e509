"""dlt's DuckDB destination with append jobs that a replay cannot double.

Events are appended, not merged: a merge stages every row in a second dataset, then deletes and
de-duplicates with a window over the whole run, which cost as much as the rest of the load together and did
not spill (docs/performance.md). The merge was there only for one case: dlt replays a load job that a killed
run had started (the job file is still in `started_jobs`), and a plain append would insert the rows of a job
whose INSERT had committed before the kill a second time.

That case is the only one where dlt creates a job with `restore=True`, so only then does the job look at what
the table holds: it inserts the file's rows whose `_dlt_id` the table does not hold for this load id. One
INSERT statement commits all rows of a file or none, so after a kill the table holds either the whole file or
nothing of it, and the restored job ends with the file exactly once either way. Jobs that are not restored
run dlt's own INSERT unchanged. Re-deliveries across runs are the reader's business (ingestion/landing/dedup.py).

Besides: the entity merges delete a child table's rows by the parent key alone (`MergeKeyMergeJob`), and the
destination is displayed without SQLAlchemy (`WarehouseClientConfiguration`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from dlt.common.configuration import configspec
from dlt.common.destination import DestinationCapabilitiesContext
from dlt.common.destination.client import FollowupJobRequest, LoadJob, PreparedTableSchema
from dlt.common.normalizers.naming import NamingConvention
from dlt.common.schema.typing import TTableSchema
from dlt.destinations import duckdb as dlt_duckdb
from dlt.destinations.impl.duckdb.configuration import DuckDbClientConfiguration
from dlt.destinations.impl.duckdb.duck import DuckDbClient, DuckDbCopyJob
from dlt.destinations.sql_jobs import SqlMergeFollowupJob

log = logging.getLogger(__name__)

LINEAGE = ("_dlt_load_id", "_dlt_id")


@configspec(init=False)
class WarehouseClientConfiguration(DuckDbClientConfiguration):
    """dlt's DuckDB client configuration, displayed without SQLAlchemy.

    Every load's info names the destination (`str` of this configuration, `LoadInfo`), and dlt renders DuckDB
    credentials as a URL with SQLAlchemy, when it is installed: each process's first load imported SQLAlchemy for
    that line alone, a fixed cost of every load process (docs/performance.md). The text is the same
    `duckdb:///<database>`.
    """

    def __str__(self) -> str:
        return f"duckdb:///{self.credentials.database}" if self.credentials else ""


class ReplaySafeAppendJob(DuckDbCopyJob):
    """dlt's parquet copy; when restored after a kill, it skips the rows that already committed."""

    def __init__(self, file_path: str, restored: bool) -> None:
        super().__init__(file_path)
        self._restored = restored

    def run(self) -> None:
        if not self._restored:
            super().run()
            return
        client = self._job_client.sql_client
        columns = self._load_table.get("columns", {})
        if not all(name in columns for name in LINEAGE):
            log.warning(
                "%s has no %s columns: a restored append job cannot tell what committed, copying it as dlt does",
                self.load_table_name,
                " and ".join(LINEAGE),
            )
            super().run()
            return
        table = client.make_qualified_table_name(self.load_table_name)
        path = self._file_path.replace("'", "''")
        client.execute_sql(
            f"INSERT INTO {table} BY NAME SELECT f.* FROM read_parquet('{path}', union_by_name=true) AS f "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE t._dlt_load_id = %s AND t._dlt_id = f._dlt_id)",
            self._load_id,
        )
        log.info("restored append job of %s: rows of %s that had committed were not copied again", table, path)


class MergeKeyMergeJob(SqlMergeFollowupJob):
    """dlt's delete-insert merge, deleting by the merge key alone when the primary key contains it.

    dlt deletes the destination rows that match a staged row on the primary key OR on the merge key. The child
    tables (ingestion/spec.py: `ChildSpec`) have both, the merge key (the parent's id) being part of the primary
    key, so every row the first matches the second matches too, and the rows deleted are the same. DuckDB
    plans the OR as a delim join over every row of the table instead of a hash semi join on the key, several
    times the CPU of each child table's delete in a small change load, growing with the table
    (docs/performance.md).
    """

    @classmethod
    def _gen_key_table_clauses(cls, primary_keys: Sequence[str], merge_keys: Sequence[str]) -> list[str]:
        if primary_keys and merge_keys and set(merge_keys) <= set(primary_keys):
            return super()._gen_key_table_clauses([], merge_keys)
        return super()._gen_key_table_clauses(primary_keys, merge_keys)


class ReplaySafeDuckDbClient(DuckDbClient):
    """DuckDbClient whose parquet append jobs are `ReplaySafeAppendJob`s and whose merges delete by the merge
    key alone where it decides (`MergeKeyMergeJob`)."""

    def _create_merge_followup_jobs(self, table_chain: Sequence[PreparedTableSchema]) -> list[FollowupJobRequest]:
        return [MergeKeyMergeJob.from_table_chain(table_chain, self.sql_client)]

    def create_load_job(self, table: TTableSchema, file_path: str, load_id: str, restore: bool = False) -> LoadJob:
        job = super().create_load_job(table, file_path, load_id, restore)  # type: ignore[arg-type]
        appends = table.get("write_disposition") == "append" and file_path.endswith(".parquet")
        if type(job) is DuckDbCopyJob and appends:
            return ReplaySafeAppendJob(file_path, restored=restore)
        return job


class duckdb(dlt_duckdb):  # noqa: N801 - dlt names destination factories in lower case
    """The warehouse's DuckDB destination: dlt's, with replay-safe append jobs, merges that delete by the merge
    key where it decides, one job per table at a time, its capabilities worked out once per factory, and its
    configuration displayed without SQLAlchemy."""

    def capabilities(
        self, config: Any = None, naming: NamingConvention | None = None
    ) -> DestinationCapabilitiesContext:
        """dlt's capabilities; without a resolved `config`, worked out once and copied for each caller.

        dlt asks for them about 60 times per run (each phase, each schema, each client), and without a config
        each answer resolves the destination's whole configuration from every provider again: ~0.2 s per
        run (docs/performance.md). The answer cannot change while the factory lives: one pipeline's load,
        under one set of options (`ingestion.pipelines.loading`). A case-insensitive naming (the project's
        snake_case) changes nothing in them (`Destination.adjust_capabilities`), so it shares the answer
        without one; a case-sensitive one and an explicit config go to dlt every time.
        """
        if config is not None or (naming is not None and naming.is_case_sensitive):
            return super().capabilities(config, naming)
        cached: DestinationCapabilitiesContext | None = self.__dict__.get("_capabilities")
        if cached is None:
            cached = self.__dict__["_capabilities"] = super().capabilities()
        # callers set fields of what they get (the pipeline merges the loader file formats into it)
        return cached.copy()

    def _raw_capabilities(self) -> DestinationCapabilitiesContext:
        """The jobs of one table run one after the other, different tables side by side ("table-sequential").

        DuckDB already spreads one INSERT over all its threads; dlt's default ran up to 20 jobs at once on
        cursors of the one connection, which made a load of several files of one table slower and bigger in
        memory. The entity loads (many small tables, merges) take the same time either way (docs/performance.md)."""
        caps = super()._raw_capabilities()
        caps.loader_parallelism_strategy = "table-sequential"
        return caps

    spec = WarehouseClientConfiguration

    @property
    def client_class(self) -> type[DuckDbClient]:
        return ReplaySafeDuckDbClient
