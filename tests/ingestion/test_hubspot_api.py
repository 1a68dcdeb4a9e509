"""HubSpot CRM v3 transport against a local fake that follows HubSpot's paging, search and auth rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.http import ApiError, RetryPolicy
from ingestion.sources.crm.hubspot_api import iter_contacts
from tests.fakes import FakeHubSpot, make_contact

TOKEN = "pat-test-token"
PROPERTIES = ["email", "firstname", "lastname"]
START = datetime(2025, 1, 1, tzinfo=UTC)


def _contacts(count: int, *, archived: int = 0) -> list[dict]:
    live = [make_contact(i, START + timedelta(minutes=i)) for i in range(count)]
    gone = [
        make_contact(count + i, START + timedelta(minutes=count + i), archived=True) for i in range(archived)
    ]
    return live + gone


def _ids(pages: list[list[dict]]) -> list[str]:
    return [contact["id"] for page in pages for contact in page]


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def test_full_sync_pages_through_live_and_archived_contacts_once_each() -> None:
    contacts = _contacts(23, archived=4)
    with FakeHubSpot(contacts, token=TOKEN) as api:
        pages = list(iter_contacts(api.base_url, TOKEN, PROPERTIES, page_size=5))
    assert sorted(_ids(pages)) == sorted(c["id"] for c in contacts)
    assert len(pages) == 5 + 1  # 23 live in pages of 5, then 4 archived in one page


def test_pages_are_contacts_as_the_api_returns_them() -> None:
    with FakeHubSpot(_contacts(2), token=TOKEN) as api:
        [page] = list(iter_contacts(api.base_url, TOKEN, ["email"]))
    assert set(page[0]) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert page[0]["properties"]["email"] == "person0@example.com"


def test_bearer_token_and_requested_properties_are_sent() -> None:
    with FakeHubSpot(_contacts(1), token=TOKEN) as api:
        list(iter_contacts(api.base_url, TOKEN, PROPERTIES))
    first = api.requests[0]
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert first.param("properties") == "email,firstname,lastname"
    assert [r.param("archived") for r in api.requests] == ["false", "true"]


def test_wrong_token_fails_with_the_url_and_status() -> None:
    with FakeHubSpot(_contacts(1), token=TOKEN) as api, pytest.raises(ApiError) as failure:
        list(iter_contacts(api.base_url, "wrong-token", PROPERTIES))
    assert failure.value.status == 401
    assert "/crm/v3/objects/contacts" in str(failure.value)
    assert "401" in str(failure.value)


def test_incremental_sync_searches_with_a_lastmodifieddate_filter() -> None:
    contacts = _contacts(10)
    since = contacts[6]["updatedAt"]
    with FakeHubSpot(contacts, token=TOKEN) as api:
        pages = list(iter_contacts(api.base_url, TOKEN, PROPERTIES, updated_after=since))
    assert _ids(pages) == [c["id"] for c in contacts[6:]]
    search = next(r for r in api.requests if r.method == "POST").json()
    [condition] = search["filterGroups"][0]["filters"]
    assert condition["propertyName"] == "lastmodifieddate"
    assert condition["operator"] == "GTE"
    assert search["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]


def test_incremental_sync_moves_the_filter_forward_at_the_search_result_cap() -> None:
    contacts = _contacts(30)
    with FakeHubSpot(contacts, token=TOKEN, search_result_cap=10) as api:
        pages = list(
            iter_contacts(
                api.base_url, TOKEN, PROPERTIES, "2024-12-31T00:00:00Z", page_size=4, search_result_cap=10
            )
        )
    assert _ids(pages) == [c["id"] for c in contacts]


def test_incremental_sync_does_not_repeat_contacts_sharing_the_boundary_timestamp() -> None:
    same_minute = START + timedelta(hours=1)
    contacts = [make_contact(i, START + timedelta(minutes=i // 3)) for i in range(12)]
    contacts += [make_contact(100 + i, same_minute) for i in range(3)]
    with FakeHubSpot(contacts, token=TOKEN, search_result_cap=8) as api:
        pages = list(
            iter_contacts(
                api.base_url, TOKEN, PROPERTIES, "2024-12-31T00:00:00Z", page_size=4, search_result_cap=8
            )
        )
    ids = _ids(pages)
    assert sorted(ids) == sorted(c["id"] for c in contacts)
    assert len(ids) == len(set(ids))


def test_incremental_sync_reports_archived_contacts_changed_since_the_cursor() -> None:
    contacts = _contacts(5, archived=3)
    since = contacts[6]["updatedAt"]  # the second archived contact
    with FakeHubSpot(contacts, token=TOKEN) as api:
        pages = list(iter_contacts(api.base_url, TOKEN, PROPERTIES, updated_after=since))
    archived = [c["id"] for page in pages for c in page if c["archived"]]
    assert archived == [contacts[6]["id"], contacts[7]["id"]]


def test_rate_limit_waits_as_long_as_retry_after_says_then_succeeds() -> None:
    sleep = RecordingSleep()
    with FakeHubSpot(_contacts(3), token=TOKEN) as api:
        api.rate_limit(times=2, retry_after="7")
        pages = list(iter_contacts(api.base_url, TOKEN, PROPERTIES, retry=RetryPolicy(sleep=sleep)))
    assert sleep.waits == [7.0, 7.0]
    assert len(_ids(pages)) == 3


def test_server_errors_are_retried_with_growing_backoff_then_give_up_naming_the_url() -> None:
    sleep = RecordingSleep()
    policy = RetryPolicy(max_attempts=4, backoff_seconds=0.5, sleep=sleep)
    with FakeHubSpot(_contacts(3), token=TOKEN) as api, pytest.raises(ApiError) as failure:
        api.inject(503, times=10, body={"message": "upstream down"})
        list(iter_contacts(api.base_url, TOKEN, PROPERTIES, retry=policy))
    assert sleep.waits == [0.5, 1.0, 2.0]
    assert len(api.requests) == 4
    assert "failed after 4 attempts" in str(failure.value)
    assert f"{api.base_url}/crm/v3/objects/contacts" in str(failure.value)
    assert failure.value.status == 503


def test_a_server_error_followed_by_success_loses_no_page() -> None:
    with FakeHubSpot(_contacts(9), token=TOKEN) as api:
        api.inject(500)
        pages = list(
            iter_contacts(
                api.base_url, TOKEN, PROPERTIES, page_size=4, retry=RetryPolicy(sleep=RecordingSleep())
            )
        )
    assert len(_ids(pages)) == 9


def test_missing_base_url_is_a_clear_configuration_error() -> None:
    with pytest.raises(ValueError, match="SOURCES__CRM__BASE_URL"):
        next(iter_contacts("", TOKEN, PROPERTIES))


def test_unparseable_cursor_is_a_clear_error() -> None:
    with FakeHubSpot(_contacts(1), token=TOKEN) as api, pytest.raises(ValueError, match="not an ISO-8601"):
        next(iter_contacts(api.base_url, TOKEN, PROPERTIES, updated_after="yesterday"))


def test_more_contacts_in_one_millisecond_than_the_search_cap_is_a_clear_error() -> None:
    contacts = [make_contact(i, START) for i in range(12)]
    with (
        FakeHubSpot(contacts, token=TOKEN, search_result_cap=8) as api,
        pytest.raises(ApiError, match="full sync"),
    ):
        list(
            iter_contacts(
                api.base_url, TOKEN, PROPERTIES, START.isoformat(), page_size=4, search_result_cap=8
            )
        )


def test_a_datetime_cursor_filters_like_its_iso_text() -> None:
    contacts = _contacts(6)
    with FakeHubSpot(contacts, token=TOKEN) as api:
        pages = list(iter_contacts(api.base_url, TOKEN, PROPERTIES, START + timedelta(minutes=4)))
    assert _ids(pages) == [c["id"] for c in contacts[4:]]
