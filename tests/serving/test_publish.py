"""The serving copy: BI readers see the old marts or the new ones, never an error or a mix; people erased after
the build never reach the consumer schemas."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from core.settings import Settings
from privacy.ledger import ErasureLedger, subject_hash
from privacy.registry import PiiColumn, PiiRegistry
from serving.bi_artifact import publish_bi_artifact
from serving.publish import publish_marts, publish_serving

# A BI tool in its own process: reads both marts in one transaction, over and over, until told to stop.
READER = textwrap.dedent(
    """
    import sys, time, duckdb
    path, stop = sys.argv[1], sys.argv[2]
    held = duckdb.connect(path, read_only=True)
    print("held", held.execute("SELECT max(version) FROM marts.profiles").fetchone()[0], flush=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with duckdb.connect(path, read_only=True) as c:
                a = c.execute("SELECT min(version), max(version), count(*) FROM marts.profiles").fetchone()
                b = c.execute("SELECT min(version), max(version), count(*) FROM marts.segments").fetchone()
            print("read", *a, *b, flush=True)
        except Exception as error:  # a reader error is what the test looks for
            print("error", type(error).__name__, error, flush=True)
        if __import__("os").path.exists(stop):
            break
    print("held", held.execute("SELECT max(version) FROM marts.profiles").fetchone()[0], flush=True)
    """
)


def build_warehouse(path: Path, version: int, rows: int) -> None:
    """A warehouse whose two marts carry `version` in every row, and a schema that must not be served."""
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS marts; CREATE SCHEMA IF NOT EXISTS staging")
        connection.execute(
            f"CREATE OR REPLACE TABLE marts.profiles AS SELECT range AS id, {version} AS version FROM range({rows})"
        )
        connection.execute(
            f"CREATE OR REPLACE TABLE marts.segments AS SELECT range AS id, {version} AS version FROM range({rows})"
        )
        connection.execute("CREATE OR REPLACE TABLE staging.secret AS SELECT 1 AS x")


def test_publish_copies_only_the_marts(tmp_path: Path) -> None:
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"
    build_warehouse(warehouse, version=1, rows=10)

    published = publish_marts(warehouse, serving)

    assert published.row_counts == {"profiles": 10, "segments": 10}
    with duckdb.connect(str(serving), read_only=True) as connection:
        schemas = {s for (s,) in connection.execute("SELECT DISTINCT schema_name FROM duckdb_tables()").fetchall()}
    assert schemas == {"marts"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["serving.duckdb", "warehouse.duckdb"]


def test_a_quote_in_the_warehouse_path_does_not_break_publishing(tmp_path: Path) -> None:
    folder = tmp_path / "o'brien's data"
    folder.mkdir()
    build_warehouse(folder / "warehouse.duckdb", version=1, rows=3)

    published = publish_marts(folder / "warehouse.duckdb", folder / "serving.duckdb")

    assert published.row_counts == {"profiles": 3, "segments": 3}


def test_reader_sees_old_or_new_marts_never_an_error_or_a_mix(tmp_path: Path) -> None:
    warehouse, serving, stop = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb", tmp_path / "stop"
    build_warehouse(warehouse, version=1, rows=50_000)
    publish_marts(warehouse, serving)

    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(serving), str(stop)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout.readline().split() == ["held", "1"]
        for version in (2, 3, 4):
            build_warehouse(warehouse, version=version, rows=50_000 + version)
            publish_marts(warehouse, serving)
        stop.touch()
        output, _ = reader.communicate(timeout=90)
    finally:
        reader.kill()

    lines = [line.split() for line in output.splitlines()]
    reads = [line for line in lines if line[0] == "read"]
    assert [line for line in lines if line[0] == "error"] == []
    assert reads, "the reader never got a read in"
    for _, a_min, a_max, a_rows, b_min, b_max, b_rows in reads:
        # One version throughout both tables of one read, with that version's row count.
        assert a_min == a_max == b_min == b_max
        assert int(a_rows) == int(b_rows) == 50_000 + (int(a_min) if a_min != "1" else 0)
    assert lines[-1] == ["held", "1"], "a connection opened before the republish keeps the old marts"
    with duckdb.connect(str(serving), read_only=True) as connection:
        assert connection.execute("SELECT DISTINCT version FROM marts.segments").fetchall() == [(4,)]


CONSUMER_PII = PiiRegistry(tuple(
    PiiColumn(schema, relation, column, kind)  # type: ignore[arg-type]
    for schema, relation, column, kind in (
        ("bi", "dim_customers", "customer_id", "customer_id"), ("bi", "dim_customers", "email", "email"),
        ("bi", "fct_events", "anonymous_id", "anonymous_id"),
        ("activation", "profiles", "customer_id", "customer_id"), ("activation", "profiles", "email", "email"),
    )
))  # fmt: skip
"""What the serving models' YAML would declare for `consumer_warehouse`: bi's customer_id in clear, its email
and anonymous_id hashed; activation's in clear."""


def consumer_warehouse(path: Path, salt: str) -> None:
    """marts, bi and activation as dbt builds them (bi's identifiers are the ledger's hashes), and a schema that
    must not be served."""
    build_warehouse(path, version=1, rows=3)
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA bi; CREATE SCHEMA activation")
        connection.execute("CREATE TABLE bi.dim_customers (customer_id VARCHAR, email VARCHAR, city VARCHAR)")
        connection.executemany(
            "INSERT INTO bi.dim_customers VALUES (?, ?, ?)",
            [
                ("cus_1", subject_hash("email", "kept@example.com", salt), "Lyon"),
                ("cus_2", subject_hash("email", "gone@example.com", salt), "Gone"),
                ("cus_3", None, "Gone"),
            ],
        )
        connection.execute("CREATE TABLE bi.fct_events (message_id VARCHAR, anonymous_id VARCHAR)")
        connection.executemany(
            "INSERT INTO bi.fct_events VALUES (?, ?)",
            [
                ("m1", subject_hash("anonymous_id", "anon-kept", salt)),
                ("m2", subject_hash("anonymous_id", "anon-gone", salt)),
            ],
        )
        connection.execute("CREATE TABLE activation.profiles (customer_id VARCHAR, email VARCHAR)")
        connection.execute(
            "INSERT INTO activation.profiles VALUES ('cus_1', 'kept@example.com'), ('cus_2', 'gone@example.com'), "
            "('cus_3', 'also.gone@example.com')"
        )


def test_publish_serving_serves_marts_bi_and_activation_without_people_erased_since_the_build(
    isolated_env: Settings,
) -> None:
    ledger = ErasureLedger(isolated_env)
    consumer_warehouse(isolated_env.warehouse_path, ledger.salt)
    ledger.record([("email", " Gone@Example.com"), ("customer_id", "cus_3"), ("anonymous_id", "anon-gone")])

    published = publish_serving(isolated_env.warehouse_path, isolated_env.serving_path, isolated_env, CONSUMER_PII)

    assert published.row_counts == {"profiles": 3, "segments": 3}, "the marts are copied as they are"
    assert published.consumer_row_counts == {"activation.profiles": 1, "bi.dim_customers": 1, "bi.fct_events": 1}
    assert published.erased_rows_removed == 5
    with duckdb.connect(str(isolated_env.serving_path), read_only=True) as connection:
        assert connection.execute("SELECT customer_id, city FROM bi.dim_customers").fetchall() == [("cus_1", "Lyon")]
        assert connection.execute("SELECT message_id FROM bi.fct_events").fetchall() == [("m1",)]
        assert connection.execute("SELECT * FROM activation.profiles").fetchall() == [("cus_1", "kept@example.com")]
        schemas = {s for (s,) in connection.execute("SELECT DISTINCT schema_name FROM duckdb_tables()").fetchall()}
    assert schemas == {"marts", "bi", "activation"}


def test_without_a_ledger_publish_serving_copies_the_consumer_tables_as_built(isolated_env: Settings) -> None:
    consumer_warehouse(isolated_env.warehouse_path, "any salt")

    published = publish_serving(isolated_env.warehouse_path, isolated_env.serving_path, isolated_env, CONSUMER_PII)

    assert published.consumer_row_counts == {"activation.profiles": 3, "bi.dim_customers": 3, "bi.fct_events": 2}
    assert published.erased_rows_removed == 0
    assert not ErasureLedger(isolated_env).path.exists()


def test_the_erasure_guard_matches_the_columns_the_registry_declares_and_only_those(isolated_env: Settings) -> None:
    """A column declared a minute ago is guarded; the same identifier in an undeclared column is not read."""
    ledger = ErasureLedger(isolated_env)
    consumer_warehouse(isolated_env.warehouse_path, ledger.salt)
    with duckdb.connect(str(isolated_env.warehouse_path)) as connection:
        connection.execute("ALTER TABLE activation.profiles ADD COLUMN phone VARCHAR")
        connection.execute("ALTER TABLE activation.profiles ADD COLUMN note VARCHAR")
        connection.execute(
            "UPDATE activation.profiles SET phone = '+1 555 0100', note = '+15550199' WHERE customer_id = 'cus_1'"
        )
        connection.execute("UPDATE activation.profiles SET note = '+15550100' WHERE customer_id = 'cus_2'")
    ledger.record([("phone", "+15550100")])
    declared = PiiRegistry((*CONSUMER_PII.columns, PiiColumn("activation", "profiles", "phone", "phone")))

    published = publish_serving(isolated_env.warehouse_path, isolated_env.serving_path, isolated_env, declared)

    assert published.erased_rows_removed == 1
    with duckdb.connect(str(isolated_env.serving_path), read_only=True) as connection:
        kept = connection.execute("SELECT customer_id FROM activation.profiles ORDER BY 1").fetchall()
    assert kept == [("cus_2",), ("cus_3",)], "the declared phone matched in its normal form; the note was not read"


def test_the_serving_copy_with_marts_and_activation_is_its_owners_only(isolated_env: Settings) -> None:
    """0600 whatever the umask: it holds clear emails; BI users read the BI artifact instead."""
    consumer_warehouse(isolated_env.warehouse_path, "any salt")
    previous = os.umask(0o022)
    try:
        publish_serving(isolated_env.warehouse_path, isolated_env.serving_path, isolated_env, CONSUMER_PII)
        published = publish_bi_artifact(isolated_env.serving_path, isolated_env.bi_serving_path, delay_s=0)
    finally:
        os.umask(previous)

    assert stat.S_IMODE(isolated_env.serving_path.stat().st_mode) == 0o600
    with duckdb.connect(str(isolated_env.serving_path), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM activation.profiles").fetchone() == (3,), "still readable"
    assert stat.S_IMODE(published.path.stat().st_mode) == 0o644, "the masked BI artifact is for BI users"
