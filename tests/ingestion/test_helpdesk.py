"""The Zendesk helpdesk source: the export client against the fake, and loads from files and from the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from core.http import ApiError
from core.settings import Settings
from ingestion.pipelines import load, loading, make_pipeline
from ingestion.sources.helpdesk import helpdesk_source
from ingestion.sources.helpdesk.sentiment import score_new_comments
from ingestion.sources.helpdesk.zendesk_api import iter_export, start_time
from tests.fakes.zendesk import EMAIL, TOKEN, FakeZendesk, make_comment, make_ticket, make_user
from tests.ingestion.records import rows, write_jsonl

START = datetime(2025, 3, 1, tzinfo=UTC)


def _export(api: FakeZendesk, resource: str, since: datetime | None = None, **kwargs: object) -> list[dict]:
    pages = iter_export(api.base_url, EMAIL, TOKEN, resource, since, **kwargs)
    return [item for page in pages for item in page]


def test_cursor_export_pages_to_end_of_stream_and_resumes_from_start_time() -> None:
    users = [make_user(i, START + timedelta(hours=i)) for i in range(5)]
    with FakeZendesk(users, [], [], page_size=2) as api:
        everyone = _export(api, "users")
        first = api.requests[0]
        later = _export(api, "users", START + timedelta(hours=3))

    assert [u["id"] for u in everyone] == [u["id"] for u in users]
    assert (first.path, first.param("start_time")) == ("/api/v2/incremental/users/cursor.json", "0")
    assert [u["id"] for u in later] == [users[3]["id"], users[4]["id"]]


def test_time_based_export_follows_next_page_and_repeats_items_at_the_boundary() -> None:
    tickets = [make_ticket(i, START + timedelta(hours=i // 2), requester_id=1) for i in range(1, 6)]
    with FakeZendesk([], tickets, [], page_size=3) as api:
        exported = _export(api, "tickets", method="time")

    assert {t["id"] for t in exported} == {1, 2, 3, 4, 5}
    assert len(exported) > 5, "Zendesk's time-based export repeats the items sharing a page's end_time"
    assert api.requests[1].param("start_time") == str(int((START + timedelta(hours=1)).timestamp()))


def test_comments_come_from_ticket_events_in_the_comments_shape_with_their_ticket() -> None:
    comment = make_comment(1, ticket_id=7, author_id=360_001, created=START, body="Where is my parcel?")
    with FakeZendesk([], [], [comment]) as api:
        [exported] = _export(api, "ticket_comments")
        request = api.requests[0]

    assert (request.path, request.param("include")) == ("/api/v2/incremental/ticket_events.json", "comment_events")
    assert exported["id"] == comment["id"] and exported["ticket_id"] == 7
    assert (exported["body"], exported["author_id"], exported["created_at"]) == (
        "Where is my parcel?",
        360_001,
        comment["created_at"],
    )
    assert exported["type"] == "Comment" and "event_type" not in exported


def test_a_cursor_younger_than_a_minute_asks_from_a_minute_ago() -> None:
    now = datetime(2025, 3, 1, 12, 0, 30, tzinfo=UTC)
    assert start_time(now - timedelta(seconds=5), now) == int((now - timedelta(minutes=1)).timestamp())
    assert start_time(now - timedelta(hours=1), now) == int((now - timedelta(hours=1)).timestamp())
    assert start_time(None, now) == 0


def test_wrong_credentials_fail_with_the_status_named() -> None:
    with FakeZendesk([], [], []) as api, pytest.raises(ApiError) as failure:
        list(iter_export(api.base_url, EMAIL, "wrong", "users"))
    assert failure.value.status == 401


def test_landing_files_load_deleted_records_flagged_and_bad_lines_quarantined(settings: Settings) -> None:
    requester = make_user(1, START)
    gone = make_user(2, START, active=False)
    tickets = [
        make_ticket(10, START, requester["id"], satisfaction_rating={"score": "bad", "comment": "slow"}),
        make_ticket(11, START, requester["id"], status="deleted"),
        {**make_ticket(12, START, requester["id"]), "updated_at": "yesterday"},
    ]
    comment = make_comment(1, 10, requester["id"], START, "Mijn pakket is niet aangekomen")
    write_jsonl(settings, "helpdesk/users/users-0001.jsonl", [requester, gone])
    write_jsonl(settings, "helpdesk/tickets/tickets-0001.jsonl", tickets)
    published = settings.landing_dir / "helpdesk/ticket_comments/comments-0001.json"  # one API response
    published.parent.mkdir(parents=True)
    published.write_text(json.dumps({"comments": [comment], "next_page": None, "count": 1}))

    summary = load(["helpdesk"], settings)

    assert rows(settings, "SELECT id, active FROM raw_helpdesk.users ORDER BY id") == [
        (requester["id"], True),
        (gone["id"], False),
    ]
    assert rows(
        settings, "SELECT id, status, satisfaction_rating__score, tags FROM raw_helpdesk.tickets ORDER BY id"
    ) == [(10, "open", "bad", '["order"]'), (11, "deleted", "unoffered", '["order"]')]
    assert rows(settings, "SELECT resource, reason FROM raw_helpdesk.quarantine") == [
        ("tickets", "updated_at: yesterday is not a timestamp")
    ]
    assert rows(settings, "SELECT id, ticket_id, body FROM raw_helpdesk.ticket_comments") == [
        (comment["id"], 10, "Mijn pakket is niet aangekomen")
    ]
    assert summary.table("helpdesk", "tickets").quarantined == 1
    assert rows(settings, "SELECT comment_id, ticket_id FROM raw_helpdesk.ticket_comments__sentiment") == [
        (comment["id"], 10)
    ]


@contextmanager
def _zendesk(api_data: tuple[list, list, list], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeZendesk]:
    """A fake Zendesk, and the helpdesk source configured for it as dlt reads it: from the environment."""
    with FakeZendesk(*api_data) as api:
        monkeypatch.setenv("SOURCES__HELPDESK__BASE_URL", api.base_url)
        monkeypatch.setenv("SOURCES__HELPDESK__EMAIL", EMAIL)
        monkeypatch.setenv("SOURCES__HELPDESK__TOKEN", TOKEN)
        yield api


def _run(settings: Settings) -> None:
    with loading(settings) as connection:
        pipeline = make_pipeline("helpdesk", settings, connection)
        pipeline.run(helpdesk_source(transport="api", settings=settings), loader_file_format="parquet")


def test_api_second_run_exports_from_the_cursor_and_merges_changes_and_deletes(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = [make_user(1, START)]
    tickets = [make_ticket(10, START, users[0]["id"]), make_ticket(11, START + timedelta(hours=1), users[0]["id"])]
    comments = [make_comment(1, 10, users[0]["id"], START, "Thanks, great help!")]
    with _zendesk((users, tickets, comments), monkeypatch) as api:
        _run(settings)
        tickets[0] = make_ticket(10, START + timedelta(days=1), users[0]["id"], status="deleted")
        comments.append(make_comment(2, 11, users[0]["id"], START + timedelta(days=1), "Still waiting."))
        api.requests.clear()

        _run(settings)

    asked = {r.path: r.param("start_time") for r in api.requests if r.param("start_time")}
    assert asked["/api/v2/incremental/tickets/cursor.json"] == str(int((START + timedelta(hours=1)).timestamp()))
    assert asked["/api/v2/incremental/ticket_events.json"] == str(int(START.timestamp()))
    assert rows(settings, "SELECT id, status FROM raw_helpdesk.tickets ORDER BY id") == [(10, "deleted"), (11, "open")]
    assert rows(settings, "SELECT id, ticket_id FROM raw_helpdesk.ticket_comments ORDER BY id") == [
        (900_001, 10),
        (900_002, 11),
    ]


def _comments_table(con: duckdb.DuckDBPyConnection, comments: list[tuple[int, str]]) -> None:
    con.execute("create schema if not exists raw_helpdesk")
    con.execute(
        "create or replace table raw_helpdesk.ticket_comments "
        "(id bigint, ticket_id bigint, author_id bigint, body varchar)"
    )
    con.executemany("insert into raw_helpdesk.ticket_comments values (?, 7, 1, ?)", comments)


def test_comments_are_scored_once_and_again_when_their_body_changes_or_they_are_gone() -> None:
    con = duckdb.connect()
    _comments_table(con, [(1, "Worst support ever, I am very disappointed."), (2, "Thanks so much, great help!")])
    assert score_new_comments(con) == 2
    assert score_new_comments(con) == 0, "scored comments are not scored again"
    compound = dict(con.execute("select comment_id, compound from raw_helpdesk.ticket_comments__sentiment").fetchall())
    assert compound[1] < -0.5 < 0.5 < compound[2]

    _comments_table(con, [(1, "[redacted]")])
    assert score_new_comments(con) == 1
    assert con.execute("select comment_id, compound from raw_helpdesk.ticket_comments__sentiment").fetchall() == [
        (1, 0.0)
    ]


def test_no_comments_table_scores_nothing() -> None:
    assert score_new_comments(duckdb.connect()) == 0
