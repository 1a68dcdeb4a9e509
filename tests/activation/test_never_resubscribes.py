"""The sync never asks the ESP to re-subscribe anyone: a member who unsubscribed at Mailchimp before the
warehouse heard of it keeps that status, and the sync neither fails on them nor changes it."""

from __future__ import annotations

from activation.config import DestinationConfig
from activation.sync import sync
from core.http import RetryPolicy
from core.settings import Settings
from tests.fakes.mailchimp import FakeMailchimp, make_profile, write_serving


def test_a_member_unsubscribed_at_the_esp_is_updated_but_stays_unsubscribed(isolated_env: Settings) -> None:
    profiles = [make_profile(1), make_profile(2)]
    write_serving(isolated_env.serving_path, profiles, [])
    with FakeMailchimp() as fake:
        fake.add_member(profiles[0]["email"], "unsubscribed")  # before the warehouse loaded the webhook
        config = DestinationConfig("esp", fake.base_url, fake.list_id, fake.api_key)
        result = sync("esp", "upsert", settings=isolated_env, config=config, retry=RetryPolicy(max_attempts=1))

    assert not result.failed
    assert all("status" not in item for batch in fake.batch_calls() for item in batch)
    assert fake.member(profiles[0]["email"]).status == "unsubscribed"
    assert fake.member(profiles[1]["email"]).status == "subscribed"
