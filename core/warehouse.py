"""The warehouse file: opening it for writing, and the errors that say why it cannot be.

DuckDB allows one writing process per file, and while it writes no other process may open the file. A load
opens one connection up front and turns DuckDB's lock and permission errors into `WarehouseUnavailable`, so
that the caller gets one clear message before anything is read or written.

The warehouse holds personal data in clear: its file, write-ahead log and spill folder are created private to
their owner (core.files), and a file an earlier run left readable to others is tightened when a load opens it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from core.files import duckdb_files, make_private, private_umask
from core.settings import Settings


class WarehouseUnavailable(RuntimeError):
    """The load cannot write the warehouse: nothing was read or written. The message says why and what to do."""


class WarehouseBusy(WarehouseUnavailable):
    """Another process holds the warehouse file: DuckDB allows one writer, and while it writes, no one else."""


class WarehouseNotWritable(WarehouseUnavailable):
    """The warehouse file, its folder or dlt's pipelines folder cannot be written by this process."""


@contextmanager
def warehouse_connection(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """One DuckDB connection to the warehouse file for a whole load: give it to `make_pipeline`.

    Without it dlt opens and closes the file for each phase of a run (state sync, schema, load, state again),
    and each close checkpoints, which on a large file costs as much as a no-op load itself
    (docs/performance.md). Closed (and checkpointed) once, when the block ends.
    """
    with private_umask():
        require_writable(settings)
        make_private(*duckdb_files(settings.warehouse_path))
        connection = _connect(settings)
        try:
            yield connection
        finally:
            connection.close()


def _connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    # no temp_directory: the file's default, <warehouse>.tmp (see Settings.duckdb_config)
    try:
        return duckdb.connect(
            str(settings.warehouse_path), config=settings.duckdb_config(settings.load_memory_limit, None)
        )
    except duckdb.IOException as error:
        message = str(error).lower()
        if any(sign in message for sign in ("permission denied", "read-only", "is a directory")):
            raise _not_writable(settings.warehouse_path, error) from error
        if "lock" not in message:
            raise
        raise WarehouseBusy(
            f"{settings.warehouse_path} is in use by another process, and DuckDB allows one writer at a time: "
            "let it finish (a Dagster run, `warehouse run`, a dbt command; BI tools belong on the serving copy) "
            f"and load again. DuckDB says: {error}"
        ) from error


def require_writable(settings: Settings) -> None:
    """Make the warehouse's folders and try writing in each, so that a folder this process cannot write is one
    clear WarehouseNotWritable up front, not an error deep inside DuckDB or dlt halfway through a load."""
    try:
        make_warehouse_dirs(settings)
        settings.pipelines_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _not_writable(error.filename or settings.warehouse_path.parent, error) from error
    for folder in (settings.warehouse_path.parent, settings.duckdb_temp_root, settings.pipelines_dir):
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as error:
            raise _not_writable(folder, error) from error


def make_warehouse_dirs(settings: Settings) -> None:
    """The warehouse's folder and its spill folder `<warehouse>.tmp`, made here rather than by DuckDB: DuckDB
    removes a temp directory it created when it closes, the readers' folders inside it too."""
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    settings.duckdb_temp_root.mkdir(exist_ok=True)


def _not_writable(path: Path | str, error: Exception) -> WarehouseNotWritable:
    if isinstance(error, FileExistsError | NotADirectoryError):
        reason = "a file is where a folder must be"
    elif isinstance(error, OSError) and error.strerror:
        reason = error.strerror
    else:
        reason = str(error).splitlines()[0]
    return WarehouseNotWritable(
        f"the warehouse cannot be written: {path} ({reason}). A load writes the warehouse file and its folder "
        "(WAREHOUSE_PATH) and dlt's pipelines folder (DLT_PIPELINES_DIR); nothing was loaded."
    )
