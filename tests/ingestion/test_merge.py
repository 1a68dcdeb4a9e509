"""Across loads: the newest `updated_at` wins, not the last delivery; a list that became empty is emptied."""

from __future__ import annotations

from core.settings import Settings
from ingestion.pipelines import load
from tests.ingestion.records import contact, order, rows, write_jsonl

CONTACTS = "crm/contacts/contacts-b{:04d}-p0000.jsonl"


def test_older_version_delivered_later_is_superseded_and_counted(settings: Settings) -> None:
    write_jsonl(settings, CONTACTS.format(0), [contact("1", "2024-03-01T00:00:00Z", "newest@x.com")])
    load(["crm"], settings)
    late = [
        contact("1", "2024-02-01T00:00:00Z", "older@x.com"),
        contact("2", "2024-02-01T00:00:00Z", "2@x.com"),
    ]
    write_jsonl(settings, CONTACTS.format(1), late)

    summary = load(["crm"], settings)

    contacts = summary.table("crm", "contacts")
    assert (contacts.loaded, contacts.superseded, contacts.quarantined) == (1, 1, 0)
    assert summary.rows_superseded == 1
    assert rows(settings, "SELECT id, email, updated_at::VARCHAR FROM raw_crm.contacts ORDER BY id") == [
        ("1", "newest@x.com", "2024-03-01 00:00:00+00"),
        ("2", "2@x.com", "2024-02-01 00:00:00+00"),
    ]


def test_same_version_delivered_again_replaces_without_being_superseded(settings: Settings) -> None:
    write_jsonl(settings, CONTACTS.format(0), [contact("1", "2024-03-01T00:00:00Z", "a@x.com")])
    load(["crm"], settings)
    write_jsonl(settings, CONTACTS.format(1), [contact("1", "2024-03-01T00:00:00Z", "a@x.com")])

    summary = load(["crm"], settings)

    assert summary.table("crm", "contacts").superseded == 0
    assert rows(settings, "SELECT id, email, _source_file FROM raw_crm.contacts") == [
        ("1", "a@x.com", CONTACTS.format(1))
    ]


def test_superseded_order_keeps_the_newer_versions_line_items(settings: Settings) -> None:
    write_jsonl(settings, "shop/orders/o-b0000.jsonl", [order(5, "2024-01-03T00:00:00Z", items=1)])
    load(["shop"], settings)
    write_jsonl(settings, "shop/orders/o-b0001.jsonl", [order(5, "2024-01-02T00:00:00Z", items=3)])

    summary = load(["shop"], settings)

    assert summary.table("shop", "orders").superseded == 1
    assert rows(settings, "SELECT order_id, id FROM raw_shop.orders__line_items") == [(5, 50)]


def test_new_order_version_with_empty_lists_clears_its_child_rows(settings: Settings) -> None:
    write_jsonl(
        settings,
        "shop/orders/o-b0000.jsonl",
        [order(5, "2024-01-02T00:00:00Z", items=2), order(6, "2024-01-02T00:00:00Z", items=2)],
    )
    load(["shop"], settings)
    emptied = {**order(5, "2024-01-03T00:00:00Z", items=0), "discount_codes": [], "refunds": []}
    write_jsonl(settings, "shop/orders/o-b0001.jsonl", [emptied])

    load(["shop"], settings)

    assert rows(settings, "SELECT DISTINCT order_id FROM raw_shop.orders__line_items") == [(6,)]
    assert rows(settings, "SELECT order_id FROM raw_shop.orders__discount_codes") == [(6,)]
    assert rows(settings, "SELECT order_id FROM raw_shop.orders__refunds") == [(6,)]
    assert rows(settings, "SELECT count(*) FROM raw_shop.orders__line_items WHERE _clears_parent") == [(0,)]
    assert rows(settings, "SELECT id FROM raw_shop.orders ORDER BY id") == [(5,), (6,)]


def test_list_emptied_within_the_first_load_leaves_no_marker_rows(settings: Settings) -> None:
    write_jsonl(settings, "shop/orders/o-b0000.jsonl", [order(7, "2024-01-02T00:00:00Z", items=0)])

    load(["shop"], settings)

    assert rows(settings, "SELECT count(*) FROM raw_shop.orders__line_items") == [(0,)]
    assert rows(settings, "SELECT id FROM raw_shop.orders") == [(7,)]
