"""The running dlt pipeline as the reader sees it: load id, working folder, schema, what the destination holds."""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa

_CLIENTS: weakref.WeakKeyDictionary[dlt.Pipeline, tuple[str, Any]] = weakref.WeakKeyDictionary()
"""The sql client of each running pipeline's package (load id, client): the resources of one run share it."""


class Target:
    """What the reader needs from the running dlt pipeline: its load id, a working directory for the parquet
    files it hands to dlt, the column order its schema already has, and what its destination already holds.

    Before the first load (no dataset, no table, no schema yet) every lookup answers "nothing loaded yet".
    """

    def __init__(self, pipeline: dlt.Pipeline, load_id: str) -> None:
        self.pipeline = pipeline
        self.load_id = load_id
        self.workdir = Path(tempfile.mkdtemp(prefix="reader-", dir=pipeline.working_dir))
        self._client = _sql_client(pipeline, load_id)

    @classmethod
    def current(cls) -> Target:
        """The target of the package the running pipeline is extracting."""
        return cls(dlt.current.pipeline(), dlt.current.load_package_state()["load_id"])

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def new_file(self, table: str) -> Path:
        descriptor, name = tempfile.mkstemp(prefix=f"{table}.", suffix=".parquet", dir=self.workdir)
        os.close(descriptor)
        return Path(name)

    def known_columns(self, table: str) -> dict[str, str]:
        """Column name -> dlt data type of `table` as the pipeline's schema knows it, in the schema's order."""
        schema = dlt.current.source_schema()
        if table not in schema.tables:
            return {}
        return {name: c.get("data_type", "text") for name, c in schema.get_table_columns(table).items()}

    def has_table(self, table: str) -> bool:
        """Whether the destination holds `table` (in the pipeline's dataset) already."""
        with self._client as client:
            if not client.has_dataset():
                return False
            (exists,) = client.native_connection.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                [client.dataset_name, table],
            ).fetchone()
            return bool(exists)

    def loaded(self, table: str, key: str, cursor: str | None, keys: pa.Table, rowids: bool = False) -> pa.Table | None:
        """(k, c): those of `keys` (column k) already in the destination `table`, with their `cursor` value; and
        with `rowids`, r: where the row is (for `rows_at`)."""
        with self._client as client:
            if not client.has_dataset():
                return None
            con = client.native_connection
            (exists,) = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                [client.dataset_name, table],
            ).fetchone()
            if not exists:
                return None
            value = f't."{cursor}"' if cursor else "NULL"
            rowid = ", t.rowid AS r" if rowids else ""
            con.register("reader_batch_keys", keys)
            try:
                return con.execute(
                    f"SELECT b.k, {value} AS c{rowid} FROM reader_batch_keys b "
                    f'JOIN {client.make_qualified_table_name(table)} t ON t."{key}" = b.k'
                ).fetch_arrow_table()
            finally:
                con.unregister("reader_batch_keys")

    def select_at(self, table: str, rowids: list[int], select: Callable[[list[str]], str]) -> pa.Table:
        """`select(columns of table)`, a SELECT list, of the rows of the destination `table` at `rowids` (from
        `loaded`). DuckDB skips the row groups that hold none of them: rows loaded close together (retries of
        recent messages) cost little, rows spread over the whole table a scan of it."""
        with self._client as client:
            con = client.native_connection
            name = client.make_qualified_table_name(table)
            columns = [column for (column, *_) in con.execute(f"DESCRIBE {name}").fetchall()]
            return con.execute(
                f"SELECT {select(columns)} FROM {name} WHERE rowid = ANY($1)", [rowids]
            ).fetch_arrow_table()


# --------------------------------------------------------------------------------------------- the reader


def _sql_client(pipeline: dlt.Pipeline, load_id: str) -> Any:
    """dlt's sql client of `pipeline`, made once per package and shared by its resources' readers.

    Made before any batch is read: dlt's configuration resolution behind `sql_client()` keeps the frames of its
    callers alive, and called from inside `RecordReader.read` those frames held each batch's lines: every
    batch's input leaked (docs/performance.md). Made once per package, not per resource: each making resolves
    the destination's whole configuration. The readers of one package use it one statement at a time (dlt
    pulls their items in one thread) and each use opens and returns a connection of its own (`with`).
    """
    made = _CLIENTS.get(pipeline)
    if made is None or made[0] != load_id:
        made = _CLIENTS[pipeline] = (load_id, pipeline.sql_client())
    return made[1]
