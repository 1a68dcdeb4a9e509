"""The ESP sync against a local fake Mailchimp: incremental, safe on retry, never sends who must not be sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from activation.config import DestinationConfig, sync_state_path
from activation.state import SyncStateStore
from activation.sync import SyncResult, sync
from core.http import RetryPolicy
from core.settings import Settings
from privacy.ledger import ErasureLedger
from tests.fakes.mailchimp import FakeMailchimp, make_profile, make_segment, subscriber_hash, write_serving


@pytest.fixture
def esp() -> Iterator[FakeMailchimp]:
    with FakeMailchimp() as fake:
        yield fake


class Harness:
    """A serving copy to publish and a destination pointing at the fake; retries recorded, never slept."""

    def __init__(self, settings: Settings, fake: FakeMailchimp) -> None:
        self.settings = settings
        self.fake = fake
        self.waits: list[float] = []
        self.api_key = fake.api_key
        self.profiles: list[dict[str, Any]] = [make_profile(n) for n in range(1, 6)]
        self.segments: list[dict[str, Any]] = [
            make_segment(self.profiles[0], "vip"),
            make_segment(self.profiles[0], "winback"),
            make_segment(self.profiles[1], "vip"),
        ]

    def publish(self) -> None:
        write_serving(self.settings.serving_path, self.profiles, self.segments)

    def sync(self, mode: str = "upsert", *, batch_size: int = 500, dry_run: bool = False) -> SyncResult:
        config = DestinationConfig("esp", self.fake.base_url, self.fake.list_id, self.api_key, batch_size)
        retry = RetryPolicy(max_attempts=4, sleep=self.waits.append)
        return sync("esp", mode, dry_run=dry_run, settings=self.settings, config=config, retry=retry)

    def sync_and_forget_requests(self, mode: str = "upsert") -> SyncResult:
        result = self.sync(mode)
        self.fake.requests.clear()
        return result


@pytest.fixture
def harness(isolated_env: Settings, esp: FakeMailchimp) -> Harness:
    h = Harness(isolated_env, esp)
    h.publish()
    return h


def _emails(n: int) -> str:
    return f"person{n}@example.com"


def test_first_sync_creates_every_member_with_fields_and_segment_tags(harness: Harness) -> None:
    result = harness.sync(batch_size=2)

    assert (result.added, result.updated, result.failed, result.aborted) == (5, 0, 0, None)
    assert [len(batch) for batch in harness.fake.batch_calls()] == [2, 2, 1]
    assert harness.fake.subscribed() == {_emails(n) for n in range(1, 6)}
    first = harness.fake.member(_emails(1))
    assert first is not None
    assert first.merge_fields["FNAME"] == "First1"
    assert first.merge_fields["LTV"] == 123.45
    assert first.merge_fields["LASTORDER"] == "2026-11-01"
    assert first.tags == {"vip", "winback"}
    assert harness.fake.member(_emails(2)).tags == {"vip"}  # type: ignore[union-attr]
    assert harness.fake.member(_emails(3)).tags == set()  # type: ignore[union-attr]


def test_batches_never_exceed_the_destination_limit(isolated_env: Settings) -> None:
    with FakeMailchimp(max_batch=500) as fake:
        harness = Harness(isolated_env, fake)
        harness.profiles = [make_profile(n) for n in range(1, 1202)]
        harness.segments = []
        harness.publish()
        result = harness.sync()
    assert result.added == 1201
    assert [len(batch) for batch in fake.batch_calls()] == [500, 500, 201]


def test_incremental_sync_sends_only_what_changed(harness: Harness) -> None:
    harness.sync_and_forget_requests()
    harness.profiles[2]["first_name"] = "Renamed"
    harness.profiles.append(make_profile(6))
    harness.segments.append(make_segment(harness.profiles[3], "vip"))
    harness.publish()

    result = harness.sync()

    assert sorted(harness.fake.batched_emails()) == [_emails(3), _emails(6)]
    assert [r.path.split("/")[-2] for r in harness.fake.calls("POST", "/tags")] == [subscriber_hash(_emails(4))]
    assert (result.added, result.updated, result.unchanged) == (1, 2, 3)
    assert harness.fake.member(_emails(3)).merge_fields["FNAME"] == "Renamed"  # type: ignore[union-attr]


def test_a_sync_without_changes_sends_nothing_but_the_preflight(harness: Harness) -> None:
    harness.sync_and_forget_requests()
    result = harness.sync()
    assert [(r.method, r.path) for r in harness.fake.requests] == [("GET", f"/3.0/lists/{harness.fake.list_id}")]
    assert (result.added, result.updated, result.removed, result.unchanged) == (0, 0, 0, 5)


def test_mirror_untags_members_who_left_a_segment_and_archives_who_left_the_profiles(harness: Harness) -> None:
    harness.sync_and_forget_requests("mirror")
    harness.segments = [s for s in harness.segments if s["segment"] != "winback"]
    removed = harness.profiles.pop(4)
    harness.publish()

    result = harness.sync("mirror")

    assert harness.fake.member(_emails(1)).tags == {"vip"}  # type: ignore[union-attr]
    [tags_call] = harness.fake.calls("POST", "/tags")
    assert tags_call.json() == {"tags": [{"name": "winback", "status": "inactive"}]}
    assert harness.fake.member(removed["email"]).status == "archived"  # type: ignore[union-attr]
    assert harness.fake.batch_calls() == []
    assert (result.removed, result.updated) == (1, 1)


def test_upsert_mode_neither_untags_nor_archives(harness: Harness) -> None:
    harness.sync_and_forget_requests()
    harness.segments = [s for s in harness.segments if s["segment"] != "winback"]
    harness.profiles.pop(4)
    harness.publish()

    result = harness.sync()

    assert harness.fake.calls("DELETE") == [] and harness.fake.calls("POST", "/tags") == []
    assert harness.fake.member(_emails(1)).tags == {"vip", "winback"}  # type: ignore[union-attr]
    assert harness.fake.member(_emails(5)).status == "subscribed"  # type: ignore[union-attr]
    assert result.removed == 0


def test_a_429_storm_is_waited_out_as_retry_after_says(harness: Harness) -> None:
    harness.fake.rate_limit(times=3, retry_after="7")

    result = harness.sync()

    assert harness.waits == [7.0, 7.0, 7.0]
    assert result.ok and result.added == 5
    assert harness.fake.subscribed() == {_emails(n) for n in range(1, 6)}


def test_a_429_storm_longer_than_the_retries_stops_the_sync_and_the_next_run_completes(harness: Harness) -> None:
    harness.fake.rate_limit(times=4, retry_after="1")

    stopped = harness.sync()
    completed = harness.sync()

    assert stopped.aborted is not None and "429" in stopped.aborted
    assert harness.fake.subscribed() == {_emails(n) for n in range(1, 6)}
    assert completed.ok and completed.added == 5


def test_a_batch_resent_after_a_dropped_connection_changes_nothing_twice(harness: Harness) -> None:
    harness.fake.crash_batches(after_members=2, times=1)

    result = harness.sync(batch_size=3)

    assert result.ok
    assert harness.fake.creations == {_emails(n): 1 for n in range(1, 6)}
    assert len(harness.fake.batch_calls()) == 3  # the first batch twice: crashed once, resent once


def test_a_server_crash_mid_batch_is_completed_by_the_next_run_without_duplicates(harness: Harness) -> None:
    harness.fake.crash_batches(after_members=1, times=4)  # every attempt dies after applying one member

    crashed = harness.sync(batch_size=2)
    crashed_batches = harness.fake.batch_calls()
    harness.fake.requests.clear()
    rerun = harness.sync(batch_size=2)

    assert crashed.aborted is not None and (crashed.added, crashed.failed) == (0, 2)
    assert len(crashed_batches) == 4  # the first batch, tried four times; nothing after it was sent
    assert harness.fake.batched_emails() == [_emails(n) for n in range(1, 6)]
    assert rerun.ok
    assert harness.fake.creations == {_emails(n): 1 for n in range(1, 6)}
    assert harness.fake.subscribed() == {_emails(n) for n in range(1, 6)}


def test_revoked_consent_is_archived_in_any_mode_and_never_sent_again(harness: Harness) -> None:
    harness.sync_and_forget_requests()
    harness.profiles[1]["email_consent"] = False
    harness.profiles[1]["first_name"] = "Changed"
    harness.publish()

    revoked = harness.sync()
    harness.fake.requests.clear()
    later = harness.sync()

    assert revoked.skipped_no_consent == 1 and revoked.removed == 1
    assert harness.fake.member(_emails(2)).status == "archived"  # type: ignore[union-attr]
    assert _emails(2) not in harness.fake.batched_emails()
    assert later.removed == 0 and harness.fake.calls("DELETE") == []


def test_an_erased_person_is_never_sent(harness: Harness) -> None:
    ErasureLedger(harness.settings).record([("email", " Person3@Example.com ")])

    result = harness.sync()

    assert result.skipped_erased == 1 and result.added == 4
    assert _emails(3) not in harness.fake.batched_emails()
    assert harness.fake.member(_emails(3)) is None


def test_an_erasure_after_the_sync_deletes_the_member_even_once_gone_from_serving(harness: Harness) -> None:
    harness.sync_and_forget_requests()
    ErasureLedger(harness.settings).record([("email", _emails(1))])
    harness.profiles.pop(0)  # the next publish dropped them, before this destination synced again
    harness.publish()

    result = harness.sync()

    assert harness.fake.erased == {_emails(1)} and harness.fake.member(_emails(1)) is None
    assert result.removed == 1
    with SyncStateStore(sync_state_path(harness.settings), read_only=True) as store:
        assert subscriber_hash(_emails(1)) not in store.members("esp")


def test_rows_with_null_or_duplicate_emails_are_reported_as_invalid_and_not_sent(harness: Harness) -> None:
    harness.profiles += [
        make_profile(7, email=None),
        make_profile(8, email="twin@example.com"),
        make_profile(9, email="Twin@example.com"),
    ]
    harness.publish()

    result = harness.sync()

    assert result.invalid == 3
    assert result.invalid_reasons == {"email is null": 1, "duplicate email": 2}
    assert not any("twin" in e.lower() for e in harness.fake.batched_emails())
    assert result.added == 5


def test_dry_run_sends_nothing_and_writes_no_state(harness: Harness) -> None:
    preview = harness.sync(dry_run=True)

    assert harness.fake.requests == []
    assert not sync_state_path(harness.settings).exists()
    assert (preview.added, preview.removed) == (5, 0)
    assert preview.examples["add"] and all("@" not in shown for shown in preview.examples["add"])
    assert harness.sync().added == 5  # the real run still has everything to do


def test_a_rejected_member_is_recorded_with_the_reason_and_retried_next_run(harness: Harness) -> None:
    harness.fake.reject(_emails(4), "Invalid merge field value")

    first = harness.sync()
    with SyncStateStore(sync_state_path(harness.settings), read_only=True) as store:
        recorded = store.members("esp")[subscriber_hash(_emails(4))]
    harness.fake.accept(_emails(4))
    harness.fake.requests.clear()
    second = harness.sync()

    assert (first.added, first.failed) == (4, 1)
    assert "Invalid merge field value" in first.failures[0][1]
    assert recorded.last_error is not None and "Invalid merge field value" in recorded.last_error
    assert harness.fake.batched_emails() == [_emails(4)]
    assert second.ok and second.added == 1


def test_update_only_updates_existing_members_and_never_creates_one(harness: Harness) -> None:
    harness.sync_and_forget_requests()
    for profile in harness.profiles:
        profile["orders_count"] = 9
    harness.profiles.append(make_profile(6))
    harness.publish()

    result = harness.sync("update-only")

    assert _emails(6) not in harness.fake.batched_emails() and harness.fake.member(_emails(6)) is None
    assert sorted(harness.fake.batched_emails()) == [_emails(n) for n in range(1, 6)]
    assert (result.added, result.updated, result.skipped_absent) == (0, 5, 1)


def test_every_run_is_recorded_in_the_state_store(harness: Harness) -> None:
    harness.fake.reject(_emails(2))
    harness.sync()
    harness.fake.accept(_emails(2))
    harness.sync()

    with SyncStateStore(sync_state_path(harness.settings), read_only=True) as store:
        runs = store.runs("esp")
    assert [(r["outcome"], r["added"], r["failed"]) for r in runs] == [("partial", 4, 1), ("succeeded", 1, 0)]


def test_a_wrong_api_key_stops_before_anything_is_sent(harness: Harness) -> None:
    harness.api_key = "a-revoked-key"

    result = harness.sync()

    assert result.aborted is not None and "401" in result.aborted
    assert harness.fake.batch_calls() == [] and harness.fake.members == {}
