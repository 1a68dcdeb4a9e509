"""The BI artifact: pooled readers see each publish on their next query, never a mix of two publishes, and the
artifact holds nothing but the masked `bi` tables."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import QueuePool

from core.settings import Settings
from privacy.ledger import ErasureLedger
from serving.bi_artifact import prune_snapshots, publish_bi_artifact, snapshots_root
from serving.publish import publish_serving
from tests.serving import test_postgres
from tests.serving.test_publish import CONSUMER_PII, consumer_warehouse

JOIN = "SELECT min(p.version), max(p.version), count(*), min(s.version), max(s.version) FROM bi.profiles p JOIN "
JOIN += "bi.segments s USING (id)"

# A BI tool in its own process: one connection, opened once and never reopened, joining two tables over and over.
READER = textwrap.dedent(
    f"""
    import os, sys, duckdb
    path, stop = sys.argv[1], sys.argv[2]
    connection = duckdb.connect(path, read_only=True)
    print("ready", flush=True)
    while True:
        last = os.path.exists(stop)  # told after the last publish: this read must see it
        try:
            print("read", *connection.execute({JOIN!r}).fetchone(), flush=True)
        except Exception as error:  # a reader error is what the test looks for
            print("error", type(error).__name__, str(error).replace(chr(10), " "), flush=True)
        if last:
            break
    """
)


def serving_copy(path: Path, version: int, rows: int, *, extra_column: bool = False) -> Path:
    """A serving copy whose two `bi` tables carry `version` in every row, beside clear `marts` and `activation`."""
    staging = path.with_name(path.name + ".new")
    with duckdb.connect(str(staging)) as connection:
        connection.execute("CREATE SCHEMA bi; CREATE SCHEMA marts; CREATE SCHEMA activation")
        extra = ", 'x' AS added" if extra_column else ""
        for table in ("profiles", "segments"):
            connection.execute(
                f"CREATE TABLE bi.{table} AS SELECT range AS id, {version} AS version{extra} FROM range({rows})"
            )
        connection.execute("CREATE TABLE marts.profiles AS SELECT 'clear@example.com' AS email")
        connection.execute("CREATE TABLE activation.profiles AS SELECT 'clear@example.com' AS email")
    os.replace(staging, path)
    return path


def test_a_pooled_engine_sees_the_next_publish_on_its_next_query_without_reconnecting(tmp_path: Path) -> None:
    serving, bi = tmp_path / "serving.duckdb", tmp_path / "serving_bi.duckdb"
    publish_bi_artifact(serving_copy(serving, version=1, rows=10), bi, delay_s=0.1)
    engine = create_engine(f"duckdb:///{bi}", connect_args={"read_only": True}, poolclass=QueuePool, pool_size=2)
    try:
        with engine.connect() as connection:
            assert connection.execute(text(JOIN)).fetchone() == (1, 1, 10, 1, 1)

        published = publish_bi_artifact(serving_copy(serving, version=2, rows=20), bi, delay_s=0.1)

        with engine.connect() as connection:
            assert connection.execute(text(JOIN)).fetchone() == (2, 2, 20, 2, 2)
        assert engine.pool.checkedin() == 1, "the same pooled connection, never disposed"
    finally:
        engine.dispose()
    assert published.row_counts == {"profiles": 20, "segments": 20}
    assert not published.catalog_replaced, "a publish of data alone keeps the catalog file readers hold"


def test_a_reader_joining_during_publishes_never_errors_and_never_mixes_two_publishes(tmp_path: Path) -> None:
    serving, bi, stop = tmp_path / "serving.duckdb", tmp_path / "serving_bi.duckdb", tmp_path / "stop"
    publish_bi_artifact(serving_copy(serving, version=1, rows=100_000), bi)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(bi), str(stop)], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().split() == ["ready"]
        for version in (2, 3, 4, 5):
            publish_bi_artifact(serving_copy(serving, version=version, rows=100_000 + version), bi, delay_s=0.2)
        stop.touch()
        output, _ = reader.communicate(timeout=60)
    finally:
        reader.kill()

    lines = [line.split() for line in output.splitlines()]
    assert [line for line in lines if line[0] != "read"] == []
    seen = []
    for _, p_min, p_max, rows, s_min, s_max in lines:
        assert p_min == p_max == s_min == s_max, "one publish throughout both tables of one query"
        version = int(p_min)
        assert int(rows) == 100_000 + (version if version > 1 else 0)
        seen.append(version)
    assert seen == sorted(seen) and seen[-1] == 5, "each publish seen on the held connection, in order"
    assert len(set(seen)) >= 3, Counter(seen)


def test_the_artifact_holds_only_the_masked_bi_tables(isolated_env: Settings) -> None:
    ledger = ErasureLedger(isolated_env)
    consumer_warehouse(isolated_env.warehouse_path, ledger.salt)
    publish_serving(isolated_env.warehouse_path, isolated_env.serving_path, isolated_env, CONSUMER_PII)

    published = publish_bi_artifact(isolated_env.serving_path, isolated_env.bi_serving_path)

    assert published.row_counts == {"dim_customers": 3, "fct_events": 2}
    with duckdb.connect(":memory:") as connection:
        connection.execute(f"ATTACH '{published.path}' AS artifact (READ_ONLY)")
        objects = connection.execute(
            "SELECT schema_name, table_name, 'table' FROM duckdb_tables() WHERE database_name = 'artifact' UNION ALL "
            "SELECT schema_name, view_name, 'view' FROM duckdb_views() WHERE database_name = 'artifact' "
            "AND NOT internal ORDER BY 2"
        ).fetchall()
        assert objects == [("bi", "dim_customers", "view"), ("bi", "fct_events", "view")]
        cities = connection.execute("SELECT city FROM artifact.bi.dim_customers ORDER BY 1").fetchall()
    assert cities == [("Gone",), ("Gone",), ("Lyon",)]
    files = [published.path, *(p for p in snapshots_root(published.path).rglob("*") if p.is_file())]
    for path in files:
        content = path.read_bytes()
        for clear in (b"kept@example.com", b"gone@example.com", b"marts", b"activation"):
            assert clear not in content, f"{clear!r} in {path}"


def test_a_publish_with_other_columns_replaces_the_catalog_and_old_snapshots_are_pruned(tmp_path: Path) -> None:
    serving, bi = tmp_path / "serving.duckdb", tmp_path / "serving_bi.duckdb"
    first = publish_bi_artifact(serving_copy(serving, version=1, rows=3), bi, delay_s=0)
    second = publish_bi_artifact(serving_copy(serving, version=2, rows=3, extra_column=True), bi, delay_s=0)

    assert first.catalog_replaced and second.catalog_replaced
    assert second.snapshot.parent != first.snapshot.parent, "a new generation for the new columns"
    with duckdb.connect(str(bi), read_only=True) as connection:
        assert connection.execute("SELECT DISTINCT version, added FROM bi.profiles").fetchall() == [(2, "x")]
    assert prune_snapshots(snapshots_root(bi), keep=1, retain_seconds=0) == (first.snapshot,)
    assert not first.snapshot.parent.exists(), "the old generation's folder goes with its last snapshot"
    assert second.snapshot.is_dir()


def test_a_serving_copy_without_bi_tables_leaves_the_snapshot_in_effect(tmp_path: Path) -> None:
    serving, bi = tmp_path / "serving.duckdb", tmp_path / "serving_bi.duckdb"
    publish_bi_artifact(serving_copy(serving, version=1, rows=3), bi, delay_s=0)
    with duckdb.connect(str(serving)) as connection:
        connection.execute("DROP SCHEMA bi CASCADE")

    with pytest.raises(ValueError, match="no `bi` table"):
        publish_bi_artifact(serving, bi)

    with duckdb.connect(str(bi), read_only=True) as connection:
        assert connection.execute("SELECT DISTINCT version FROM bi.segments").fetchall() == [(1,)]
    assert list((snapshots_root(bi) / ".staging").iterdir()) == []


database = test_postgres.database
"""A new database of the test PostgreSQL server (tests/serving/conftest.py), as test_postgres makes them."""


def test_the_serving_asset_publishes_the_copy_then_the_bi_artifact_and_postgres(
    isolated_env: Settings, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from orchestration.assets.serving import build_serving_asset
    from orchestration.resources import WarehouseResource

    monkeypatch.setenv("SERVING_URL", database)
    monkeypatch.setattr("orchestration.assets.serving.read_registry", lambda manifest, settings: CONSUMER_PII)
    consumer_warehouse(isolated_env.warehouse_path, ErasureLedger(isolated_env).salt)

    result = dg.materialize([build_serving_asset([])], resources={"warehouse": WarehouseResource()})

    assert result.success
    (materialization,) = result.asset_materializations_for_node("serving__marts")
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    assert metadata["bi_row_counts"] == {"dim_customers": 3, "fct_events": 2}
    assert metadata["bi_snapshot"].endswith(f"effective_us={metadata['bi_snapshot'].rsplit('=', 1)[1]}")
    assert metadata["postgres_row_counts"] == {"activation.profiles": 3, "bi.dim_customers": 3, "bi.fct_events": 2}
    assert "s3cret" not in metadata["postgres_target"]
    with duckdb.connect(str(isolated_env.bi_serving_path), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM bi.fct_events").fetchone() == (2,)


def test_a_transaction_keeps_its_snapshot_across_a_publish(tmp_path: Path) -> None:
    serving, bi = tmp_path / "serving.duckdb", tmp_path / "serving_bi.duckdb"
    publish_bi_artifact(serving_copy(serving, version=1, rows=3), bi, delay_s=0.05)
    with duckdb.connect(str(bi), read_only=True) as connection:
        connection.execute("BEGIN")
        assert connection.execute("SELECT max(version) FROM bi.profiles").fetchone() == (1,)

        publish_bi_artifact(serving_copy(serving, version=2, rows=3), bi, delay_s=0.05)

        assert connection.execute("SELECT max(version) FROM bi.segments").fetchone() == (1,), "one snapshot"
        connection.execute("COMMIT")
        assert connection.execute("SELECT max(version) FROM bi.segments").fetchone() == (2,)
