"""The helpdesk's raw checks: a ticket status Zendesk does not have, and a comment the load left unscored."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingestion.sources.helpdesk.sentiment import score_new_comments
from orchestration.checks import RAW_SUITES, build_check
from orchestration.resources import WarehouseResource


@pytest.fixture
def warehouse(tmp_path: Path) -> WarehouseResource:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("CREATE SCHEMA raw_helpdesk")
        con.execute("CREATE TABLE raw_helpdesk.tickets (id BIGINT, status VARCHAR, updated_at TIMESTAMPTZ, "
                    "_dlt_load_id VARCHAR)")  # fmt: skip
        con.execute("CREATE TABLE raw_helpdesk.ticket_comments (id BIGINT, ticket_id BIGINT, author_id BIGINT, "
                    "body VARCHAR, _dlt_load_id VARCHAR)")  # fmt: skip
    return WarehouseResource(warehouse_path=str(tmp_path / "warehouse.duckdb"), serving_path=str(tmp_path / "s.duckdb"))


def _suite(asset: str, name: str):  # noqa: ANN202 - a Suite
    return next(s for s in RAW_SUITES if "/".join(s.asset) == asset and s.name == name)


def test_a_ticket_status_zendesk_does_not_have_fails_the_status_check(warehouse: WarehouseResource) -> None:
    with duckdb.connect(str(warehouse.warehouse)) as con:
        con.execute("INSERT INTO raw_helpdesk.tickets VALUES (1, 'open', now(), '1'), (2, 'escalated', now(), '1')")

    result = build_check(_suite("raw_helpdesk/tickets", "known_ticket_statuses"))(warehouse=warehouse)

    assert not result.passed and "1 of 2 rows" in result.description


def test_comments_fail_the_scored_check_until_the_load_scores_them(warehouse: WarehouseResource) -> None:
    check = build_check(_suite("raw_helpdesk/ticket_comments", "every_comment_scored"))
    with duckdb.connect(str(warehouse.warehouse)) as con:
        con.execute("INSERT INTO raw_helpdesk.ticket_comments VALUES (1, 7, 3, 'Great, thanks!', '1')")
        con.execute("CREATE TABLE raw_helpdesk.ticket_comments__sentiment (comment_id BIGINT, compound DOUBLE)")

    unscored = check(warehouse=warehouse)
    with duckdb.connect(str(warehouse.warehouse)) as con:
        con.execute("DROP TABLE raw_helpdesk.ticket_comments__sentiment")
        score_new_comments(con)
    scored = check(warehouse=warehouse)

    assert not unscored.passed and scored.passed
