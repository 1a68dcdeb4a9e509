"""Mailchimp's webhooks beside the Segment endpoints: form bodies, a secret in the URL, durable and exactly once
in raw_mailchimp.webhook_events, quarantined with a reason when the loader cannot type them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from collector import CollectorServer, make_server
from collector.mailchimp_webhook import EVENTS_SUBDIR, parse_form
from collector.messages import Rejection
from core.settings import Settings
from ingestion.pipelines import load
from tests.ingestion.records import rows

SECRET = "s3cret-in-the-url"
TIMEOUT = 10
UNSUBSCRIBE = {
    "type": "unsubscribe",
    "fired_at": "2026-11-02 10:00:00",
    "data[action]": "unsub",
    "data[reason]": "manual",
    "data[id]": "8a25ff1d98",
    "data[email]": "ada@example.com",
    "data[list_id]": "aud1",
    "data[merges][FNAME]": "Ada",
}


@pytest.fixture
def server(settings: Settings) -> Iterator[CollectorServer]:
    collector = make_server("127.0.0.1", 0, settings.landing_dir, "write-key", mailchimp_secret=SECRET)
    collector.serve_in_background()
    try:
        yield collector
    finally:
        collector.stop()


def _post(server: CollectorServer, form: dict[str, str] | None, secret: str = SECRET) -> requests.Response:
    url = f"{server.url}/mailchimp/webhook?secret={secret}"
    return requests.post(url, data=form, timeout=TIMEOUT)  # form-encoded, as Mailchimp posts


def _stored(landing: Path) -> list[dict]:
    return [json.loads(line) for p in sorted((landing / EVENTS_SUBDIR).glob("*.jsonl")) for line in p.open()]


def test_form_fields_nest_as_mailchimp_names_them_and_a_key_both_value_and_object_is_refused() -> None:
    assert parse_form(b"type=profile&data%5Bmerges%5D%5BFNAME%5D=Ada&data%5Bemail%5D=a%40x.io") == {
        "type": "profile",
        "data": {"merges": {"FNAME": "Ada"}, "email": "a@x.io"},
    }
    with pytest.raises(Rejection) as refused:
        parse_form(b"data=1&data%5Bemail%5D=a%40x.io")
    assert refused.value.status == 400


def test_a_wrong_secret_is_refused_and_mailchimps_url_checks_are_answered(server: CollectorServer) -> None:
    assert _post(server, UNSUBSCRIBE, secret="guess").status_code == 401
    assert requests.get(f"{server.url}/mailchimp/webhook?secret=guess", timeout=TIMEOUT).status_code == 401
    assert requests.get(f"{server.url}/mailchimp/webhook?secret={SECRET}", timeout=TIMEOUT).status_code == 200
    assert _post(server, None).status_code == 200  # the empty POST of the URL check stores nothing
    as_json = requests.post(f"{server.url}/mailchimp/webhook?secret={SECRET}", json=UNSUBSCRIBE, timeout=TIMEOUT)
    assert as_json.status_code == 415
    assert _stored(server.events_dir.parents[1]) == []


def test_a_retried_webhook_lands_once_and_a_bad_time_is_quarantined_with_its_reason(
    server: CollectorServer, settings: Settings
) -> None:
    assert _post(server, UNSUBSCRIBE).status_code == 200
    assert _post(server, UNSUBSCRIBE).status_code == 200  # Mailchimp's retry of an answer it did not get
    assert _post(server, {**UNSUBSCRIBE, "type": "cleaned", "fired_at": "tomorrow"}).status_code == 200
    segment = requests.post(f"{server.url}/v1/track", json={}, auth=("write-key", ""), timeout=TIMEOUT)
    assert segment.status_code == 400  # the Segment endpoints are still there, judging as before
    stored = _stored(settings.landing_dir)
    assert len(stored) == 3 and stored[0]["id"] == stored[1]["id"]

    load(["mailchimp"], settings)

    assert rows(settings, "SELECT type, fired_at, data__email, data__reason FROM raw_mailchimp.webhook_events") == [
        ("unsubscribe", datetime(2026, 11, 2, 10, tzinfo=UTC), "ada@example.com", "manual")
    ]
    [(reason,)] = rows(settings, "SELECT reason FROM raw_mailchimp.quarantine WHERE resource = 'webhook_events'")
    assert "fired_at: tomorrow is not a timestamp" in reason
