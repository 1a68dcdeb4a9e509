"""Hand-written raw tables that follow docs/contracts.md section 2: a few rows of every kind of dirt.

No tests here: the dbt tests build on these rows where a case is small enough to reason about row by row
(standardization, incremental equality), independently of the generator and the real ingestion.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

# Loads after every event they carry (the latest is 2026-11-29): staging treats an event dated after its load
# as a clock error.
LOAD_1 = "1796000000.000001"  # 2026-11-29 23:33 UTC
LOAD_2 = "1796090000.000001"
LOAD_3 = "1796180000.000001"

_TABLES = {
    "raw_crm.contacts": """
        id varchar, email varchar, firstname varchar, lastname varchar, phone varchar, mobilephone varchar,
        address varchar, city varchar, state varchar, zip varchar, country varchar, date_of_birth varchar,
        lifecyclestage varchar, hs_email_optout varchar, createdate varchar, lastmodifieddate varchar,
        created_at timestamptz, updated_at timestamptz, archived boolean""",
    "raw_shop.customers": """
        id bigint, email varchar, first_name varchar, last_name varchar, phone varchar, state varchar,
        verified_email boolean, accepts_marketing boolean, email_marketing_consent__state varchar,
        email_marketing_consent__opt_in_level varchar,
        email_marketing_consent__consent_updated_at timestamptz,
        tags varchar, currency varchar, orders_count bigint, total_spent decimal(38, 9), note varchar,
        default_address__address1 varchar, default_address__city varchar, default_address__province varchar,
        default_address__zip varchar, default_address__country varchar, default_address__country_code varchar,
        default_address__phone varchar, created_at timestamptz, updated_at timestamptz""",
    "raw_shop.orders": """
        id bigint, name varchar, order_number bigint, email varchar, phone varchar, customer__id bigint,
        currency varchar, subtotal_price decimal(38, 9), total_price decimal(38, 9), total_tax decimal(38, 9),
        total_discounts decimal(38, 9), financial_status varchar, fulfillment_status varchar,
        cancelled_at timestamptz, cancel_reason varchar, test boolean, source_name varchar,
        browser_ip varchar,
        shipping_address__city varchar, shipping_address__zip varchar, shipping_address__province varchar,
        shipping_address__country varchar, shipping_address__country_code varchar, created_at timestamptz,
        updated_at timestamptz, processed_at timestamptz""",
    "raw_shop.orders__line_items": """
        id bigint, order_id bigint, product_id bigint, variant_id bigint, sku varchar, title varchar,
        quantity bigint, price decimal(38, 9), total_discount decimal(38, 9), vendor varchar""",
    "raw_shop.orders__discount_codes": "order_id bigint, code varchar, amount decimal(38, 9), type varchar",
    "raw_shop.orders__refunds": """
        id bigint, order_id bigint, created_at timestamptz, processed_at timestamptz, note varchar,
        amount decimal(38, 9)""",
    "raw_shop.products": """
        id bigint, title varchar, product_type varchar, vendor varchar, handle varchar, status varchar,
        tags varchar, created_at timestamptz, updated_at timestamptz, published_at timestamptz""",
    "raw_shop.products__variants": """
        id bigint, product_id bigint, title varchar, sku varchar, price decimal(38, 9),
        created_at timestamptz, updated_at timestamptz""",
    "raw_shop.checkouts": """
        id bigint, token varchar, email varchar, customer__id bigint, currency varchar,
        subtotal_price decimal(38, 9), total_price decimal(38, 9), abandoned_checkout_url varchar,
        completed_at timestamptz, created_at timestamptz, updated_at timestamptz""",
    "raw_shop.checkouts__line_items": """
        checkout_id bigint, product_id bigint, variant_id bigint, sku varchar, title varchar,
        quantity bigint, price decimal(38, 9)""",
    "raw_analytics.events": """
        message_id varchar, type varchar, event varchar, name varchar, anonymous_id varchar, user_id varchar,
        timestamp timestamptz, sent_at timestamptz, received_at timestamptz, context__user_agent varchar,
        context__ip varchar, context__page__url varchar, context__page__path varchar,
        context__page__referrer varchar, context__page__title varchar, properties json, traits json""",
}

_DLT_COLUMNS = "_dlt_load_id varchar, _dlt_id varchar, _source_file varchar, _source_line bigint"

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15"
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

# fmt: off
_ROWS: dict[str, list[tuple]] = {
    "raw_crm.contacts": [
        ("101", " Ada.Lovelace@Example.com ", "Ada", "Lovelace", "(415) 555-0134", None, "1 Main St",
         "San Francisco", "CA", "94105", "U.S.A.", "07/03/1985", "customer", "false", None, None,
         "2026-09-01 10:00:00+02", "2026-11-01 10:00:00+00", False),
        ("102", "grace@example", "Grace", "Hopper", "030 1234567", "+49 151 2345678", "Hauptstr. 1", "Berlin",
         None, "10115", "Deutschland", "1985-02-30", "lead", "true", None, None,
         "2026-09-02 10:00:00+00", "2026-11-02 10:00:00+00", False),
        ("103", "alan@example.co.uk", "Alan", "Turing", "+44 (0)20 7946 0958", None, None, "London", None,
         "SW1A 1AA", "uk", "June 23, 1912", "customer", "false", None, None,
         "2026-09-03 10:00:00+00", "2026-11-03 10:00:00+00", False),
    ],
    "raw_shop.customers": [
        (1001, "ada.lovelace@example.com", "Ada", "Lovelace", "+1 415 555 0134", "enabled", True, True,
         "subscribed", "single_opt_in", "2026-09-05 10:00:00+00", "vip", "USD", 2, 150.5, None,
         "1 Main St", "San Francisco", "California", "94105", "United States", "US", None,
         "2026-09-05 10:00:00+00", "2026-11-05 10:00:00+00"),
        (1002, "alan@example.co.uk", "Alan", "Turing", "020 7946 0958", "enabled", True, False,
         "unsubscribed", "single_opt_in", "2026-10-05 10:00:00+00", None, "GBP", 1, 40.0, None,
         None, "London", None, "SW1A 1AA", "Great Britain", None, None,
         "2026-09-06 10:00:00+00", "2026-11-06 10:00:00+00"),
    ],
    "raw_shop.orders": [
        (5001, "#1001", 1001, "ada.lovelace@example.com", None, 1001, "USD", 100, 110, 10, 0, "paid",
         "fulfilled", None, None, False, "web", "10.0.0.1", "San Francisco", "94105", "CA", "United States",
         "US", "2026-11-10 09:00:00-05", "2026-11-10 14:00:00+00", "2026-11-10 09:00:00-05"),
        (5002, "#1002", 1002, "alan@example.co.uk", None, 1002, "GBP", 40, 40, 0, 5, "paid",
         None, None, None, False, "web", "10.0.0.2", "London", "SW1A 1AA", None, "United Kingdom",
         "GB", "2026-11-12 09:00:00+00", "2026-11-12 09:00:00+00", "2026-11-12 09:00:00+00"),
        (5003, "#1003", 1003, "test@example.com", None, None, "USD", 1, 1, 0, 0, "paid", None, None, None,
         True, "web", None, None, None, None, None, "US", "2026-11-13 09:00:00+00", "2026-11-13 09:00:00+00",
         "2026-11-13 09:00:00+00"),
    ],
    "raw_shop.orders__line_items": [
        (7001, 5001, 9001, 9101, "SKU-1", "Trail Shoe", 2, 50, 0, "Acme"),
        (7002, 5002, 9002, 9201, "SKU-2", "Rain Jacket", 1, 45, 5, "Acme"),
        (7003, 5003, 9001, 9101, "SKU-1", "Trail Shoe", 1, 1, 0, "Acme"),
    ],
    "raw_shop.orders__discount_codes": [(5002, "WELCOME5", 5, "fixed_amount")],
    "raw_shop.orders__refunds": [
        (8001, 5001, "2026-11-15 10:00:00+00", "2026-11-15 10:00:00+00", "damaged", 20),
    ],
    "raw_shop.products": [
        (9001, "Trail Shoe", "Footwear", "Acme", "trail-shoe", "active", "run",
         "2026-01-01 00:00:00+00", "2026-06-01 00:00:00+00", "2026-01-02 00:00:00+00"),
        (9002, "Rain Jacket", "Outerwear", "Acme", "rain-jacket", "active", None,
         "2026-01-01 00:00:00+00", "2026-06-01 00:00:00+00", "2026-01-02 00:00:00+00"),
    ],
    "raw_shop.products__variants": [
        (9101, 9001, "42", "SKU-1", 50, "2026-01-01 00:00:00+00", "2026-06-01 00:00:00+00"),
        (9201, 9002, "M", "SKU-2", 45, "2026-01-01 00:00:00+00", "2026-06-01 00:00:00+00"),
    ],
    "raw_shop.checkouts": [
        (6001, "tok-1", "ada.lovelace@example.com", 1001, "USD", 45, 45, "https://shop.example/c/tok-1",
         None, "2026-11-18 10:00:00+00", "2026-11-18 10:00:00+00"),
    ],
    "raw_shop.checkouts__line_items": [(6001, 9002, 9201, "SKU-2", "Rain Jacket", 1, 45)],
}
# fmt: on


def event(
    message_id: str,
    kind: str,
    name: str | None,
    anonymous_id: str,
    user_id: str | None,
    at: str,
    user_agent: str = BROWSER,
    properties: str = "{}",
    traits: str = "{}",
) -> tuple:
    return (message_id, kind, name if kind == "track" else None, name if kind == "page" else None,
            anonymous_id, user_id, at, at, at, user_agent, "10.0.0.9", "https://shop.example/p",
            "/p", None, "Shop", properties, traits)  # fmt: skip


# fmt: off
EVENTS_BATCH_1 = [
    event("m1", "identify", None, "anon-1", "1001", "2026-11-20 10:00:00+00",
           traits='{"email": "Ada.Lovelace@example.com"}'),
    event("m2", "track", "Product Viewed", "anon-1", "1001", "2026-11-20 10:05:00+00",
           properties='{"product_id": "9001", "category": "Footwear"}'),
    event("m3", "track", "Product Viewed", "anon-1", "1001", "2026-11-20 11:00:00+00",
           properties='{"product_id": "9002", "category": "Outerwear"}'),
    event("m4", "page", "Home", "anon-bot", None, "2026-11-20 12:00:00+00", user_agent=BOT),
    event("m5", "track", "Unsubscribed", "anon-2", "1002", "2026-11-21 09:00:00+00"),
]
EVENTS_BATCH_2 = [
    event("m6", "track", "Product Added", "anon-1", "1001", "2026-11-21 10:10:00+00",
           properties='{"product_id": "9002", "category": "Outerwear"}'),
    # arrives late, inside the first batch's window: it bridges m2 and m3 into one session
    event("m7", "track", "Product Viewed", "anon-1", "1001", "2026-11-20 10:35:00+00",
           properties='{"product_id": "9001", "category": "Footwear"}'),
]
# fmt: on


def create_empty_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Every contract table, empty, with the columns dlt adds: for tests that write their own rows."""
    for table, columns in _TABLES.items():
        con.execute(f"create schema if not exists {table.split('.')[0]}")
        con.execute(f"create or replace table {table} ({columns}, {_DLT_COLUMNS})")
    _create_declared_empty_tables(con)


def _create_declared_empty_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The ESP's and the helpdesk's raw tables, empty, as their loader declares them (no rows are written here for
    them: their staging has unit tests of its own), so that the sources of a whole `dbt build` exist."""
    from ingestion.landing.output import declared_empty
    from ingestion.sources import helpdesk, mailchimp
    from ingestion.sources.helpdesk.sentiment import score_new_comments

    for schema, specs in {
        "raw_mailchimp": (mailchimp.MEMBERS, mailchimp.EMAIL_ACTIVITY, mailchimp.WEBHOOK_EVENTS),
        "raw_helpdesk": helpdesk.SPECS,
    }.items():
        con.execute(f"create schema if not exists {schema}")
        for spec in specs:
            for table in (spec.table, *(child.table for child in spec.children)):
                (select,) = declared_empty(spec, table).parts
                con.execute(f"create or replace table {schema}.{table} as {select}")
    score_new_comments(con)  # creates the comments' sentiment table, empty like its comments


def create_raw_tables(warehouse: Path) -> None:
    """Create every contract table and load the first batch (LOAD_1) into `warehouse`."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute("set TimeZone = 'UTC'")
        create_empty_raw_tables(con)
        for table, rows in {**_ROWS, "raw_analytics.events": EVENTS_BATCH_1}.items():
            _insert(con, table, rows, LOAD_1)


def append_events(warehouse: Path, rows: list[tuple], load_id: str = LOAD_2) -> None:
    """Append Segment messages as dlt would on a later load."""
    with duckdb.connect(str(warehouse)) as con:
        _insert(con, "raw_analytics.events", rows, load_id)


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple], load_id: str) -> None:
    placeholders = ", ".join(["?"] * len(rows[0]))
    sql = f"insert into {table} values ({placeholders}, ?, ?, null, null)"
    for i, row in enumerate(rows):
        con.execute(sql, [*row, load_id, f"{load_id}-{i}"])
