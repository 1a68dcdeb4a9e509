"""Landing-file records and warehouse reads shared by the ingestion tests: `write_jsonl` into the landing
folder of the `settings` fixture (tests/conftest.py), `rows` / `columns` of its warehouse, and minimal
vendor-shaped records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from core.settings import Settings


def write_jsonl(settings: Settings, relative: str, records: list[Any]) -> Path:
    path = settings.landing_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def rows(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def columns(settings: Settings, schema: str, table: str) -> dict[str, str]:
    return dict(
        rows(
            settings,
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_schema = '{schema}' AND table_name = '{table}'",
        )
    )


def contact(cid: str, updated: str, email: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "properties": {"email": email, "firstname": "Ann", "hs_email_optout": "false"},
        "createdAt": "2024-01-01T00:00:00Z",
        "updatedAt": updated,
        "archived": False,
        **extra,
    }


def order(oid: int, updated: str, items: int = 2) -> dict[str, Any]:
    return {
        "id": oid,
        "name": f"#{oid}",
        "order_number": oid,
        "email": "a@example.com",
        "customer": {"id": 7, "email": "a@example.com"},
        "currency": "EUR",
        "total_price": "30.50",
        "subtotal_price": "30.50",
        "total_tax": "0.00",
        "total_discounts": "1.00",
        "financial_status": "paid",
        "cancelled_at": None,
        "test": False,
        "shipping_address": {"city": "Gent", "zip": "9000", "country_code": "BE"},
        "line_items": [
            {
                "id": oid * 10 + i,
                "product_id": 1,
                "variant_id": 2,
                "title": "Tea",
                "quantity": 1,
                "price": "15.25",
            }
            for i in range(items)
        ],
        "discount_codes": [{"code": "WELCOME", "amount": "1.00", "type": "fixed_amount"}],
        "refunds": [
            {"id": 99, "created_at": updated, "transactions": [{"amount": "2.50"}, {"amount": "1.25"}]}
        ],
        "created_at": "2024-01-01T10:00:00+02:00",
        "updated_at": updated,
        "processed_at": "2024-01-01T10:00:00+02:00",
    }


def event(message_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "messageId": message_id,
        "anonymousId": "anon-1",
        "userId": None,
        "event": "Product Viewed",
        "timestamp": "2024-01-01T10:00:00.123Z",
        "receivedAt": "2024-01-01T10:00:01Z",
        "context": {
            "userAgent": "Mozilla/5.0",
            "ip": "10.0.0.1",
            "page": {"url": "https://x/p", "path": "/p"},
        },
        "properties": {"sku": "T-1", "price": 15.25},
        **extra,
    }
