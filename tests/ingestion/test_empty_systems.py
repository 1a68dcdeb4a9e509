"""An absent or empty source system still has its raw tables after a load: empty, with their declared columns.

dbt sources and Dagster checks read `raw_<system>.<table>`; before this, a system whose first delivery had not
come had no tables, and every reader of them failed with "table does not exist" (issue 23: a CRM-only deployment).
"""

from __future__ import annotations

import pytest

from core.settings import Settings
from ingestion.pipelines import SYSTEMS, load
from ingestion.sources.analytics import EVENTS
from ingestion.sources.crm import CONTACTS
from ingestion.sources.shop import CHECKOUTS, CUSTOMERS, ORDERS, PRODUCTS
from ingestion.spec import QUARANTINE_COLUMNS, TableSpec
from tests.ingestion.records import contact, event, order, rows, write_jsonl

DECLARED: dict[str, tuple[TableSpec, ...]] = {
    "crm": (CONTACTS,),
    "shop": (CUSTOMERS, ORDERS, PRODUCTS, CHECKOUTS),
    "analytics": (EVENTS,),
}
TABLES = {
    "crm": ["contacts", "quarantine"],
    "shop": [
        "checkouts", "checkouts__line_items", "customers", "orders", "orders__discount_codes", "orders__line_items",
        "orders__refunds", "products", "products__variants", "quarantine",
    ],
    "analytics": ["events", "quarantine"],
}  # fmt: skip
DUCKDB_TYPES = {
    "text": "VARCHAR",
    "json": "JSON",
    "bigint": "BIGINT",
    "bool": "BOOLEAN",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "decimal": "DECIMAL(38,9)",
}


def declared_columns(system: str) -> dict[str, dict[str, str]]:
    """table -> column -> DuckDB type, as the specs declare them."""
    tables: dict[str, dict[str, str]] = {
        "quarantine": {n: DUCKDB_TYPES[c["data_type"]] for n, c in QUARANTINE_COLUMNS.items()}
    }
    for spec in DECLARED[system]:
        tables[spec.table] = {n: DUCKDB_TYPES[c["data_type"]] for n, c in spec.dlt_columns().items()}
        for child in spec.children:
            hints = child.dlt_columns(spec.key_column.type)
            tables[child.table] = {n: DUCKDB_TYPES[c["data_type"]] for n, c in hints.items()}
    return tables


def raw_tables(s: Settings, system: str) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for table, column, kind in rows(
        s,
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = 'raw_{system}' AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\' "
        "ORDER BY table_name, ordinal_position",
    ):
        found.setdefault(table, {})[column] = kind
    return found


def write_system(s: Settings, system: str) -> None:
    if system == "crm":
        write_jsonl(s, "crm/contacts/c.jsonl", [contact("1", "2024-01-02T00:00:00Z", "a@x")])
    elif system == "shop":
        write_jsonl(s, "shop/orders/o.jsonl", [order(1, "2024-01-02T00:00:00Z")])
    else:
        write_jsonl(s, "analytics/events/e.jsonl", [event("m-1")])


@pytest.mark.parametrize(
    "present", [["crm"], ["shop"], ["analytics"], []], ids=["crm_only", "shop_only", "analytics_only", "none"]
)
def test_every_declared_raw_table_exists_after_a_load_with_its_declared_columns(
    settings: Settings,
    present: list[str],
) -> None:
    settings.landing_dir.mkdir(parents=True)
    for system in present:
        write_system(settings, system)

    summary = load(SYSTEMS, settings)

    for system in ("crm", "shop", "analytics"):
        tables = raw_tables(settings, system)
        assert sorted(tables) == TABLES[system], system
        for table, declared in declared_columns(system).items():
            assert declared.items() <= tables[table].items(), f"raw_{system}.{table}"
        if system not in present:
            assert all(t.total == 0 for t in summary.tables if t.system == system)
            assert all(rows(settings, f"SELECT count(*) FROM raw_{system}.{t}") == [(0,)] for t in tables)
    for system in present:
        loaded = {t.table: t.loaded for t in summary.tables if t.system == system and t.loaded}
        assert loaded, f"{system} loaded its rows beside the empty tables"


def test_a_missing_landing_directory_is_a_load_of_nothing_with_every_table(settings: Settings) -> None:
    assert not settings.landing_dir.exists()

    summary = load(SYSTEMS, settings)

    assert summary.rows_loaded == summary.rows_quarantined == 0
    assert {system: sorted(raw_tables(settings, system)) for system in TABLES} == TABLES


def test_data_arriving_after_an_empty_load_lands_in_the_empty_tables(settings: Settings) -> None:
    load(SYSTEMS, settings)
    write_system(settings, "shop")
    write_system(settings, "crm")

    summary = load(SYSTEMS, settings)

    assert (summary.table("shop", "orders").loaded, summary.table("shop", "orders__line_items").loaded) == (1, 2)
    assert summary.table("crm", "contacts").total == 1
    assert rows(settings, "SELECT count(*) FROM raw_shop.orders__refunds") == [(1,)]
    assert rows(settings, "SELECT count(*) FROM raw_shop.products") == [(0,)]
