"""Checks sized to the run: an incremental run's tests read the rows it wrote, the daily full build whole tables.

The dbt side runs `dbt test` in a project of two tiny incremental marts, fct_sessions and fct_events (stamped with
dbt_updated_at), built in a tmp dir around the real project's macros, generic tests, vars, hooks and profile, so
dbt parses a handful of files instead of the whole project; the warehouse holds just those tables, a few rows
each, with watermarks recorded. A bad row at its model's watermark (tested and passed, as far as the watermark
knows) is invisible to the sized tests and fails the whole-table ones; a new row repeating an old key fails both,
and keeps its model's watermark where it was, so the next run tests it again, while the model whose tests all
passed moves on to its newest stamp.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml

from core import dbt_launcher
from core.dbt_cli import dbt_env_file, run_dbt
from core.settings import DBT_PROJECT_DIR, Settings, get_settings
from orchestration.assets.dbt import TESTS_SCOPE_VARIABLE, add_dbt_env, scope_of_tests
from orchestration.automation import FULL_REFRESH_TAG, WHOLE_TABLE_CHECKS_TAG, daily_full_build
from orchestration.checks import RAW_SUITES
from tests.conftest import settings_for

SESSIONS, EVENTS = "model.email_warehouse.fct_sessions", "model.email_warehouse.fct_events"
IN_RANGE = "test.email_warehouse.in_range_fct_sessions_duration_seconds__0"
SESSION_UNIQUE = "test.email_warehouse.unique_fct_sessions_session_key"
EVENT_UNIQUE = "test.email_warehouse.unique_fct_events_message_id"
"""Tests of the two marts, by unique_id without dbt's hash suffix."""

WATERMARK = "2026-12-01 10:00:00"
OLD, NEW = f"TIMESTAMP '{WATERMARK}'", f"TIMESTAMP '{WATERMARK}' + INTERVAL 1 HOUR"

MARTS_YAML = DBT_PROJECT_DIR / "models" / "marts" / "core" / "_core__models.yml"
MARTS = {
    "fct_sessions": ["session_key", "duration_seconds", "dbt_updated_at"],
    "fct_events": ["message_id", "session_key", "dbt_updated_at"],
}
"""The columns of the two marts the tiny project keeps, declared (tests included) as in MARTS_YAML."""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A dbt project named like the real one, reading its macros, generic tests and profile (symlinks) and taking
    its vars and run hooks from its dbt_project.yml, and two marts as tiny incremental models with some of their
    real columns and those columns' real tests."""
    real = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    project = tmp_path / "dbt_project"
    (project / "models").mkdir(parents=True)
    (project / "tests").mkdir()
    (project / "macros").symlink_to(DBT_PROJECT_DIR / "macros", target_is_directory=True)
    (project / "tests" / "generic").symlink_to(DBT_PROJECT_DIR / "tests" / "generic", target_is_directory=True)
    (project / "profiles.yml").symlink_to(DBT_PROJECT_DIR / "profiles.yml")
    config = {key: real[key] for key in ("name", "profile", "vars", "on-run-start", "on-run-end", "flags")}
    config |= {"version": "1.0.0", "models": {real["name"]: {"+schema": "marts", "+materialized": "incremental"}}}
    (project / "dbt_project.yml").write_text(yaml.safe_dump(config))
    declared = {model["name"]: model for model in yaml.safe_load(MARTS_YAML.read_text())["models"]}
    models = []
    for name, kept in MARTS.items():
        columns = [column for column in declared[name]["columns"] if column["name"] in kept]
        (project / "models" / f"{name}.sql").write_text(
            "select " + ", ".join(f"null as {column['name']}" for column in columns)
        )
        models.append({"name": name, "columns": columns})
    (project / "models" / "_marts.yml").write_text(yaml.safe_dump({"version": 2, "models": models}))
    return project


@pytest.fixture
def warehouse(tmp_path: Path) -> Settings:
    """fct_sessions and fct_events with the columns their tests read, and both marts' watermarks.

    Sessions: `old` (a negative duration, stamped at the watermark) and `new` (good, an hour later). Events:
    `m1` at the watermark and, an hour later, `m1` again: a new row repeating an old key.
    """
    settings = get_settings(settings_for(tmp_path))
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as connection:
        connection.execute(f"""
            CREATE SCHEMA marts;
            CREATE TABLE marts.fct_sessions AS
                SELECT * FROM (VALUES ('old', -1, {OLD}), ('new', 60, {NEW}))
                AS sessions(session_key, duration_seconds, dbt_updated_at);
            CREATE TABLE marts.fct_events AS
                SELECT * FROM (VALUES ('m1', 'new', {OLD}), ('m1', 'new', {NEW}))
                AS events(message_id, session_key, dbt_updated_at);
            CREATE SCHEMA dbt_tests;
            CREATE TABLE dbt_tests.tested_through AS
                SELECT * FROM (VALUES ('{SESSIONS}', 'dbt_updated_at', '{WATERMARK}', {OLD}),
                                      ('{EVENTS}', 'dbt_updated_at', '{WATERMARK}', {OLD}))
                AS state(model, stamp_column, tested_through, recorded_at);
        """)
    return settings


def dbt_test(project: Path, settings: Settings, scope: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """`dbt test` of the project with WAREHOUSE_TESTS_SCOPE=`scope`; each test's status by its unique_id without
    the hash suffix. Both invocations share a target dir: the second reuses the first's parse."""
    monkeypatch.setenv(TESTS_SCOPE_VARIABLE, scope)
    target = settings.warehouse_path.parent / "dbt_target"
    run_dbt(["test"], settings, project_dir=project, target_path=target, check=False)
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {result["unique_id"].rsplit(".", 1)[0]: result["status"] for result in results}


def watermarks(settings: Settings) -> dict[str, str]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return dict(connection.execute("SELECT model, tested_through FROM dbt_tests.tested_through").fetchall())


def test_incremental_tests_read_the_new_rows_and_the_full_build_every_row(
    project: Path, warehouse: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sized = dbt_test(project, warehouse, "rows_written", monkeypatch)
    assert (sized[IN_RANGE], sized[SESSION_UNIQUE]) == ("pass", "pass"), "the old bad session is not this run's"
    assert sized[EVENT_UNIQUE] == "fail", "the new event is compared with every row of its key"
    assert watermarks(warehouse) == {
        SESSIONS: "2026-12-01 11:00:00",  # every test passed: the newest stamp
        EVENTS: WATERMARK,  # a test failed: the next run tests the same rows again
    }

    whole = dbt_test(project, warehouse, "whole_tables", monkeypatch)
    assert (whole[IN_RANGE], whole[SESSION_UNIQUE], whole[EVENT_UNIQUE]) == ("fail", "pass", "fail")


def test_only_the_daily_full_build_and_full_refreshes_read_whole_tables() -> None:
    assert scope_of_tests({}) == "rows_written"
    assert scope_of_tests(daily_full_build.tags) == "whole_tables"
    assert scope_of_tests({WHOLE_TABLE_CHECKS_TAG: "true"}) == "whole_tables"
    assert scope_of_tests({FULL_REFRESH_TAG: "true"}) == "whole_tables"


def test_the_scope_reaches_the_dbt_the_asset_starts(tmp_path: Path) -> None:
    settings = get_settings(settings_for(tmp_path))
    with dbt_env_file(tmp_path, settings) as env_file:
        add_dbt_env(env_file, {TESTS_SCOPE_VARIABLE: "rows_written"})
        assert env_file.stat().st_mode & 0o077 == 0
        env = dbt_launcher.take_env(str(tmp_path))
    assert env[TESTS_SCOPE_VARIABLE] == "rows_written"
    assert env["WAREHOUSE_PATH"] == str(settings.warehouse_path)


def test_raw_suites_judge_the_rows_of_this_runs_loads() -> None:
    suite = next(s for s in RAW_SUITES if s.asset == ["raw_analytics", "events"])
    with duckdb.connect() as connection:
        connection.execute("CREATE SCHEMA raw_analytics")
        connection.execute("""
            CREATE TABLE raw_analytics.events AS
            SELECT * FROM (VALUES ('old', TIMESTAMP '2999-01-01', '1700000000.5'),
                                  ('new', now()::TIMESTAMP, '1800000000.25'))
                AS events(message_id, received_at, _dlt_load_id)
        """)
        sized = connection.execute(suite.rows_sql("1750000000.000000")).fetchall()
        whole = connection.execute(suite.rows_sql(None)).fetchall()
    assert [row[0] for row in sized] == ["new"]
    assert sorted(row[0] for row in whole) == ["new", "old"]
