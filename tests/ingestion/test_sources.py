"""Each source lands its records in the tables and columns of docs/contracts.md section 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.settings import Settings
from ingestion.landing import reads
from ingestion.pipelines import load
from tests.ingestion.records import columns, contact, event, order, rows, write_jsonl

SHOPIFY_FIXTURES = Path(__file__).parents[1] / "fixtures" / "shopify"


def test_crm_contacts_land_with_contract_columns_and_types(settings: Settings) -> None:
    write_jsonl(
        settings,
        "crm/contacts/contacts-b0000-p0000.jsonl",
        [contact("101", "2024-01-02T00:00:00Z", "A@x.com")],
    )

    load(["crm"], settings)

    types = columns(settings, "raw_crm", "contacts")
    assert {"id", "email", "firstname", "hs_email_optout", "created_at", "updated_at", "archived"} <= set(
        types
    )
    assert (types["id"], types["updated_at"], types["archived"]) == (
        "VARCHAR",
        "TIMESTAMP WITH TIME ZONE",
        "BOOLEAN",
    )
    assert {"_dlt_load_id", "_dlt_id", "_source_file", "_source_line"} <= set(types)
    assert rows(
        settings, "SELECT id, email, hs_email_optout, _source_file, _source_line FROM raw_crm.contacts"
    ) == [("101", "A@x.com", "false", "crm/contacts/contacts-b0000-p0000.jsonl", 1)]


def test_shop_order_lists_become_child_tables_carrying_order_id(settings: Settings) -> None:
    write_jsonl(settings, "shop/orders/orders-b0000-p0000.jsonl", [order(5, "2024-01-02T00:00:00Z")])

    load(["shop"], settings)

    assert rows(
        settings, "SELECT id, customer__id, total_price, shipping_address__city FROM raw_shop.orders"
    ) == [(5, 7, pytest.approx(30.5), "Gent")]
    assert rows(settings, "SELECT order_id, id, price FROM raw_shop.orders__line_items ORDER BY id") == [
        (5, 50, pytest.approx(15.25)),
        (5, 51, pytest.approx(15.25)),
    ]
    assert rows(settings, "SELECT order_id, code FROM raw_shop.orders__discount_codes") == [(5, "WELCOME")]
    assert rows(settings, "SELECT order_id, id, amount FROM raw_shop.orders__refunds") == [
        (5, 99, pytest.approx(3.75))
    ]


def test_shopify_published_fixtures_load_every_object(settings: Settings) -> None:
    placement = {
        "orders.json": "orders",
        "customer.json": "customers",
        "customers_search.json": "customers",
        "products.json": "products",
        "checkouts.json": "checkouts",
    }
    expected: dict[str, set[int]] = {}
    for name, entity in placement.items():
        target = settings.landing_dir / "shop" / entity / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SHOPIFY_FIXTURES / name, target)
        document = json.loads(target.read_text())
        content = next(iter(document.values())) if isinstance(document, dict) else document
        expected.setdefault(entity, set()).update(
            r["id"] for r in (content if isinstance(content, list) else [content])
        )

    summary = load(["shop"], settings)

    assert summary.rows_quarantined == 0
    for entity, ids in expected.items():
        assert {i for (i,) in rows(settings, f"SELECT id FROM raw_shop.{entity}")} == ids
    variants = sum(len(p["variants"]) for p in json.loads((SHOPIFY_FIXTURES / "products.json").read_text()))
    assert rows(settings, "SELECT count(*) FROM raw_shop.products__variants") == [(variants,)]


def test_events_land_with_flattened_context_and_json_properties(settings: Settings) -> None:
    write_jsonl(settings, "analytics/events/events-20240101T000000-0001.jsonl", [event("m-1")])

    load(["analytics"], settings)

    types = columns(settings, "raw_analytics", "events")
    assert (types["timestamp"], types["properties"]) == ("TIMESTAMP WITH TIME ZONE", "JSON")
    assert rows(
        settings,
        "SELECT message_id, anonymous_id, context__user_agent, context__page__path, properties->>'sku' "
        "FROM raw_analytics.events",
    ) == [("m-1", "anon-1", "Mozilla/5.0", "/p", "T-1")]


def test_redelivered_message_is_loaded_once(settings: Settings) -> None:
    write_jsonl(settings, "analytics/events/events-1.jsonl", [event("m-1"), event("m-2"), event("m-1")])
    load(["analytics"], settings)
    write_jsonl(settings, "analytics/events/events-2.jsonl", [event("m-2"), event("m-3")])

    load(["analytics"], settings)

    assert rows(settings, "SELECT message_id, count(*) FROM raw_analytics.events GROUP BY 1 ORDER BY 1") == [
        ("m-1", 1),
        ("m-2", 1),
        ("m-3", 1),
    ]


def test_a_message_redelivered_in_a_later_batch_of_the_same_run_is_loaded_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file its own batch: the second batch must drop what the first one of this run already kept."""
    monkeypatch.setattr(reads, "BATCH_BYTES", 1)
    write_jsonl(settings, "analytics/events/events-1.jsonl", [event("m-1"), event("m-2")])
    retry = event("m-2", receivedAt="2024-01-01T11:00:00Z")  # the same message, received again later
    write_jsonl(settings, "analytics/events/events-2.jsonl", [retry, event("m-3")])

    summary = load(["analytics"], settings)

    assert (summary.table("analytics", "events").loaded, summary.table("analytics", "events").duplicates) == (3, 1)
    assert rows(settings, "SELECT message_id, user_id, _source_file FROM raw_analytics.events ORDER BY 1") == [
        ("m-1", None, "analytics/events/events-1.jsonl"),
        ("m-2", None, "analytics/events/events-1.jsonl"),
        ("m-3", None, "analytics/events/events-2.jsonl"),
    ]


def test_load_summary_reports_rows_and_quarantine_per_table(settings: Settings) -> None:
    path = write_jsonl(settings, "crm/contacts/c.jsonl", [contact("1", "2024-01-02T00:00:00Z", "a@x.com")])
    with path.open("a") as f:
        f.write("{broken\n")

    summary = load(["crm"], settings)

    contacts = summary.table("crm", "contacts")
    assert (contacts.loaded, contacts.quarantined, contacts.total) == (1, 1, 1)
    assert summary.warehouse_path == str(settings.warehouse_path)
