"""Incremental, idempotent, crash-safe: files read once, grown and replaced files handled, replays exact."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dlt.destinations.impl.duckdb.duck import DuckDbCopyJob

from core.settings import Settings, duckdb_default_memory_limit
from core.warehouse import warehouse_connection
from ingestion.landing import reads
from ingestion.pipelines import load, make_pipeline
from tests.ingestion.records import contact, event, order, rows, write_jsonl

CONTACTS = "crm/contacts/contacts-b{:04d}-p0000.jsonl"


def table_snapshot(s: Settings, table: str, key: str) -> list[tuple]:
    return rows(s, f"SELECT * EXCLUDE (_dlt_load_id, _dlt_id) FROM {table} ORDER BY {key}")


def test_second_batch_merges_newest_version_and_skips_loaded_files(settings: Settings) -> None:
    write_jsonl(
        settings,
        CONTACTS.format(0),
        [contact(str(i), "2024-01-02T00:00:00Z", f"{i}@x.com") for i in range(3)],
    )
    load(["crm"], settings)
    changed = [
        contact("1", "2024-02-01T00:00:00Z", "new@x.com"),
        contact("1", "2024-01-15T00:00:00Z", "mid@x.com"),
    ]
    write_jsonl(settings, CONTACTS.format(1), [*changed, contact("3", "2024-02-01T00:00:00Z", "3@x.com")])

    summary = load(["crm"], settings)

    assert summary.table("crm", "contacts").loaded == 2
    assert rows(settings, "SELECT id, email FROM raw_crm.contacts ORDER BY id") == [
        ("0", "0@x.com"),
        ("1", "new@x.com"),
        ("2", "2@x.com"),
        ("3", "3@x.com"),
    ]


def test_grown_file_is_read_from_where_it_stopped(settings: Settings) -> None:
    path = write_jsonl(settings, "analytics/events/e.jsonl", [event("m-1"), event("m-2")])
    load(["analytics"], settings)
    with path.open("a") as f:
        f.write(json.dumps(event("m-3")) + "\n")

    summary = load(["analytics"], settings)

    assert summary.table("analytics", "events").loaded == 1
    assert rows(settings, "SELECT message_id, _source_line FROM raw_analytics.events ORDER BY 1") == [
        ("m-1", 1),
        ("m-2", 2),
        ("m-3", 3),
    ]


def test_replaced_file_is_read_again(settings: Settings) -> None:
    path = write_jsonl(settings, CONTACTS.format(0), [contact("1", "2024-01-02T00:00:00Z", "old@x.com")])
    load(["crm"], settings)
    write_jsonl(
        settings,
        path.relative_to(settings.landing_dir).as_posix(),
        [contact("1", "2024-01-03T00:00:00Z", "n@x")],
    )

    load(["crm"], settings)

    assert rows(settings, "SELECT id, email FROM raw_crm.contacts") == [("1", "n@x")]


def test_new_order_version_replaces_its_line_items(settings: Settings) -> None:
    write_jsonl(settings, "shop/orders/o-b0000.jsonl", [order(5, "2024-01-02T00:00:00Z", items=3)])
    load(["shop"], settings)
    write_jsonl(settings, "shop/orders/o-b0001.jsonl", [order(5, "2024-01-03T00:00:00Z", items=1)])

    load(["shop"], settings)

    assert rows(settings, "SELECT order_id, id FROM raw_shop.orders__line_items") == [(5, 50)]


def test_rerun_with_same_input_changes_nothing(settings: Settings) -> None:
    path = write_jsonl(settings, "shop/orders/o.jsonl", [order(5, "2024-01-02T00:00:00Z")])
    with path.open("a") as f:
        f.write("{broken\n")
    load(["shop"], settings)
    before = {t: table_snapshot(settings, f"raw_shop.{t}", "1") for t in ("orders", "orders__line_items")}
    quarantine_before = rows(settings, "SELECT source_file, source_line, raw_line, reason FROM raw_shop.quarantine")
    (settings.pipelines_dir / "shop" / "state.json").unlink()  # forget which files were read: keys alone must hold

    load(["shop"], settings)

    assert {t: table_snapshot(settings, f"raw_shop.{t}", "1") for t in before} == before
    quarantine_after = rows(settings, "SELECT source_file, source_line, raw_line, reason FROM raw_shop.quarantine")
    assert quarantine_after == quarantine_before


KILLER = """
import os, signal, sys
from dlt.destinations.impl.duckdb import duck
from core.settings import get_settings
from ingestion.pipelines import load

copy = duck.DuckDbCopyJob.run
calls = []

def run_then_die(self):
    calls.append(self)
    if len(calls) == 2:  # one table loaded, the others not: the package is half done
        os.kill(os.getpid(), signal.SIGKILL)
    copy(self)

duck.DuckDbCopyJob.run = run_then_die
load(["shop"], get_settings())
"""


def test_kill_9_mid_load_then_rerun_is_exact(settings: Settings, tmp_path: Path) -> None:
    orders = [order(i, "2024-01-02T00:00:00Z") for i in range(1, 51)]
    write_jsonl(settings, "shop/orders/o-b0000.jsonl", orders)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    killed = subprocess.run([sys.executable, "-c", KILLER], env=env, capture_output=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    load(["shop"], settings)

    assert rows(settings, "SELECT count(*), count(DISTINCT id) FROM raw_shop.orders") == [(50, 50)]
    assert rows(settings, "SELECT count(*), count(DISTINCT (order_id, id)) FROM raw_shop.orders__line_items") == [
        (100, 100)
    ]
    assert rows(settings, "SELECT count(*) FROM raw_shop.orders__discount_codes") == [(50,)]


KILL_AFTER_COMMIT = """
import os, signal, sys
from dlt.destinations.impl.duckdb import duck
from core.settings import get_settings
from ingestion.pipelines import load

copy = duck.DuckDbCopyJob.run

def commit_then_die(self):
    copy(self)
    if "{table}." in os.path.basename(self._file_path):  # committed, but dlt has not marked the job done
        os.kill(os.getpid(), signal.SIGKILL)

duck.DuckDbCopyJob.run = commit_then_die
load(["{system}"], get_settings())
"""


def test_kill_9_after_a_load_job_committed_replays_it_exactly(settings: Settings) -> None:
    write_jsonl(settings, "shop/orders/o-b0000.jsonl", [order(i, "2024-01-02T00:00:00Z") for i in range(1, 11)])
    write_jsonl(settings, "analytics/events/e.jsonl", [event(f"m-{i}") for i in range(10)])
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    for system, table in (("shop", "orders__discount_codes"), ("analytics", "events")):
        script = KILL_AFTER_COMMIT.replace("{table}", table).replace("{system}", system)
        killed = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=120)
        assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
        load([system], settings)

    assert rows(settings, "SELECT count(*), count(DISTINCT order_id) FROM raw_shop.orders__discount_codes") == [
        (10, 10)
    ]
    assert rows(settings, "SELECT count(*), count(DISTINCT message_id) FROM raw_analytics.events") == [(10, 10)]


KILL_BEFORE_COPY = """
import os, signal, sys
from dlt.destinations.impl.duckdb import duck
from core.settings import get_settings
from ingestion.pipelines import load

def die(self):
    if "{table}." in os.path.basename(self._file_path):  # started by dlt, nothing of it committed
        os.kill(os.getpid(), signal.SIGKILL)

duck.DuckDbCopyJob.run = die
load(["{system}"], get_settings())
"""


@pytest.mark.parametrize("killer", [KILL_BEFORE_COPY, KILL_AFTER_COMMIT], ids=["before_copy", "after_commit"])
def test_the_run_after_a_kill_also_loads_what_arrived_since(settings: Settings, killer: str) -> None:
    """The restored events job copies what had not committed, once; dlt's `run` with a package pending loads
    it and returns without extracting, which `load` must not do."""
    write_jsonl(settings, "analytics/events/e-0.jsonl", [event(f"m-{i}") for i in range(10)])
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    script = killer.replace("{table}", "events").replace("{system}", "analytics")
    killed = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    write_jsonl(settings, "analytics/events/e-1.jsonl", [event(f"n-{i}") for i in range(5)])

    summary = load(["analytics"], settings)

    assert summary.table("analytics", "events").loaded == 5
    assert rows(settings, "SELECT count(*), count(DISTINCT message_id) FROM raw_analytics.events") == [(15, 15)]


def test_load_jobs_of_one_table_run_one_after_the_other(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DuckDB spreads one INSERT over its threads; several at once into one table only compete (ingestion/
    destination.py). Each file is its own parquet file here, and each copy job is slowed so that overlaps show."""
    monkeypatch.setattr(reads, "BATCH_BYTES", 1)
    monkeypatch.setattr(reads, "FLUSH_BYTES", 1)
    for n in range(4):
        write_jsonl(settings, f"analytics/events/e-{n}.jsonl", [event(f"m-{n}-{i}") for i in range(3)])
    spans: list[tuple[str, float, float]] = []
    copy = DuckDbCopyJob.run

    def timed_copy(job: DuckDbCopyJob) -> None:
        started = time.monotonic()
        copy(job)
        time.sleep(0.2)
        spans.append((job.load_table_name, started, time.monotonic()))

    monkeypatch.setattr(DuckDbCopyJob, "run", timed_copy)

    summary = load(["analytics"], settings)

    assert summary.table("analytics", "events").loaded == 12
    events = sorted((start, end) for table, start, end in spans if table == "events")
    assert len(events) == 4
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(events))


def test_a_loaded_package_keeps_no_copy_of_the_rows(settings: Settings) -> None:
    """dlt's default keeps every loaded parquet file (the input's size per run, erased people's rows too)."""
    write_jsonl(settings, CONTACTS.format(0), [contact("1", "2024-01-02T00:00:00Z", "a@x.com")])
    write_jsonl(settings, "analytics/events/e.jsonl", [event("m-1")])

    load(["crm", "analytics"], settings)

    assert rows(settings, "SELECT count(*) FROM raw_crm.contacts") == [(1,)]
    assert list(settings.pipelines_dir.rglob("loaded/*/package_completed.json")), "the packages are there"
    assert not [p for p in settings.pipelines_dir.rglob("*") if p.suffix in (".parquet", ".jsonl", ".gz")]


def test_the_events_load_caps_the_destination_memory_and_the_entity_loads_keep_duckdb_s_default(
    settings: Settings,
) -> None:
    """Appending writes a table DuckDB would otherwise keep cached whole (12.6 GiB at 95M events); entity
    merges number their rows with a window that cannot spill. One connection, each system its own limit."""
    seen: list[tuple[str, str]] = []
    with warehouse_connection(settings) as connection:
        for system in ("analytics", "crm", "analytics", "shop"):
            with make_pipeline(system, settings, connection).sql_client() as client:
                ((limit,),) = client.execute_sql("SELECT current_setting('memory_limit')")
            seen.append((system, limit))

    def as_duckdb_says(limit: str) -> str:
        (said,) = duckdb.connect(config={"memory_limit": limit}).execute(
            "SELECT current_setting('memory_limit')"
        ).fetchone()
        return said

    budget, default = as_duckdb_says(settings.duckdb_memory_limit), as_duckdb_says(duckdb_default_memory_limit())
    assert settings.destination_memory_limit("crm") == duckdb_default_memory_limit() != settings.duckdb_memory_limit
    assert seen == [("analytics", budget), ("crm", default), ("analytics", budget), ("shop", default)]
