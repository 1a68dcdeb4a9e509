"""Issue 26, "clear answers": `warehouse sync` says who was left out of the audience and why, per person of the
marts' customer_profiles, and which tags and members changed, without ever printing an email.

The serving copy is built the way a run builds it: contract-shaped marts (tests/serving/marts.py), the dbt
`activation` models on them, then a publish whose guard has removed a person erased after the build. Every
profile below is left out for exactly one reason, so each count is exact.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from activation.config import DestinationConfig, sync_state_path
from activation.exclusions import REASONS, read_upstream
from activation.state import SyncStateStore
from activation.sync import SyncResult, sync
from cli.main import app
from core.dbt_cli import run_dbt
from core.http import RetryPolicy
from core.settings import Settings, get_settings
from privacy.ledger import ErasureLedger
from serving.publish import publish_schemas
from tests.conftest import settings_for
from tests.fakes.mailchimp import FakeMailchimp
from tests.serving.marts import create_marts

pytestmark = pytest.mark.slow  # one dbt build of the activation models


def _profile(customer_id: str, email: str | None, consent: bool, source: str | None = "shop") -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "email": email,
        "first_name": customer_id.title(),
        "email_consent": consent,
        "email_consent_source": source,
        "orders_count": 0,
        "lifetime_value": 0,
        "rfm_segment": "No Orders",
    }


PROFILES = [
    _profile("sent_1", "Sent.One@Example.com ", True),
    _profile("sent_2", "sent.two@example.com", True),
    _profile("sent_3", "sent.three@example.com", True, "crm"),
    _profile("refused_crm", "optout@example.com", False, "crm"),
    _profile("refused_shop", "unsubscribed@example.com", False, "shop"),
    _profile("missing", "never.asked@example.com", False, None),
    _profile("no_email", None, True),
    _profile("invalid", "two@@example.com", True),
    _profile("family_a", "family@example.com", True),
    _profile("family_b", " FAMILY@example.com", True),
    _profile("erased_at_publish", "gone.early@example.com", True),
    _profile("erased_since", "gone.late@example.com", True),
]
SEGMENTS = [
    {"customer_id": "sent_1", "segment_name": "vip", "reason": "top decile"},
    {"customer_id": "sent_1", "segment_name": "winback", "reason": "no order in 90 days"},
    {"customer_id": "sent_2", "segment_name": "vip", "reason": "top decile"},
    {"customer_id": "refused_crm", "segment_name": "vip", "reason": "top decile"},
    {"customer_id": "family_a", "segment_name": "winback", "reason": "no order in 90 days"},
    {"customer_id": "erased_since", "segment_name": "vip", "reason": "top decile"},
]
EXPECTED_EXCLUDED = {
    "consent_refused": 2,
    "consent_missing": 1,
    "no_email": 1,
    "invalid_email": 1,
    "duplicate_email": 2,
    "erased": 2,  # one removed by the publish guard, one erased after the publish
}
ERASED_AT_PUBLISH = ("customer_id", "erased_at_publish")
ERASED_SINCE = ("email", "gone.late@example.com")


@pytest.fixture(scope="module")
def serving_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A serving copy as a run publishes it: marts, the dbt activation models, the erasure guard applied."""
    root = tmp_path_factory.mktemp("activation_exclusions")
    with pytest.MonkeyPatch.context() as env:
        for name, value in settings_for(root).items():
            env.setenv(name, value)
        settings = get_settings()
        create_marts(settings.warehouse_path, {"customer_profiles": PROFILES, "customer_segments": SEGMENTS})
        run_dbt(["build", "--select", "path:models/serving/activation"], settings, target_path=root / "dbt_target")
        publish_schemas(
            settings.warehouse_path, settings.serving_path, ("marts", "activation"), _guard_erased_at_publish
        )
    return settings.serving_path


def _guard_erased_at_publish(con: duckdb.DuckDBPyConnection) -> int:
    """What serving.publish's erasure guard does to a person erased after the build: gone from `activation`,
    still in the copied marts."""
    deleted = 0
    for table in ("profiles", "segments", "exclusions"):
        deleted += len(
            con.execute(
                f"delete from activation.{table} where customer_id = ? returning 1", [ERASED_AT_PUBLISH[1]]
            ).fetchall()
        )
    return deleted


@pytest.fixture
def published(isolated_env: Settings, serving_template: Path) -> Settings:
    """The template copy published for one test, with both erasures in this test's ledger."""
    shutil.copyfile(serving_template, isolated_env.serving_path)
    ErasureLedger(isolated_env).record([ERASED_AT_PUBLISH, ERASED_SINCE])
    return isolated_env


@pytest.fixture
def esp() -> Iterator[FakeMailchimp]:
    with FakeMailchimp() as fake:
        yield fake


def _sync(settings: Settings, fake: FakeMailchimp, mode: str = "mirror", *, dry_run: bool = False) -> SyncResult:
    config = DestinationConfig("esp", fake.base_url, fake.list_id, fake.api_key)
    retry = RetryPolicy(max_attempts=1, sleep=lambda _: None)
    return sync("esp", mode, settings=settings, config=config, retry=retry, dry_run=dry_run)


def _edit_serving(settings: Settings, *statements: str) -> None:
    with duckdb.connect(str(settings.serving_path)) as con:
        for statement in statements:
            con.execute(statement)


def test_every_profile_left_out_is_counted_once_under_its_reason(published: Settings, esp: FakeMailchimp) -> None:
    result = _sync(published, esp)

    assert result.excluded == EXPECTED_EXCLUDED
    assert (result.people, result.audience) == (len(PROFILES), 3)
    assert result.people == result.audience + sum(result.excluded.values())
    assert list(result.excluded) == [r for r in REASONS if r in EXPECTED_EXCLUDED]
    assert esp.subscribed() == {"sent.one@example.com", "sent.two@example.com", "sent.three@example.com"}


def test_the_sync_counts_members_created_and_tags_added_per_segment(published: Settings, esp: FakeMailchimp) -> None:
    result = _sync(published, esp)

    report = result.report()
    assert (report["created"], report["updated"], report["archived"], report["deleted"]) == (3, 0, 0, 0)
    assert report["tags_added"] == {"vip": 2, "winback": 1}  # tags of people left out are never counted
    assert report["tags_removed"] == {}


def test_a_mirror_sync_counts_tags_removed_and_members_archived_or_deleted(
    published: Settings, esp: FakeMailchimp
) -> None:
    _sync(published, esp)
    _edit_serving(
        published,
        "delete from activation.segments where customer_id = 'sent_1' and segment = 'winback'",
        "insert into activation.segments (customer_id, email, segment) "
        "values ('sent_1', 'sent.one@example.com', 'new')",
        "delete from activation.profiles where customer_id = 'sent_3'",
        "delete from marts.customer_profiles where customer_id = 'sent_3'",
    )
    ErasureLedger(published).record([("customer_id", "sent_2")])

    result = _sync(published, esp)

    assert (result.added, result.updated, result.archived, result.deleted) == (0, 1, 1, 1)
    assert (result.tags_added, result.tags_removed) == ({"new": 1}, {"winback": 1})
    assert result.excluded == {**EXPECTED_EXCLUDED, "erased": 3}
    assert result.people == len(PROFILES) - 1


def test_a_dry_run_reports_the_same_reasons_and_planned_tags(published: Settings, esp: FakeMailchimp) -> None:
    result = _sync(published, esp, dry_run=True)

    assert result.excluded == EXPECTED_EXCLUDED
    assert (result.added, result.tags_added) == (3, {"vip": 2, "winback": 1})
    assert esp.requests == []


def test_each_run_records_its_report_in_the_sync_state_also_in_a_file_from_before_reports(
    published: Settings, esp: FakeMailchimp
) -> None:
    state = sync_state_path(published)
    with SyncStateStore(state):
        pass
    with duckdb.connect(str(state)) as con:
        con.execute("alter table sync_runs drop column report")  # as a state file written before this column

    result = _sync(published, esp)

    with SyncStateStore(state, read_only=True) as store:
        [run] = store.runs("esp")
    assert json.loads(str(run["report"])) == result.report()
    assert "@" not in str(run["report"])


def test_a_copy_published_before_activation_exclusions_reports_the_missing_people_as_unknown(
    published: Settings,
) -> None:
    _edit_serving(published, "drop table activation.exclusions")

    upstream = read_upstream(published.serving_path, ErasureLedger(published))

    assert upstream.by_reason == {"unknown": 5, "erased": 1}
    assert upstream.people == len(PROFILES)


def test_cli_prints_the_reasons_and_tags_changed_and_never_an_email(
    published: Settings, esp: FakeMailchimp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESTINATIONS__ESP__BASE_URL", esp.base_url)
    monkeypatch.setenv("DESTINATIONS__ESP__LIST_ID", esp.list_id)
    monkeypatch.setenv("DESTINATIONS__ESP__API_KEY", esp.api_key)

    result = CliRunner().invoke(app, ["sync", "--mode", "mirror"])

    assert result.exit_code == 0, result.output
    lines = [" ".join(line.split()) for line in result.output.splitlines()]
    assert "Left out: 9 of 12 profiles; 3 in the audience." in lines
    for reason, count in EXPECTED_EXCLUDED.items():
        assert f"{reason} │ {count}" in lines
    assert {"vip │ 2 │ 0", "winback │ 1 │ 0", "created │ 3"} <= set(lines)
    assert "@" not in result.output
