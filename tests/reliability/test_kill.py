"""kill -9 at named points of a run, then run again: the warehouse ends equal to a clean run's.

One clean baseline per module (150 customers, 10 days of generated data): dlt load, `dbt build`, publish.
Each test starts a run in a subprocess that SIGKILLs itself at a deterministic point (a monkeypatched
function, never a timer), checks that the kill left a real partial state, runs again, and compares every raw
table and every mart with the baseline: row count and a content hash (order-free; dlt load ids, dlt row ids and
load/quarantine times ignored). The serving copy is opened after each kill: it is always a complete version.

The kill points are the steps the Dagster graph runs: `ingestion.pipelines.load` (extract and load), `dbt build`
(the same CLI and profile the dbt assets use) and `serving.publish.publish_marts`, each from its own copy of
the baseline. tests/reliability/test_kill_run.py kills the real `warehouse run` (the run record, its pool slot and
its dbt child), in fewer runs: a whole run takes minutes on the shared 2-core machine.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from core.dbt_cli import run_dbt
from core.settings import PROJECT_ROOT, Settings, get_settings
from ingestion.pipelines import SYSTEMS, load
from serving.publish import publish_marts
from tests.conftest import settings_for

pytestmark = pytest.mark.slow  # dbt builds of the whole project

AS_OF = datetime(2026, 11, 23, 12, 0)
DBT_VARS = f"{{as_of: '{AS_OF:%Y-%m-%d %H:%M:%S}'}}"
# Columns that differ between two clean runs of the same input by design: dlt's load and row ids, load times
# (a comment's sentiment is scored right after its load), and when a customer id was first minted (dbt's run start).
VOLATILE_COLUMNS = {
    "_dlt_load_id", "_dlt_id", "loaded_at", "quarantined_at", "scored_at", "customer_id_since",
    "judged_at", "sessionized_at", "dbt_updated_at",  # when a dbt run wrote the row
}  # fmt: skip
TIMEOUT = 300
NO_TESTS = ("--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")

Fingerprint = dict[str, tuple[int, str]]


def fingerprint(path: Path, schemas: str) -> Fingerprint:
    """{schema.table: (rows, sha256 of the sorted rows)} of every table whose schema matches the regex `schemas`
    (dlt's own `_dlt*` tables left out)."""
    result: Fingerprint = {}
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = connection.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE regexp_full_match(schema_name, ?) "
            "AND NOT starts_with(table_name, '_dlt') ORDER BY 1, 2",
            [schemas],
        ).fetchall()
        for schema, table in tables:
            columns = [
                name
                for (name,) in connection.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                    "ORDER BY column_index",
                    [schema, table],
                ).fetchall()
                if name not in VOLATILE_COLUMNS
            ]
            selected = ", ".join(f'"{c}"' for c in columns)
            rows = connection.execute(f'SELECT {selected} FROM "{schema}"."{table}"').fetchall()
            digest = hashlib.sha256("\n".join(sorted(map(repr, rows))).encode()).hexdigest()
            result[f"{schema}.{table}"] = (len(rows), digest)
    return result


def raw_tables(path: Path) -> Fingerprint:
    return fingerprint(path, "raw_[a-z]+")  # not dlt's raw_<system>_staging


def marts(path: Path) -> Fingerprint:
    return fingerprint(path, "marts")


def env_settings(root: Path, landing: Path) -> tuple[dict[str, str], Settings]:
    """Environment for a subprocess and the settings it resolves to: paths under root, a shared landing dir."""
    env = {**settings_for(root), "LANDING_DIR": str(landing)}
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = get_settings()
    return {**os.environ, **env, "PYTHONPATH": str(PROJECT_ROOT)}, settings


def dbt(command: str, settings: Settings, *extra: str) -> None:
    run_dbt([command, "--vars", DBT_VARS, *extra], settings, target_path=settings.data_dir / "dbt_target")


def die_in_subprocess(script: str, env: dict[str, str], *args: str) -> None:
    """Run `script`; it must kill itself with SIGKILL at its kill point (a normal exit fails the test)."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert completed.returncode == -signal.SIGKILL, completed.stdout[-2000:] + completed.stderr[-2000:]


@dataclass(frozen=True)
class Baseline:
    landing: Path
    settings: Settings
    raw_only: Path
    """The warehouse after the load, before dbt."""
    raw: Fingerprint
    marts: Fingerprint


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Baseline]:
    """A clean run of small generated data; read-only for the tests (they copy what they change)."""
    from demo_data.generator import GeneratorConfig, generate

    root = tmp_path_factory.mktemp("reliability_baseline")
    landing = root / "landing"
    generate(GeneratorConfig(customers=150, days=10, seed=7, as_of=AS_OF), landing)
    _, settings = env_settings(root, landing)
    load(SYSTEMS, settings)
    raw = raw_tables(settings.warehouse_path)
    raw_only = shutil.copyfile(settings.warehouse_path, root / "raw_only.duckdb")
    dbt("build", settings)
    publish_marts(settings.warehouse_path, settings.serving_path)
    built = marts(settings.warehouse_path)
    assert raw["raw_analytics.events"][0] > 1_000 and built["marts.fct_events"][0] > 1_000
    assert marts(settings.serving_path) == built
    yield Baseline(landing=landing, settings=settings, raw_only=raw_only, raw=raw, marts=built)


# Dies while dlt extracts the shop (the CRM is already loaded): the first item of `orders` written.
EXTRACT_KILLER = """
    import os, signal
    from dlt.extract import extractors
    from core.settings import get_settings
    from ingestion.pipelines import SYSTEMS, load

    def killing(write_items):
        def write(self, resource, items, meta):
            if resource.name == "orders":
                os.kill(os.getpid(), signal.SIGKILL)
            return write_items(self, resource, items, meta)
        return write

    for extractor in (extractors.Extractor, extractors.ArrowExtractor):
        extractor.write_items = killing(extractor.write_items)
    load(SYSTEMS, get_settings())
"""

# Dies while dlt loads the analytics package: its job for the events started, nothing of it committed.
# (Dying right after the events committed is tested in tests/ingestion/test_incremental.py: the raw tables are
# already whole then, so it is no mid-run state here.)
LOAD_KILLER = """
    import os, signal
    from dlt.destinations.impl.duckdb import duck
    from core.settings import get_settings
    from ingestion.pipelines import SYSTEMS, load

    copy = duck.DuckDbCopyJob.run

    def die_before_events(self):
        if self.load_table_name == "events":
            os.kill(os.getpid(), signal.SIGKILL)
        copy(self)

    duck.DuckDbCopyJob.run = die_before_events
    load(SYSTEMS, get_settings())
"""


@pytest.mark.parametrize("killer", [EXTRACT_KILLER, LOAD_KILLER], ids=["during_extract", "during_load"])
def test_kill_9_during_ingestion_then_rerun_equals_a_clean_load(
    baseline: Baseline, tmp_path: Path, killer: str
) -> None:
    env, settings = env_settings(tmp_path, baseline.landing)

    die_in_subprocess(killer, env)
    killed = raw_tables(settings.warehouse_path) if settings.warehouse_path.exists() else {}
    load(SYSTEMS, settings)

    assert killed != baseline.raw, "the kill point was not reached mid-run"
    assert raw_tables(settings.warehouse_path) == baseline.raw


# Dies inside the first dbt build (seeds and models) with one thread: after the first SQL statement of
# customer_profiles (its ancestors, identity and its incremental id assignment among them, already committed;
# the profiles and everything after them not). Data tests left out: they passed on this input in the baseline,
# and skipping them halves the time.
DBT_KILLER = """
    import os, signal, sys
    from dbt.cli.main import dbtRunner

    def die_in_profiles(event):
        node = getattr(event.data, "node_info", None)
        if event.info.name == "SQLQueryStatus" and node and node.unique_id.endswith(".customer_profiles"):
            os.kill(os.getpid(), signal.SIGKILL)

    os.environ.update(DBT_THREADS="1", DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    dbtRunner(callbacks=[die_in_profiles]).invoke(sys.argv[1:])
"""

# A BI tool: opens the serving copy read-only again and again and reads two marts, until told to stop.
BI_READER = """
    import os, sys, time, duckdb
    path, stop = sys.argv[1], sys.argv[2]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and not os.path.exists(stop):
        try:
            with duckdb.connect(path, read_only=True) as c:
                events = c.execute("SELECT count(*) FROM marts.fct_events").fetchone()[0]
                profiles = c.execute("SELECT count(*) FROM marts.customer_profiles").fetchone()[0]
            print("read", events, profiles, flush=True)
        except Exception as error:  # what the test looks for
            print("error", type(error).__name__, error, flush=True)
        time.sleep(0.05)
"""


def test_kill_9_during_dbt_then_rerun_equals_the_clean_build_and_bi_readers_never_error(
    baseline: Baseline, tmp_path: Path
) -> None:
    env, settings = env_settings(tmp_path, baseline.landing)
    shutil.copyfile(baseline.raw_only, settings.warehouse_path)
    shutil.copyfile(baseline.settings.serving_path, settings.serving_path)
    stop = tmp_path / "stop-reading"
    reader = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(BI_READER), str(settings.serving_path), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        target = tmp_path / "dbt_target"
        die_in_subprocess(
            DBT_KILLER,
            env,
            "build", *NO_TESTS, "--target", "prod", "--vars", DBT_VARS, "--target-path", str(target),
            "--project-dir", str(PROJECT_ROOT / "dbt_project"), "--profiles-dir", str(PROJECT_ROOT / "dbt_project"),
        )  # fmt: skip
        killed = marts(settings.warehouse_path)
        assert marts(settings.serving_path) == baseline.marts, "a kill in dbt must not touch the serving copy"

        dbt("build", settings, *NO_TESTS)  # incremental where the killed run already built a model
        publish_marts(settings.warehouse_path, settings.serving_path)
    finally:
        stop.touch()
        output, _ = reader.communicate(timeout=TIMEOUT)
        reader.kill()

    assert "marts.customer_identity_map" in killed and "marts.customer_profiles" not in killed, "not mid-build"
    assert marts(settings.warehouse_path) == baseline.marts
    assert marts(settings.serving_path) == baseline.marts
    reads = [line.split() for line in output.splitlines()]
    expected = [
        "read",
        str(baseline.marts["marts.fct_events"][0]),
        str(baseline.marts["marts.customer_profiles"][0]),
    ]
    assert reads and all(read == expected for read in reads), [r for r in reads if r != expected][:5]


# Dies inside publish_marts: mid-copy (after the first mart was copied into the new file) or with the new file
# complete and closed, just before it is renamed over the serving copy.
PUBLISH_KILLER = """
    import os, signal, sys
    from pathlib import Path
    from serving import publish as serving

    point = sys.argv[3]

    class DyingConnection:
        def __init__(self, connection):
            self.connection, self.tables = connection, 0

        def execute(self, sql, *args):
            result = self.connection.execute(sql, *args)
            self.tables += sql.startswith("CREATE TABLE")
            if point == "mid_copy" and self.tables == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        def __getattr__(self, name):
            return getattr(self.connection, name)

    connect, replace = serving.duckdb.connect, serving.os.replace

    def dying_connect(path, *args, **kwargs):
        return DyingConnection(connect(path, *args, **kwargs))

    def dying_replace(source, target):
        if point == "before_rename":
            os.kill(os.getpid(), signal.SIGKILL)
        replace(source, target)

    serving.duckdb.connect, serving.os.replace = dying_connect, dying_replace
    serving.publish_marts(Path(sys.argv[1]), Path(sys.argv[2]))
"""


@pytest.mark.parametrize("point", ["mid_copy", "before_rename"])
def test_kill_9_during_publish_leaves_the_previous_serving_copy_then_republish_serves_the_new(
    baseline: Baseline, tmp_path: Path, point: str
) -> None:
    env, settings = env_settings(tmp_path, baseline.landing)
    shutil.copyfile(baseline.settings.warehouse_path, settings.warehouse_path)
    shutil.copyfile(baseline.settings.serving_path, settings.serving_path)
    with duckdb.connect(str(settings.warehouse_path)) as connection:  # the next version: a day of events fewer
        connection.execute(
            "DELETE FROM marts.fct_events WHERE event_date = (SELECT max(event_date) FROM marts.fct_events)"
        )
    new_version = marts(settings.warehouse_path)
    assert new_version != baseline.marts

    die_in_subprocess(PUBLISH_KILLER, env, str(settings.warehouse_path), str(settings.serving_path), point)
    after_kill = marts(settings.serving_path)
    publish_marts(settings.warehouse_path, settings.serving_path)

    assert after_kill == baseline.marts
    assert marts(settings.serving_path) == new_version
    assert sorted(p.name for p in tmp_path.iterdir() if "serving" in p.name) == ["serving.duckdb"]
