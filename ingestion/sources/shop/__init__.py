"""Shopify source: customers, orders (line items, discount codes, refunds), products, abandoned checkouts.

From landing files (default) or the Shopify Admin REST API; the records have the REST shape either way and go
through the same reader. Files may hold JSONL lines or one published API response (`{"orders": [...]}`,
`{"customer": {...}}`, a bare list). Cancelled orders keep `cancelled_at`, archived products their `status`:
ingestion never hides a record, dbt decides what the flags mean.

Child lists become `<parent>__<list>` tables carrying the parent key, replaced per parent on every load (merge
key on the parent key), so an order whose new version lost a line item loses it in the warehouse too.

Configuration for the API transport (dlt config/secrets or environment, never code):
`SOURCES__SHOP__BASE_URL`, `SOURCES__SHOP__TOKEN` (X-Shopify-Access-Token), `SOURCES__SHOP__API_VERSION`.
"""

from collections.abc import Iterator
from typing import Any, Literal

import dlt
from dlt.sources import DltResource

from core.settings import Settings, get_settings
from ingestion.landing import SCHEMA_CONTRACT, api_origin, read_landing, routed_table
from ingestion.sources.api_cursor import read_api, unfiltered
from ingestion.spec import ChildSpec, Column, ColumnType, TableSpec

Transport = Literal["files", "api"]
T, BIGINT, DEC, BOOL, TS = (
    ColumnType.TEXT,
    ColumnType.BIGINT,
    ColumnType.DECIMAL,
    ColumnType.BOOL,
    ColumnType.TIMESTAMP,
)
MERGE = {"disposition": "merge", "strategy": "delete-insert"}
Cursor = dlt.sources.incremental[str]
UPDATED_AT = dlt.sources.incremental("updated_at")
"""Each resource's cursor (dlt copies this default), sent to the API as `updated_at_min` (sources/api_cursor.py)."""


def _columns(*specs: tuple[str, ColumnType]) -> tuple[Column, ...]:
    """Columns whose JSON path follows from the name: `a__b` reads `/a/b` (dlt's flattening, reversed)."""
    return tuple(Column(name, "/" + name.replace("__", "/"), kind) for name, kind in specs)


CUSTOMERS = TableSpec(
    table="customers",
    primary_key="id",
    cursor="updated_at",
    envelope_keys=frozenset({"customers", "customer"}),
    columns=_columns(
        ("id", BIGINT), ("email", T), ("first_name", T), ("last_name", T), ("phone", T), ("state", T),
        ("verified_email", BOOL), ("accepts_marketing", BOOL), ("email_marketing_consent__state", T),
        ("email_marketing_consent__opt_in_level", T), ("email_marketing_consent__consent_updated_at", TS),
        ("tags", T), ("currency", T), ("orders_count", BIGINT), ("total_spent", DEC), ("note", T),
        ("default_address__address1", T), ("default_address__city", T), ("default_address__province", T),
        ("default_address__zip", T), ("default_address__country", T), ("default_address__country_code", T),
        ("default_address__phone", T), ("created_at", TS), ("updated_at", TS),
    ),
)  # fmt: skip

ORDERS = TableSpec(
    table="orders",
    primary_key="id",
    cursor="updated_at",
    envelope_keys=frozenset({"orders", "order"}),
    columns=_columns(
        ("id", BIGINT), ("name", T), ("order_number", BIGINT), ("email", T), ("phone", T),
        ("customer__id", BIGINT), ("currency", T), ("subtotal_price", DEC), ("total_price", DEC),
        ("total_tax", DEC), ("total_discounts", DEC), ("financial_status", T), ("fulfillment_status", T),
        ("cancelled_at", TS), ("cancel_reason", T), ("test", BOOL), ("source_name", T), ("browser_ip", T),
        ("shipping_address__city", T), ("shipping_address__zip", T), ("shipping_address__province", T),
        ("shipping_address__country", T), ("shipping_address__country_code", T),
        ("created_at", TS), ("updated_at", TS), ("processed_at", TS),
    ),
    children=(
        ChildSpec(
            table="orders__line_items",
            list_path="/line_items",
            parent_key="order_id",
            primary_key=("order_id", "id"),
            columns=_columns(
                ("id", BIGINT), ("product_id", BIGINT), ("variant_id", BIGINT), ("sku", T), ("title", T),
                ("quantity", BIGINT), ("price", DEC), ("total_discount", DEC), ("vendor", T),
            ),
        ),
        ChildSpec(
            table="orders__discount_codes",
            list_path="/discount_codes",
            parent_key="order_id",
            columns=_columns(("code", T), ("amount", DEC), ("type", T)),
        ),
        ChildSpec(
            table="orders__refunds",
            list_path="/refunds",
            parent_key="order_id",
            primary_key=("order_id", "id"),
            columns=(
                *_columns(("id", BIGINT), ("created_at", TS), ("processed_at", TS), ("note", T)),
                Column("amount", "/amount", DEC, sum_over="/transactions"),
            ),
        ),
    ),
)  # fmt: skip

PRODUCTS = TableSpec(
    table="products",
    primary_key="id",
    cursor="updated_at",
    envelope_keys=frozenset({"products", "product"}),
    columns=_columns(
        ("id", BIGINT), ("title", T), ("product_type", T), ("vendor", T), ("handle", T), ("status", T),
        ("tags", T), ("created_at", TS), ("updated_at", TS), ("published_at", TS),
    ),
    children=(
        ChildSpec(
            table="products__variants",
            list_path="/variants",
            parent_key="product_id",
            primary_key=("product_id", "id"),
            columns=_columns(
                ("id", BIGINT), ("title", T), ("sku", T), ("price", DEC), ("created_at", TS),
                ("updated_at", TS),
            ),
        ),
    ),
)  # fmt: skip

CHECKOUTS = TableSpec(
    table="checkouts",
    primary_key="id",
    cursor="updated_at",
    envelope_keys=frozenset({"checkouts", "checkout"}),
    columns=_columns(
        ("id", BIGINT), ("token", T), ("email", T), ("customer__id", BIGINT), ("currency", T),
        ("subtotal_price", DEC), ("total_price", DEC), ("abandoned_checkout_url", T), ("completed_at", TS),
        ("created_at", TS), ("updated_at", TS),
    ),
    children=(
        ChildSpec(
            table="checkouts__line_items",
            list_path="/line_items",
            parent_key="checkout_id",
            columns=_columns(
                ("product_id", BIGINT), ("variant_id", BIGINT), ("sku", T), ("title", T),
                ("quantity", BIGINT),
                ("price", DEC),
            ),
        ),
    ),
)  # fmt: skip


@dlt.source(name="shop")
def shop_source(
    transport: Transport = "files",
    settings: Settings | None = None,
    base_url: str | None = dlt.config.value,
    token: str | None = dlt.secrets.value,
    api_version: str = "2024-07",
) -> list[DltResource]:
    """The four Shopify entities from the settings' landing folder (read from the environment when none are
    given: the source is an entry point of its own) or from the API, which needs base_url and token."""
    if transport not in ("files", "api"):
        raise ValueError(f"unknown transport {transport!r}: use 'files' or 'api'")
    if transport == "api" and (not base_url or not token):
        raise ValueError("shop api transport needs sources.shop.base_url and sources.shop.token (dlt config)")
    reader = _Reader(transport, settings or get_settings(), base_url, token, api_version)
    return [customers(reader), orders(reader), products(reader), checkouts(reader)]


class _Reader:
    """Where a resource's records come from (transport and its settings); the record shape is the spec's."""

    def __init__(
        self,
        transport: Transport,
        settings: Settings,
        base_url: str | None,
        token: str | None,
        api_version: str,
    ) -> None:
        self.transport = transport
        self.settings = settings
        self.base_url, self.token, self.api_version = base_url, token, api_version

    def read(self, spec: TableSpec, cursor: dlt.sources.incremental[str]) -> Iterator[Any]:
        """The resource's records; with the API, only those updated since the newest one of the last run."""
        if self.transport == "api":
            from ingestion.sources.shop.shopify_api import iter_resource

            def fetch(since: Any) -> Any:
                return iter_resource(self.base_url, self.token, self.api_version, spec.table, since)

            origin = api_origin(f"{self.base_url}/admin/api/{self.api_version}/{spec.table}.json")
            yield from read_api(spec, spec.table, cursor, fetch, origin, self.settings)
            return
        unfiltered(cursor)
        landing = self.settings.landing_dir
        state = dlt.current.resource_state()
        yield from read_landing(spec, spec.table, landing / "shop" / spec.table, landing, state, settings=self.settings)


@dlt.resource(
    name="customers",
    table_name=routed_table,
    primary_key="id",
    write_disposition=MERGE,
    schema_contract=SCHEMA_CONTRACT,
)
def customers(reader: _Reader, updated_at: Cursor = UPDATED_AT) -> Iterator[Any]:
    """Shopify customers, merged on id, newest updated_at wins."""
    yield from reader.read(CUSTOMERS, updated_at)


@dlt.resource(
    name="orders",
    table_name=routed_table,
    primary_key="id",
    write_disposition=MERGE,
    schema_contract=SCHEMA_CONTRACT,
)
def orders(reader: _Reader, updated_at: Cursor = UPDATED_AT) -> Iterator[Any]:
    """Orders merged on id (newest updated_at wins); its lists replaced per order."""
    yield from reader.read(ORDERS, updated_at)


@dlt.resource(
    name="products",
    table_name=routed_table,
    primary_key="id",
    write_disposition=MERGE,
    schema_contract=SCHEMA_CONTRACT,
)
def products(reader: _Reader, updated_at: Cursor = UPDATED_AT) -> Iterator[Any]:
    """Products merged on id (newest updated_at wins); variants replaced per product."""
    yield from reader.read(PRODUCTS, updated_at)


@dlt.resource(
    name="checkouts",
    table_name=routed_table,
    primary_key="id",
    write_disposition=MERGE,
    schema_contract=SCHEMA_CONTRACT,
)
def checkouts(reader: _Reader, updated_at: Cursor = UPDATED_AT) -> Iterator[Any]:
    """Abandoned checkouts merged on id (newest updated_at wins); line items replaced per checkout."""
    yield from reader.read(CHECKOUTS, updated_at)
