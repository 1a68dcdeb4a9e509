"""Issue 29's consent loop end to end: a person unsubscribes at the ESP (Mailchimp posts the webhook, as a spam
complaint) and another's address is cleaned; the load and the graph run; the published profile says no consent
(source mailchimp, at the webhook's time) and the cleaned address is suppressed; the sync sends neither of them
anything, and everyone else as before.

Built on a copy of the session's demo warehouse: only the models between the webhooks and activation.profiles
run again, as a run after the load would rebuild them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import requests

from activation.config import DestinationConfig
from activation.sync import SyncResult, sync
from collector import make_server
from core.dbt_cli import run_dbt
from core.http import RetryPolicy
from core.settings import Settings, get_settings
from ingestion.pipelines import load
from serving.publish import publish_schemas
from tests.conftest import BuiltWarehouse, settings_for
from tests.fakes.mailchimp import FakeMailchimp, subscriber_hash

pytestmark = pytest.mark.slow  # one dbt run of the models between the webhooks and activation

SECRET = "loop-secret"
FIRED_AT = datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Loop:
    settings: Settings
    unsubscribed: tuple[str, str]
    """(customer_id, email) of the person who reported spam at the ESP."""
    cleaned: tuple[str, str]
    """(customer_id, email) of the person whose address Mailchimp cleaned."""
    result: SyncResult
    fake: FakeMailchimp

    def serving(self, sql: str, *params: object) -> list[tuple]:
        with duckdb.connect(str(self.settings.serving_path), read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()


def _consented_with_known_email(warehouse: Path) -> list[tuple[str, str]]:
    """Two consented profiles whose email ties them to one person for the ESP (int_esp_emails_identified)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("""
            select profiles.customer_id, profiles.email
            from activation.profiles as profiles
            inner join intermediate.int_esp_emails_identified as emails
                on emails.customer_id = profiles.customer_id and emails.email_key = profiles.email
            where profiles.email_consent
            order by profiles.customer_id
            limit 2
        """).fetchall()


def _post_webhooks(settings: Settings, forms: list[dict[str, str]]) -> None:
    server = make_server("127.0.0.1", 0, settings.landing_dir, "write-key", mailchimp_secret=SECRET)
    server.serve_in_background()
    try:
        for form in forms:
            answer = requests.post(f"{server.url}/mailchimp/webhook?secret={SECRET}", data=form, timeout=10)
            assert answer.status_code == 200, answer.text
    finally:
        server.stop()


def _webhook(kind: str, email: str, reason: str) -> dict[str, str]:
    return {
        "type": kind,
        "fired_at": FIRED_AT.strftime("%Y-%m-%d %H:%M:%S"),
        "data[id]": subscriber_hash(email),
        "data[email]": email.upper(),  # as the member typed it: the loop must not depend on its case
        "data[list_id]": "aud1",
        "data[reason]": reason,
        **({"data[action]": "unsub"} if kind == "unsubscribe" else {}),
    }


@pytest.fixture(scope="module")
def loop(built_warehouse: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory) -> Loop:
    root = tmp_path_factory.mktemp("esp_consent_loop")
    with pytest.MonkeyPatch.context() as env:
        for name, value in settings_for(root).items():
            env.setenv(name, value)
        settings = get_settings()
        settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built_warehouse.warehouse_path, settings.warehouse_path)
        unsubscribed, cleaned = _consented_with_known_email(settings.warehouse_path)
        _post_webhooks(
            settings, [_webhook("unsubscribe", unsubscribed[1], "abuse"), _webhook("cleaned", cleaned[1], "hard")]
        )

        load(["mailchimp"], settings)
        run_dbt(
            ["run", "--select", "stg_mailchimp__webhook_events+,+activation_profiles"],
            settings,
            target_path=root / "dbt_target",
        )
        publish_schemas(settings.warehouse_path, settings.serving_path, ("marts", "activation"))

        with FakeMailchimp() as fake:
            fake.add_member(unsubscribed[1], "unsubscribed")  # the ESP holds the unsubscribe it reported
            config = DestinationConfig("esp", fake.base_url, fake.list_id, fake.api_key)
            retry = RetryPolicy(max_attempts=1, sleep=lambda _: None)
            result = sync("esp", "mirror", settings=settings, config=config, retry=retry)
    return Loop(settings, unsubscribed, cleaned, result, fake)


def test_an_unsubscribe_at_the_esp_withdraws_consent_with_its_source_and_time(loop: Loop) -> None:
    customer_id = loop.unsubscribed[0]

    assert loop.serving(
        "select email_consent, email_consent_source, email_consent_at from marts.customer_profiles "
        "where customer_id = ?",
        customer_id,
    ) == [(False, "mailchimp", FIRED_AT.replace(tzinfo=None))]
    assert loop.serving("select reason from activation.exclusions where customer_id = ?", customer_id) == [
        ("consent_refused",)
    ]


def test_a_cleaned_address_is_suppressed_though_its_owner_still_consents(loop: Loop) -> None:
    customer_id, email = loop.cleaned

    assert loop.serving("select email_consent from marts.customer_profiles where customer_id = ?", customer_id) == [
        (True,)
    ]
    assert loop.serving("select reason from marts.email_suppressions where email = ?", email) == [("cleaned",)]
    assert loop.serving("select reason from activation.exclusions where customer_id = ?", customer_id) == [
        ("address_suppressed",)
    ]
    people = [loop.unsubscribed[0], customer_id]
    assert loop.serving("select count(*) from activation.profiles where customer_id in (?, ?)", *people) == [(0,)]


def test_the_sync_sends_nothing_for_either_and_everyone_else_as_before(loop: Loop) -> None:
    sent = {email.lower() for email in loop.fake.batched_emails()}
    touched = {request.path for request in loop.fake.requests}

    assert loop.result.audience > 0 and len(sent) == loop.result.audience
    for _, email in (loop.unsubscribed, loop.cleaned):
        assert email not in sent
        assert not any(subscriber_hash(email) in path for path in touched)
    assert loop.fake.member(loop.unsubscribed[1]).status == "unsubscribed"
    suppressed = loop.serving("select count(*) from activation.exclusions where reason = 'address_suppressed'")
    assert loop.result.excluded["address_suppressed"] == suppressed[0][0] >= 1
