"""Checks sized to the run: an incremental run's tests read the rows it wrote, the daily full build whole tables.

The dbt side runs `dbt test` of two incremental marts, fct_sessions and fct_events (stamped with dbt_updated_at),
on a warehouse holding just those tables and dim_date, a few rows each, with watermarks recorded: a bad row at its
model's watermark (tested and passed, as far as the watermark knows) is invisible to the sized tests and fails the
whole-table ones; a new row repeating an old key fails both, and keeps its model's watermark where it was, so the
next run tests it again, while the model whose tests all passed moves on to its newest stamp.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from core import dbt_launcher
from core.dbt_cli import dbt_env_file, run_dbt
from core.settings import Settings, get_settings
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


@pytest.fixture
def warehouse(tmp_path: Path) -> Settings:
    """fct_sessions, fct_events and dim_date with the columns their tests read, and both marts' watermarks.

    Sessions: `old` (a negative duration, stamped at the watermark) and `new` (good, an hour later). Events:
    `m1` at the watermark and, an hour later, `m1` again: a new row repeating an old key.
    """
    settings = get_settings(settings_for(tmp_path))
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as connection:
        connection.execute(f"""
            CREATE SCHEMA marts;
            CREATE TABLE marts.dim_date AS SELECT DATE '2026-12-01' AS date_day, 2 AS iso_day_of_week;
            CREATE TABLE marts.fct_sessions AS
                SELECT * FROM (VALUES ('old', DATE '2026-12-01', -1, {OLD}), ('new', DATE '2026-12-01', 60, {NEW}))
                AS sessions(session_key, session_date, duration_seconds, dbt_updated_at);
            CREATE TABLE marts.fct_events AS
                SELECT * FROM (VALUES ('m1', 'new', DATE '2026-12-01', {OLD}), ('m1', 'new', DATE '2026-12-01', {NEW}))
                AS events(message_id, session_key, event_date, dbt_updated_at);
            CREATE SCHEMA dbt_tests;
            CREATE TABLE dbt_tests.tested_through AS
                SELECT * FROM (VALUES ('{SESSIONS}', 'dbt_updated_at', '{WATERMARK}', {OLD}),
                                      ('{EVENTS}', 'dbt_updated_at', '{WATERMARK}', {OLD}))
                AS state(model, stamp_column, tested_through, recorded_at);
        """)
    return settings


def dbt_test(settings: Settings, scope: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """`dbt test` of the two marts and dim_date (their tests only) with WAREHOUSE_TESTS_SCOPE=`scope`; each test's
    status by its unique_id without the hash suffix."""
    monkeypatch.setenv(TESTS_SCOPE_VARIABLE, scope)
    target = settings.warehouse_path.parent / "dbt_target"
    selection = ["--select", "fct_sessions", "fct_events", "dim_date", "--indirect-selection", "cautious"]
    run_dbt(["test", *selection], settings, target_path=target, check=False)
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {result["unique_id"].rsplit(".", 1)[0]: result["status"] for result in results}


def watermarks(settings: Settings) -> dict[str, str]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return dict(connection.execute("SELECT model, tested_through FROM dbt_tests.tested_through").fetchall())


def test_incremental_tests_read_the_new_rows_and_the_full_build_every_row(
    warehouse: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sized = dbt_test(warehouse, "rows_written", monkeypatch)
    assert (sized[IN_RANGE], sized[SESSION_UNIQUE]) == ("pass", "pass"), "the old bad session is not this run's"
    assert sized[EVENT_UNIQUE] == "fail", "the new event is compared with every row of its key"
    assert watermarks(warehouse) == {
        SESSIONS: "2026-12-01 11:00:00",  # every test passed: the newest stamp
        EVENTS: WATERMARK,  # a test failed: the next run tests the same rows again
    }

    whole = dbt_test(warehouse, "whole_tables", monkeypatch)
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
