"""Issue 8 end to end: generated data, the real graph, its serving copy, a mirror sync to a fake Mailchimp; then
`generate --increment 1`, an erasure, the graph again and a second sync that sends only the difference.

Expectations are read from the serving copies the graph published, never from hand-made files: what the ESP
holds after each sync must be exactly the consented `activation.profiles` (contract section 4). The scenario is
built once per session (tests/activation/scenario.py, the `activation_run` fixture): its first run is also the
one tests/orchestration/test_materialize.py checks.
"""

from __future__ import annotations

from typing import Any

import pytest

from activation.exclusions import REASONS
from tests.activation.scenario import Scenario
from tests.fakes.mailchimp import subscriber_hash
from tests.fakes.server import RecordedRequest

pytestmark = pytest.mark.slow


def _batched(requests: list[RecordedRequest], list_id: str) -> list[dict[str, Any]]:
    return [
        member
        for r in requests
        if r.method == "POST" and r.path == f"/3.0/lists/{list_id}"
        for member in r.json()["members"]
    ]


def _member_calls(requests: list[RecordedRequest], method: str, suffix: str = "") -> set[str]:
    """Subscriber hashes of the member endpoints called with `method` and a path ending in `suffix`."""
    calls = set()
    for r in requests:
        parts = r.path.split("/")
        if r.method == method and len(parts) >= 6 and parts[4] == "members" and r.path.endswith(suffix):
            calls.add(parts[5])
    return calls


@pytest.fixture
def scenario(activation_run: Scenario) -> Scenario:
    return activation_run


def test_the_first_sync_sends_exactly_the_consented_profiles_of_the_serving_copy(scenario: Scenario) -> None:
    first, fake = scenario.first, scenario.fake
    assert first.members, "the graph published no activation profiles: the scenario tests nothing"
    assert first.unconsented_rows == 0, "activation.profiles holds only consented people (contract section 4)"
    result = scenario.first_result
    assert result.ok, (result.aborted, result.failures)
    assert (result.added, result.updated, result.removed, result.invalid) == (len(first.members), 0, 0, 0)

    sent = _batched(scenario.first_requests, fake.list_id)
    assert sorted(m["email_address"] for m in sent) == sorted(first.members)
    assert {e for e, m in scenario.after_first.items() if m.status == "subscribed"} == set(first.members)
    for email, (_fields, tags) in first.members.items():
        assert scenario.after_first[email].tags == set(tags), email


def test_the_incremental_sync_sends_only_new_and_changed_members(scenario: Scenario) -> None:
    first, second, fake = scenario.first, scenario.second, scenario.fake
    result = scenario.second_result
    assert result.ok, (result.aborted, result.failures)

    new = set(second.members) - set(first.members)
    kept = set(second.members) & set(first.members)
    changed_fields = {e for e in kept if second.members[e][0] != first.members[e][0]}
    changed_tags = {e for e in kept if second.members[e][1] != first.members[e][1]}
    assert new, "the increment added nobody: the diff would not be tested"
    sent = _batched(scenario.second_requests, fake.list_id)
    sent_emails = [m["email_address"] for m in sent]
    assert len(sent_emails) == len(set(sent_emails)), "a member was sent twice in one sync"
    assert set(sent_emails) == new | changed_fields
    for member in sent:
        before = scenario.after_first.get(member["email_address"])
        assert before is None or before.merge_fields != member["merge_fields"], "an unchanged member was re-sent"
    retagged = _member_calls(scenario.second_requests, "POST", "/tags")
    assert retagged == {subscriber_hash(e) for e in changed_tags | {e for e in new if second.members[e][1]}}
    untouched = len(second.members) - len(new | changed_fields | changed_tags)
    assert (result.added, result.unchanged) == (len(new), untouched)

    # The ESP now holds the second serving copy's consented profiles, with their fields and tags.
    assert fake.subscribed() == set(second.members)
    for email, (_fields, tags) in second.members.items():
        assert fake.member(email).tags == set(tags), email  # type: ignore[union-attr]


def test_who_left_the_profiles_is_archived_or_erased_and_never_sent_again(scenario: Scenario) -> None:
    first, second, fake = scenario.first, scenario.second, scenario.fake
    erased = scenario.erased_email
    assert erased not in second.members, "the erasure did not reach the serving copy"
    assert fake.member(erased) is None and erased in fake.erased
    assert _member_calls(scenario.second_requests, "POST", "/actions/delete-permanent") == {subscriber_hash(erased)}

    # People the increment took out of the profiles (consent revoked, unreachable) are archived in mirror mode.
    left = set(first.members) - set(second.members) - {erased}
    assert _member_calls(scenario.second_requests, "DELETE") == {subscriber_hash(e) for e in left}
    for email in left:
        assert fake.member(email).status == "archived", email  # type: ignore[union-attr]
    assert scenario.second_result.removed == len(left) + 1

    sent_after = _batched(scenario.second_requests, fake.list_id) + _batched(scenario.third_requests, fake.list_id)
    assert not {m["email_address"] for m in sent_after} & (left | {erased})
    assert fake.creations[erased] == 1 and all(fake.creations[e] == 1 for e in left)


def test_a_sync_without_a_new_publish_sends_nothing(scenario: Scenario) -> None:
    result = scenario.third_result
    assert [(r.method, r.path) for r in scenario.third_requests] == [("GET", f"/3.0/lists/{scenario.fake.list_id}")]
    assert (result.added, result.updated, result.removed, result.unchanged) == (0, 0, 0, len(scenario.second.members))


def test_every_profile_is_sent_or_left_out_for_a_named_reason(scenario: Scenario) -> None:
    for snapshot, result in ((scenario.first, scenario.first_result), (scenario.second, scenario.second_result)):
        assert (result.people, result.audience) == (snapshot.customer_profiles, len(snapshot.members))
        assert result.audience + sum(result.excluded.values()) == result.people
        assert set(result.excluded) <= set(REASONS) - {"unknown"}, result.excluded
    first = scenario.first_result
    assert first.excluded.get("consent_refused", 0) + first.excluded.get("consent_missing", 0) > 0
    assert sum(first.tags_added.values()) == sum(len(tags) for _fields, tags in scenario.first.members.values())
