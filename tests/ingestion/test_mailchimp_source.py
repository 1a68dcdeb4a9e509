"""The mailchimp source: members merged on the subscriber hash (every status kept), email activity one row per
action and once per action, from landing files and from the fake Mailchimp API with its cursors."""

from __future__ import annotations

import json

import pytest

from core.settings import Settings
from ingestion.pipelines import load, loading, make_pipeline
from ingestion.sources.mailchimp import mailchimp_source
from ingestion.sources.mailchimp.activity import unnest_actions
from privacy.ledger import ErasureLedger
from tests.fakes.mailchimp import FakeMailchimp, subscriber_hash
from tests.ingestion.records import rows, write_jsonl

API_KEY = "test-key-us1"


def _member(email: str, status: str, last_changed: str, **extra: object) -> dict:
    return {
        "id": subscriber_hash(email),
        "email_address": email,
        "status": status,
        "merge_fields": {"FNAME": "Ada", "LNAME": "", "ADDRESS": ""},
        "timestamp_signup": "",
        "last_changed": last_changed,
        "list_id": "aud1",
        **extra,
    }


def _report(campaign_id: str, emails: dict[str, list[dict]]) -> dict:
    """An email-activity report page as the API answers it (the campaign id only on the envelope here)."""
    return {
        "emails": [
            {"list_id": "aud1", "email_id": subscriber_hash(e), "email_address": e, "activity": actions}
            for e, actions in emails.items()
        ],
        "campaign_id": campaign_id,
        "total_items": len(emails),
    }


def test_unnesting_gives_one_record_per_action_with_an_id_that_does_not_change_between_reads() -> None:
    opened = {"action": "open", "timestamp": "2026-11-02T10:00:00+00:00"}
    clicked = {"action": "click", "timestamp": "2026-11-02T10:01:00+00:00", "url": "https://shop.example/a"}
    report = _report("c1", {"a@example.com": [opened, clicked], "b@example.com": []})

    first = unnest_actions(report, report["emails"])
    again = unnest_actions(json.loads(json.dumps(report)), json.loads(json.dumps(report["emails"])))

    assert [(r["campaign_id"], r["email_address"], r["activity"]["action"]) for r in first] == [
        ("c1", "a@example.com", "open"),
        ("c1", "a@example.com", "click"),
    ]
    assert len({r["id"] for r in first}) == 2
    assert [r["id"] for r in first] == [r["id"] for r in again]


def test_files_keep_every_status_quarantine_a_bad_member_and_load_an_action_once(settings: Settings) -> None:
    write_jsonl(
        settings,
        "mailchimp/members/part-1.jsonl",
        [
            _member("ada@example.com", "subscribed", "2026-11-01T08:00:00+00:00"),
            _member("bob@example.com", "cleaned", "2026-11-01T08:00:00+00:00"),
            _member("cy@example.com", "pending", "yesterday"),
        ],
    )
    bounce = {"action": "bounce", "type": "hard", "timestamp": "2026-11-02T09:00:00+00:00"}
    opened = {"action": "open", "timestamp": "2026-11-02T10:00:00+00:00"}
    report = _report("c1", {"ada@example.com": [opened], "bob@example.com": [bounce]})
    activity = settings.landing_dir / "mailchimp" / "email_activity"
    activity.mkdir(parents=True)
    (activity / "c1-page-1.json").write_text(json.dumps(report))
    load(["mailchimp"], settings)

    # Ada unsubscribes later; the report is saved a second time, and holds one new click
    write_jsonl(
        settings,
        "mailchimp/members/part-2.jsonl",
        [_member("ada@example.com", "unsubscribed", "2026-11-03T08:00:00+00:00", unsubscribe_reason="spam")],
    )
    clicked = {"action": "click", "timestamp": "2026-11-02T10:01:00+00:00", "url": "https://shop.example/a"}
    report["emails"][0]["activity"].append(clicked)
    (activity / "c1-page-1-again.json").write_text(json.dumps(report))
    summary = load(["mailchimp"], settings)

    assert rows(settings, "SELECT email_address, status FROM raw_mailchimp.members ORDER BY 1") == [
        ("ada@example.com", "unsubscribed"),
        ("bob@example.com", "cleaned"),
    ]
    [(reason,)] = rows(settings, "SELECT reason FROM raw_mailchimp.quarantine WHERE resource = 'members'")
    assert "last_changed: yesterday is not a timestamp" in reason
    assert rows(
        settings, "SELECT email_address, action, type FROM raw_mailchimp.email_activity ORDER BY timestamp"
    ) == [("bob@example.com", "bounce", "hard"), ("ada@example.com", "open", None), ("ada@example.com", "click", None)]
    assert summary.table("mailchimp", "email_activity").loaded == 1


def _run_api(settings: Settings) -> None:
    with loading(settings) as connection:
        pipeline = make_pipeline("mailchimp", settings, connection)
        pipeline.run(mailchimp_source(transport="api", settings=settings), loader_file_format="parquet")


def test_api_second_run_asks_since_the_cursors_and_merges_an_unsubscribe(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeMailchimp(api_key=API_KEY) as api:
        monkeypatch.setenv("SOURCES__MAILCHIMP__BASE_URL", api.base_url)
        monkeypatch.setenv("SOURCES__MAILCHIMP__LIST_ID", api.list_id)
        monkeypatch.setenv("SOURCES__MAILCHIMP__API_KEY", API_KEY)
        api.add_member("ada@example.com", last_changed="2026-11-01T08:00:00+00:00")
        api.add_member("bob@example.com", "cleaned", last_changed="2026-11-01T09:00:00+00:00")
        api.add_action("c1", "ada@example.com", "open", "2026-11-02T10:00:00+00:00")
        _run_api(settings)

        api.requests.clear()
        api.unsubscribe("ada@example.com")
        api.add_action("c1", "ada@example.com", "click", "2026-11-02T11:00:00+00:00", url="https://shop.example/a")
        _run_api(settings)

    members_call = next(r for r in api.requests if r.path.endswith("/members"))
    assert members_call.param("since_last_changed") == "2026-11-01T09:00:00+00:00"
    activity_call = next(r for r in api.requests if r.path.endswith("/email-activity"))
    assert activity_call.param("since") == "2026-11-02T10:00:00+00:00"
    assert rows(settings, "SELECT email_address, status FROM raw_mailchimp.members ORDER BY 1") == [
        ("ada@example.com", "unsubscribed"),
        ("bob@example.com", "cleaned"),
    ]
    assert rows(settings, "SELECT action FROM raw_mailchimp.email_activity ORDER BY timestamp") == [
        ("open",),
        ("click",),
    ]


def test_the_lines_of_an_erased_person_are_never_loaded(settings: Settings) -> None:
    ErasureLedger(settings).record([("email", "ada@example.com")])
    write_jsonl(
        settings,
        "mailchimp/members/part-1.jsonl",
        [
            _member("Ada@Example.com", "subscribed", "2026-11-01T08:00:00+00:00"),
            _member("bob@example.com", "subscribed", "2026-11-01T08:00:00+00:00"),
        ],
    )
    opened = {"action": "open", "timestamp": "2026-11-02T10:00:00+00:00"}
    activity = settings.landing_dir / "mailchimp" / "email_activity"
    activity.mkdir(parents=True)
    (activity / "c1.json").write_text(json.dumps(_report("c1", {"ada@example.com": [opened]})))
    write_jsonl(
        settings,
        "mailchimp/webhook_events/events-1.jsonl",
        [
            {
                "id": "mc-1",
                "type": "upemail",
                "fired_at": "2026-11-02 10:00:00",
                "data": {"old_email": "ada@example.com"},
            }
        ],
    )
    load(["mailchimp"], settings)

    assert rows(settings, "SELECT email_address FROM raw_mailchimp.members") == [("bob@example.com",)]
    assert rows(settings, "SELECT count(*) FROM raw_mailchimp.email_activity") == [(0,)]
    assert rows(settings, "SELECT count(*) FROM raw_mailchimp.webhook_events") == [(0,)]
    assert rows(settings, "SELECT count(*) FROM raw_mailchimp.quarantine") == [(0,)]
