"""The API transport end to end: crm_source / shop_source against the local fakes, configured from env."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from core.settings import Settings
from ingestion.pipelines import loading, make_pipeline
from ingestion.sources.crm import contacts, crm_source
from ingestion.sources.crm.hubspot_api import to_epoch_ms
from ingestion.sources.shop import shop_source
from tests.fakes import FakeHubSpot, FakeShopify, make_contact, make_shop_object
from tests.ingestion.records import rows

HUBSPOT_TOKEN = "pat-test-token"
SHOPIFY_TOKEN = "shpat_test"
SHOPIFY_VERSION = "2024-01"
START = datetime(2025, 1, 1, tzinfo=UTC)


def _run(system: str, source: object, settings: Settings) -> None:
    with loading(settings) as connection:
        make_pipeline(system, settings, connection).run(source, loader_file_format="parquet")


@contextmanager
def _hubspot(contacts: list[dict], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHubSpot]:
    """A fake HubSpot, and the crm source configured for it the way dlt reads it: from the environment."""
    with FakeHubSpot(contacts, token=HUBSPOT_TOKEN) as api:
        monkeypatch.setenv("SOURCES__CRM__BASE_URL", api.base_url)
        monkeypatch.setenv("SOURCES__CRM__TOKEN", HUBSPOT_TOKEN)
        yield api


def _hourly_contacts(count: int) -> list[dict]:
    return [make_contact(i, START + timedelta(hours=i)) for i in range(count)]


def test_crm_api_second_run_searches_from_the_cursor_and_merges_changes(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    contacts = _hourly_contacts(3)
    with _hubspot(contacts, monkeypatch) as api:
        _run("crm", crm_source(transport="api"), settings)
        assert {r.method for r in api.requests} == {"GET"}  # first run: full sync, no search
        changed = make_contact(1, START + timedelta(days=1))
        changed["properties"]["email"] = "changed@example.com"
        contacts[1] = changed
        contacts.append(make_contact(9, START + timedelta(days=1)))
        api.requests.clear()

        _run("crm", crm_source(transport="api"), settings)

    searches = [r.json() for r in api.requests if r.method == "POST"]
    assert searches, "the second run must use the search endpoint with the cursor"
    [cursor_filter] = searches[0]["filterGroups"][0]["filters"]
    assert cursor_filter["value"] == str(to_epoch_ms(contacts[2]["updatedAt"]))
    assert rows(settings, "SELECT id, email, _source_file FROM raw_crm.contacts ORDER BY id") == [
        ("1000", "person0@example.com", None),
        ("1001", "changed@example.com", None),
        ("1002", "person2@example.com", None),
        ("1009", "person9@example.com", None),
    ]


def test_shop_api_second_run_sends_updated_at_min_and_merges_changes(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def shop_order(number: int, updated: datetime, items: int) -> dict:
        line_items = [{"id": number * 10 + i, "quantity": 1, "price": "2.50"} for i in range(items)]
        return make_shop_object(number, updated, total_price="5.00", line_items=line_items)

    orders = [shop_order(i, START + timedelta(hours=i), items=2) for i in range(3)]
    customers = [make_shop_object(i, START + timedelta(hours=i), email=f"c{i}@example.com") for i in range(2)]
    with FakeShopify({"orders": orders, "customers": customers}, token=SHOPIFY_TOKEN) as api:
        monkeypatch.setenv("SOURCES__SHOP__BASE_URL", api.base_url)
        monkeypatch.setenv("SOURCES__SHOP__TOKEN", SHOPIFY_TOKEN)
        monkeypatch.setenv("SOURCES__SHOP__API_VERSION", SHOPIFY_VERSION)
        _run("shop", shop_source(transport="api"), settings)
        assert all(r.param("updated_at_min") is None for r in api.requests)
        orders[0] = {**shop_order(0, START + timedelta(days=2), items=0), "total_price": "9.00"}
        api.requests.clear()

        _run("shop", shop_source(transport="api"), settings)

    first_pages = {r.path.rsplit("/", 1)[1]: r for r in api.requests if r.param("page_info") is None}
    newest_order = START + timedelta(hours=2)
    assert datetime.fromisoformat(first_pages["orders.json"].param("updated_at_min")) == newest_order
    assert datetime.fromisoformat(first_pages["customers.json"].param("updated_at_min")) == START + timedelta(hours=1)
    assert rows(settings, "SELECT id - 7000000, total_price::VARCHAR FROM raw_shop.orders ORDER BY id") == [
        (0, "9.000000000"),
        (1, "5.000000000"),
        (2, "5.000000000"),
    ]
    assert rows(settings, "SELECT DISTINCT order_id - 7000000 FROM raw_shop.orders__line_items ORDER BY 1") == [
        (1,),
        (2,),
    ]
    assert rows(settings, "SELECT count(*) FROM raw_shop.customers") == [(2,)]


def _contacts_state(settings: Settings) -> dict:
    with loading(settings) as connection:
        return make_pipeline("crm", settings, connection).state["sources"]["crm"]["resources"]["contacts"]


def test_the_cursor_is_a_dlt_incremental_advanced_to_the_newest_record(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    contacts = _hourly_contacts(3)
    with _hubspot(contacts, monkeypatch):
        _run("crm", crm_source(transport="api"), settings)

    state = _contacts_state(settings)
    assert "api_cursor" not in state
    assert state["incremental"]["updatedAt"]["last_value"] == START + timedelta(hours=2)


def test_a_cursor_kept_by_hand_before_the_upgrade_is_searched_from_once_and_migrated(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    contacts = _hourly_contacts(3)
    with _hubspot(contacts, monkeypatch) as api:
        _run("crm", crm_source(transport="api"), settings)
        with loading(settings) as connection, make_pipeline("crm", settings, connection).managed_state() as state:
            resource = state["sources"]["crm"]["resources"]["contacts"]
            del resource["incremental"]  # the state as the hand-kept cursor left it
            resource["api_cursor"] = "2025-01-01T01:00:00+00:00"
        contacts.append(make_contact(9, START + timedelta(days=1)))
        api.requests.clear()

        _run("crm", crm_source(transport="api"), settings)

    searches = [r.json() for r in api.requests if r.method == "POST"]
    assert searches, "the run after the upgrade must search from the old cursor, not reload everything"
    assert not [r for r in api.requests if r.method == "GET" and r.param("archived") == "false"]
    [cursor_filter] = searches[0]["filterGroups"][0]["filters"]
    assert cursor_filter["value"] == str(to_epoch_ms("2025-01-01T01:00:00+00:00"))
    state = _contacts_state(settings)
    assert "api_cursor" not in state
    assert state["incremental"]["updatedAt"]["last_value"] == START + timedelta(days=1)
    assert rows(settings, "SELECT id FROM raw_crm.contacts ORDER BY id") == [
        ("1000",),
        ("1001",),
        ("1002",),
        ("1009",),
    ]


def test_a_backfill_window_is_refused_rather_than_read_past_its_end(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = dlt.sources.incremental(
        "updatedAt", initial_value="2025-01-01T00:00:00Z", end_value="2025-01-02T00:00:00Z"
    )
    with _hubspot(_hourly_contacts(3), monkeypatch) as api:
        resource = contacts("api", settings, base_url=api.base_url, token=HUBSPOT_TOKEN, updated_at=window)
        with pytest.raises(PipelineStepFailed, match="end_value is not supported"):
            _run("crm", resource, settings)
    assert api.requests == []
