"""Files holding personal data are readable by their owner only (mode 0600, folders 0700).

The warehouse, the erasure ledger, the serving copy's activation data and the collector's landing files hold
clear emails and phones; created with the usual umask (022) they would be 0644, readable by any local user.

Most of them are created by code that takes no file mode: DuckDB (its file, `.wal` and spill folder), dlt and
dbt in their own processes. The one setting all of them obey is the process umask, and a child process inherits
it. So a process that may touch personal data calls `restrict_umask()` once where it starts (the `warehouse`
command, the Dagster definitions); `private_umask()` does the same for one block in code that can also run
elsewhere (a library call, a test), and `make_private` tightens files created before either was in place.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PRIVATE_UMASK = 0o077
"""Removes every permission of group and others: new files 0600, new folders 0700."""
PRIVATE_FILE_MODE = 0o600


def restrict_umask() -> int:
    """Make this process (and every process it starts) create files private to its owner; returns the previous
    umask. A umask already stricter stays as strict: only group and other bits are added."""
    previous = os.umask(PRIVATE_UMASK)  # strict at once, so no file is created under a laxer mask in between
    os.umask(previous | PRIVATE_UMASK)
    return previous


@contextmanager
def private_umask() -> Iterator[None]:
    """Files created in this block (by this process or a child it starts) are private to their owner; the
    previous umask is restored after it.

    The umask belongs to the whole process: a thread creating files meanwhile gets it too (stricter, never
    laxer). Blocks nest; blocks of concurrent threads should not overlap, as the last to finish restores the umask
    it found. A long-lived process calls `restrict_umask()` once instead.
    """
    previous = restrict_umask()
    try:
        yield
    finally:
        os.umask(previous)


def make_private(*paths: Path) -> None:
    """chmod 0600 those of `paths` that exist as files: a file created before the umask was restricted, or by
    an earlier version of the project, is tightened the next time it is written. Missing paths are skipped."""
    for path in paths:
        try:
            if path.is_file() and (path.stat().st_mode & 0o777) != PRIVATE_FILE_MODE:
                path.chmod(PRIVATE_FILE_MODE)
        except FileNotFoundError:  # removed between the check and the chmod: nothing left to protect
            continue


def duckdb_files(database: Path) -> tuple[Path, Path]:
    """A DuckDB database file and its write-ahead log (`<file>.wal`), which holds the same data until the next
    checkpoint."""
    return database, database.with_name(database.name + ".wal")


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` (replacing its content) with mode 0600, fsynced: a copy of personal data kept aside,
    such as the torn tail of a landing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)  # O_CREAT's mode applies to a new file only
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
