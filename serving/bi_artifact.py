"""The BI artifact: what BI tools open (BI_SERVING_PATH), holding the masked `bi` tables only, fresh on every query.

DuckDB keeps a database file open per process, so a pooled connection to the serving copy never sees a publish
that replaced the file. Here the file BI tools open is a small catalog of views, `bi.<table>`, and the data lives
beside it in immutable Parquet snapshots, one folder per publish:

    <catalog stem>_snapshots/<generation>/effective_us=<µs since the epoch>/<table>.parquet, _snapshot.parquet

Each view reads, at every query, the newest snapshot whose `effective_us` is not after the start of the query's
transaction (`get_current_timestamp()`, one value for the whole transaction). A publish writes its snapshot
completely in a staging folder, renames it into place (atomic), with an `effective_us` a moment
(EFFECTIVE_DELAY_S) in the future, and returns once that moment has passed. So:

- a pooled connection sees a publish on its next transaction, without reconnecting;
- every table of one transaction comes from the same snapshot, also when a query joins tables during a publish
  (each view finds every snapshot that took effect before its transaction began: it was in place before then);
- no path DuckDB opens ever changes content. Switching a `current` symlink instead would not do: DuckDB opens a
  Parquet file again for execution and for each thread, and reads through a switched link mixed snapshots and
  even returned corrupt values (bytes of the new file at the offsets of the old footer).

The guarantee rests on the machine's wall clock moving forward (publisher and readers on one host or in sync),
and on the rename happening within EFFECTIVE_DELAY_S of choosing the moment (a stall longer than that is logged:
a query in between may have read a table empty). A publish never takes effect before an earlier one. A snapshot
is deleted only when KEEP_SNAPSHOTS newer ones exist and its successor took effect more than RETAIN_SECONDS ago:
only a query (or transaction) running longer than that can lose a file it listed, and fails rather than mix.

The columns of a view are fixed when it is created. A publish whose `bi` tables have other columns than the
last one starts a new generation (a folder of its own) and replaces the catalog file: connections opened since
read it; connections opened before keep reading the last snapshot of the old generation until they reconnect,
and get an error once it is pruned (never a wrong column).

Readers that type SQL (`warehouse sql`) open the catalog with `read_only_bi`: external access off but for the
snapshot folder, configuration locked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from serving.publish import process_exists, quoted, remove_abandoned_publishes, sql_string

logger = logging.getLogger(__name__)

SCHEMA = "bi"
PARTITION = "effective_us"
MARKER = "_snapshot"
"""Each snapshot's table list (`_snapshot.parquet`: table, rows); the views find snapshots by it."""
STAGING = ".staging"
EFFECTIVE_DELAY_S = 0.5
"""How far in the future a snapshot takes effect: ample for the rename that puts it in place before then."""
KEEP_SNAPSHOTS = 3
RETAIN_SECONDS = 600
"""How long a superseded snapshot stays for the queries still reading it."""
SOURCE = "serving_copy"
SHARED_FILE_MODE, SHARED_DIR_MODE = 0o644, 0o755
"""BI users may be other accounts, and the artifact holds masked data only (the serving copy itself is 0600)."""


@dataclass(frozen=True)
class BiPublished:
    path: Path
    """The catalog BI tools open."""
    snapshot: Path
    effective_at: datetime
    row_counts: dict[str, int]
    """Rows per `bi` table in the snapshot."""
    catalog_replaced: bool
    """A new catalog file (first publish, or the tables' columns changed): pooled readers must reconnect."""
    pruned: tuple[Path, ...] = ()

    @property
    def snapshot_id(self) -> str:
        """`<generation>/effective_us=<µs>`: names the snapshot in the asset's metadata and in logs."""
        return f"{self.snapshot.parent.name}/{self.snapshot.name}"


def snapshots_root(bi_path: Path) -> Path:
    """The folder of the catalog's Parquet snapshots, beside it: the one folder its readers may read."""
    return bi_path.with_name(f"{bi_path.stem}_snapshots")


def publish_bi_artifact(
    serving_copy: Path,
    bi_path: Path,
    *,
    keep: int = KEEP_SNAPSHOTS,
    retain_seconds: float = RETAIN_SECONDS,
    delay_s: float = EFFECTIVE_DELAY_S,
) -> BiPublished:
    """Publish the `bi` tables of `serving_copy` (after its erasure guard) as a new snapshot of the catalog at
    `bi_path`, in effect for every transaction that starts after this returns. Raises ValueError if the serving
    copy has no `bi` table; a failure leaves the previous snapshot in effect."""
    root = snapshots_root(bi_path)
    _refuse_glob_characters(root)
    staging_root = root / STAGING
    staging_root.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_staging(staging_root)
    staging = staging_root / f"{os.getpid()}-{time.time_ns()}"
    staging.mkdir()
    try:
        columns, row_counts = _write_snapshot(serving_copy, staging)
        generation = _generation(columns)
        (root / generation).mkdir(exist_ok=True)
        _share(staging)
        effective_us = max(_now_us() + int(delay_s * 1e6), _newest_effective_us(root) + 1)
        snapshot = root / generation / f"{PARTITION}={effective_us}"
        os.rename(staging, snapshot)
        if (late := _now_us() - effective_us) >= 0:  # the process stalled for EFFECTIVE_DELAY_S in between
            logger.warning("snapshot %s was in place %d µs after it took effect: a query then may have read it empty",
                           snapshot, late)  # fmt: skip
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _share_dirs(root, snapshot.parent)
    replaced = _ensure_catalog(bi_path, snapshot.parent, generation, sorted(columns))
    while (wait := effective_us - _now_us()) > 0:
        time.sleep(wait / 1e6)
    pruned = prune_snapshots(root, keep=keep, retain_seconds=retain_seconds)
    return BiPublished(
        path=bi_path,
        snapshot=snapshot,
        effective_at=datetime.fromtimestamp(effective_us / 1e6, tz=UTC),
        row_counts=row_counts,
        catalog_replaced=replaced,
        pruned=pruned,
    )


def _write_snapshot(serving_copy: Path, folder: Path) -> tuple[dict[str, list[tuple[str, str]]], dict[str, int]]:
    """Each `bi` table of the serving copy as `<table>.parquet` in `folder`, and the marker; returns the tables'
    (column, type) lists and rows. The copy is attached to a new in-memory DuckDB: a process that opened the
    path before would get DuckDB's cached instance of the file the last publish replaced."""
    with duckdb.connect(":memory:") as connection:
        connection.execute(f"ATTACH {sql_string(str(serving_copy))} AS {SOURCE} (READ_ONLY)")
        listed = connection.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = ? AND schema_name = ? ORDER BY table_name, column_index",
            [SOURCE, SCHEMA],
        ).fetchall()
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, column, data_type in listed:
            columns.setdefault(table, []).append((column, data_type))
        if not columns:
            raise ValueError(f"{serving_copy} has no `{SCHEMA}` table to publish")
        if MARKER in columns:
            raise ValueError(f"a `{SCHEMA}` table may not be named {MARKER}")
        row_counts = {}
        for table in sorted(columns):
            target = sql_string(str(folder / f"{table}.parquet"))
            relation = f"{SOURCE}.{SCHEMA}.{quoted(table)}"
            connection.execute(f"COPY (SELECT * FROM {relation}) TO {target} (FORMAT parquet)")
            row_counts[table] = connection.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
        connection.execute("CREATE TABLE marker (table_name VARCHAR, row_count BIGINT)")
        connection.executemany("INSERT INTO marker VALUES (?, ?)", list(row_counts.items()))
        connection.execute(f"COPY marker TO {sql_string(str(folder / f'{MARKER}.parquet'))} (FORMAT parquet)")
    return columns, row_counts


def _generation(columns: dict[str, list[tuple[str, str]]]) -> str:
    """A name for the tables' shape: the same tables with the same columns and types share a generation."""
    shape = json.dumps(sorted(columns.items()), separators=(",", ":"))
    return "g" + hashlib.sha256(shape.encode()).hexdigest()[:12]


def view_sql(table: str, generation_dir: Path) -> str:
    """The view of `table`: its file in the newest snapshot of the generation in effect at the transaction's
    start. DuckDB prunes the other snapshots' files by that filter: a query reads one file per table."""
    files = sql_string(f"{generation_dir}/*/{table}.parquet")
    markers = sql_string(f"{generation_dir}/*/{MARKER}.parquet")
    in_effect = (
        f"SELECT max(e) FROM (SELECT CAST(regexp_extract(file, '/{PARTITION}=([0-9]+)/[^/]+$', 1) AS BIGINT) AS e "
        f"FROM glob({markers})) WHERE e <= epoch_us(get_current_timestamp())"
    )
    return (
        f"CREATE VIEW {SCHEMA}.{quoted(table)} AS SELECT * EXCLUDE ({PARTITION}) "
        f"FROM read_parquet({files}, hive_partitioning = true, hive_types = {{'{PARTITION}': BIGINT}}) "
        f"WHERE {PARTITION} = ({in_effect})"
    )


def _ensure_catalog(bi_path: Path, generation_dir: Path, generation: str, tables: list[str]) -> bool:
    """The catalog's views for `tables` of `generation`; replaced (new file, renamed over) only when it has other
    ones, since connections holding the old file keep it. Returns whether it was replaced."""
    comment = f"{SCHEMA} snapshot generation {generation}"
    expected = {(table, comment) for table in tables}
    if bi_path.exists():
        with duckdb.connect(":memory:") as connection:
            connection.execute(f"ATTACH {sql_string(str(bi_path))} AS catalog (READ_ONLY)")
            present = set(
                connection.execute(
                    "SELECT view_name, comment FROM duckdb_views() WHERE database_name = 'catalog' AND NOT internal"
                ).fetchall()
            )
        if present == expected:
            return False
    remove_abandoned_publishes(bi_path)
    staging_file = bi_path.with_name(f".{bi_path.name}.{os.getpid()}.publishing")
    staging_file.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(staging_file)) as connection:
            connection.execute(f"CREATE SCHEMA {SCHEMA}")
            for table in tables:
                connection.execute(view_sql(table, generation_dir))
                connection.execute(f"COMMENT ON VIEW {SCHEMA}.{quoted(table)} IS {sql_string(comment)}")
            connection.execute("CHECKPOINT")
        staging_file.chmod(SHARED_FILE_MODE)
        os.replace(staging_file, bi_path)
    finally:
        staging_file.unlink(missing_ok=True)
    return True


def prune_snapshots(
    root: Path, *, keep: int = KEEP_SNAPSHOTS, retain_seconds: float = RETAIN_SECONDS
) -> tuple[Path, ...]:
    """Delete the snapshots (of every generation) that have `keep` newer ones and whose successor took effect more
    than `retain_seconds` ago, then generation folders left empty. Returns the snapshots deleted."""
    snapshots = sorted(_snapshots(root))
    now = _now_us()
    pruned = []
    for index, (_effective, path) in enumerate(snapshots[: max(len(snapshots) - keep, 0)]):
        successor_effective = snapshots[index + 1][0]
        if now - successor_effective > retain_seconds * 1e6:
            shutil.rmtree(path, ignore_errors=True)
            pruned.append(path)
    for generation in root.iterdir() if root.is_dir() else ():
        if generation.name != STAGING and generation.is_dir() and not any(generation.iterdir()):
            generation.rmdir()
    return tuple(pruned)


def _snapshots(root: Path) -> Iterator[tuple[int, Path]]:
    for marker in root.glob(f"*/{PARTITION}=*/{MARKER}.parquet"):
        yield int(marker.parent.name.split("=", 1)[1]), marker.parent


def _newest_effective_us(root: Path) -> int:
    return max((effective for effective, _ in _snapshots(root)), default=0)


def _now_us() -> int:
    return time.time_ns() // 1000


def _remove_abandoned_staging(staging_root: Path) -> None:
    """Staging folders of publishes whose process is gone (`<pid>-<ns>`); a live publisher's are kept."""
    for leftover in staging_root.iterdir():
        pid = leftover.name.split("-", 1)[0]
        if pid.isdigit() and not process_exists(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _share(folder: Path) -> None:
    """A snapshot readable by BI users whatever the publisher's umask (0600 for a process handling personal data)."""
    folder.chmod(SHARED_DIR_MODE)
    for path in folder.iterdir():
        path.chmod(SHARED_FILE_MODE)


def _share_dirs(*folders: Path) -> None:
    for folder in folders:
        if stat.S_IMODE(folder.stat().st_mode) != SHARED_DIR_MODE:
            folder.chmod(SHARED_DIR_MODE)


def _refuse_glob_characters(root: Path) -> None:
    """The views find snapshots by glob patterns, which have no escape: a folder named with `*?[]` would not match."""
    if any(character in str(root) for character in "*?[]{}"):
        raise ValueError(f"the BI artifact's folder may not contain glob characters (*?[]{{}}): {root}")


@contextmanager
def read_only_bi(bi_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The BI artifact opened read-only for SQL a person types: no file, network or database is reachable but the
    snapshot folder the views read (so no ATTACH of the warehouse, no `read_text` of the erasure salt, no COPY
    elsewhere), no extension is loaded, and no setting can be changed back. Raises FileNotFoundError without it."""
    if not bi_path.is_file():
        raise FileNotFoundError(f"no BI artifact at {bi_path}")
    connection = duckdb.connect(str(bi_path), read_only=True)
    try:
        connection.execute(f"SET allowed_directories = [{sql_string(str(snapshots_root(bi_path)) + os.sep)}]")
        connection.execute("SET enable_external_access = false")
        connection.execute("SET autoload_known_extensions = false")
        connection.execute("SET lock_configuration = true")
        yield connection
    finally:
        connection.close()
