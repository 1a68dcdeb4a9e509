"""Shopify orders: what a person orders when (a pure function of seed, person and batch), and the order record."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from demo_data.catalog import Product, money
from demo_data.dirt import DirtLedger
from demo_data.dirt_sources import TEST_ORDER_EMAIL
from demo_data.keys import Stream, hex_token, order_id, rng_for, shop_time, variant_id
from demo_data.people import Person, Timeline
from demo_data.records.model import WrittenIdentity
from demo_data.shop.address import shopify_address
from demo_data.shop.basket import Line, gross, pick_lines, sales_tax

ORDERS_PER_MONTH = 0.7
"""Mean orders per 30 days of a Shopify customer with engagement 1."""
DISCOUNT_CODES = (
    ("WELCOME10", "percentage", 0.10),
    ("SPRING15", "percentage", 0.15),
    ("FREESHIP", "shipping", 0.0),
    ("VIP20", "percentage", 0.20),
)
CANCEL_REASONS = ("customer", "inventory", "declined", "fraud", "other")


@dataclass(frozen=True)
class PlannedOrder:
    id: int
    at: datetime
    currency: str
    lines: tuple[Line, ...]
    discount: tuple[str, str, float] | None
    test: bool
    test_email: bool
    cancelled: bool
    refunded: bool
    detail_seed: int
    """Seeds the details drawn when the order is written (tokens, refund and cancel times)."""

    @property
    def subtotal(self) -> float:
        total = gross(self.lines)
        return round(total * (1 - self.discount[2]), 2) if self.discount else round(total, 2)

    @property
    def discount_amount(self) -> float:
        return round(gross(self.lines) - self.subtotal, 2)

    @property
    def counts_as_spent(self) -> bool:
        return not (self.test or self.test_email or self.cancelled)


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means used here."""
    limit, k, p = math.exp(-min(mean, 30.0)), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def active_window(person: Person, timeline: Timeline, batch: int) -> tuple[datetime, datetime]:
    start, end = timeline.window(batch)
    return max(start, person.created_at), end


def plan_orders(
    seed: int,
    person: Person,
    timeline: Timeline,
    batch: int,
    catalog: tuple[Product, ...],
    ledger: DirtLedger,
) -> list[PlannedOrder]:
    """The person's orders placed in `batch`'s window, oldest first (none unless they are a Shopify
    customer)."""
    if not person.in_shop or batch < person.batch:
        return []
    start, end = active_window(person, timeline, batch)
    rng = rng_for(seed, Stream.ORDERS, batch, person.index)
    days = max(0.0, (end - start).total_seconds() / 86_400)
    count = min(99, poisson(rng, person.engagement * ORDERS_PER_MONTH * days / 30))
    span = max(1, int((end - start).total_seconds()))
    times = sorted(start + timedelta(seconds=rng.randrange(span)) for _ in range(count))
    orders = []
    for n, at in enumerate(times):
        currency = person.country.currency
        test = ledger.roll("test_order", rng)
        cancelled = ledger.roll("cancelled_order", rng)
        refunded = False if cancelled else ledger.roll("refunded_order", rng)
        test_email = test and rng.random() < 0.4
        orders.append(
            PlannedOrder(
                id=order_id(batch, person.index, n),
                at=at,
                currency=currency,
                lines=pick_lines(rng, catalog, currency),
                discount=rng.choice(DISCOUNT_CODES) if rng.random() < 0.2 else None,
                test=test and (not test_email or rng.random() < 0.5),
                test_email=test_email,
                cancelled=cancelled,
                refunded=refunded,
                detail_seed=rng.getrandbits(64),
            )
        )
    return orders


def order_record(
    person: Person,
    identity: WrittenIdentity,
    order: PlannedOrder,
    number: int,
    customer: dict[str, Any],
    browser_ip: str | None,
    end: datetime,
) -> dict[str, Any]:
    """A Shopify Admin REST order, with line items, discount codes, refunds and addresses."""
    rng = random.Random(order.detail_seed)
    subtotal = order.subtotal
    tax, included = sales_tax(person, subtotal)
    shipping = 0.0 if subtotal >= 100 or (order.discount and order.discount[1] == "shipping") else 7.5
    total = round(subtotal + shipping + (0 if included else tax), 2)
    updated = order.at
    cancelled_at = None
    if order.cancelled:
        cancelled_at = min(end, order.at + timedelta(minutes=rng.randint(5, 2880)))
        updated = cancelled_at
    refunds = []
    if order.refunded:
        refund_at = min(end, order.at + timedelta(hours=rng.randint(24, 336)))
        refunds = [_refund(order, rng, refund_at, total)]
        updated = refund_at
    status = _financial_status(order, refunds, total, end, rng)
    address = shopify_address(person, identity)
    email = TEST_ORDER_EMAIL.format(n=order.id % 100_000) if order.test_email else identity.clean_email
    line_items = [_line_item(order, i, line) for i, line in enumerate(order.lines)]
    return {
        "id": order.id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order.id}",
        "name": f"#{number}",
        "order_number": number,
        "number": number - 1000,
        "email": email,
        "contact_email": email,
        "phone": None,
        "customer": customer,
        "currency": order.currency,
        "presentment_currency": order.currency,
        "subtotal_price": money(subtotal),
        "total_line_items_price": money(subtotal + order.discount_amount),
        "total_price": money(total),
        "total_tax": money(tax),
        "taxes_included": included,
        "total_discounts": money(order.discount_amount),
        "total_shipping_price_set": {"shop_money": {"amount": money(shipping), "currency_code": order.currency}},
        "financial_status": status,
        "fulfillment_status": None
        if order.cancelled
        else ("fulfilled" if order.at < end - timedelta(days=3) else None),
        "cancelled_at": shop_time(cancelled_at) if cancelled_at else None,
        "cancel_reason": rng.choice(CANCEL_REASONS) if order.cancelled else None,
        "closed_at": None,
        "confirmed": True,
        "test": order.test,
        "gateway": "bogus" if order.test else "shopify_payments",
        "source_name": "shopify_draft_order" if order.test else "web",
        "browser_ip": browser_ip,
        "buyer_accepts_marketing": customer.get("accepts_marketing", False),
        "tags": "",
        "note": None,
        "token": hex_token(rng),
        "shipping_address": address,
        "billing_address": address,
        "line_items": line_items,
        "discount_codes": [
            {
                "code": order.discount[0],
                "amount": money(order.discount_amount if order.discount[1] != "shipping" else 7.5),
                "type": order.discount[1],
            }
        ]
        if order.discount
        else [],
        "refunds": refunds,
        "created_at": shop_time(order.at),
        "updated_at": shop_time(updated),
        "processed_at": shop_time(order.at),
    }


def _line_item(order: PlannedOrder, i: int, line: Line) -> dict[str, Any]:
    size = line.product.variants[line.variant]
    discount = round(line.price * line.quantity * order.discount[2], 2) if order.discount else 0.0
    return {
        "id": order.id * 10 + i,
        "variant_id": variant_id(line.product.n, line.variant),
        "product_id": line.product.id,
        "title": line.product.title,
        "variant_title": size,
        "name": f"{line.product.title} - {size}",
        "sku": line.product.sku(line.variant),
        "vendor": line.product.vendor,
        "quantity": line.quantity,
        "price": money(line.price),
        "total_discount": money(discount),
        "fulfillment_service": "manual",
        "fulfillment_status": None,
        "requires_shipping": True,
        "taxable": True,
        "gift_card": False,
        "grams": 500,
    }


def _refund(order: PlannedOrder, rng: random.Random, at: datetime, total: float) -> dict[str, Any]:
    line = order.lines[0]
    full = rng.random() < 0.5
    amount = total if full else round(min(total, line.price), 2)
    refund_id = order.id + 900_000_000_000_000
    return {
        "id": refund_id,
        "order_id": order.id,
        "created_at": shop_time(at),
        "processed_at": shop_time(at),
        "note": rng.choice(("Wrong size", "Damaged in transit", "Changed my mind", None)),
        "restock": True,
        "user_id": None,
        "refund_line_items": [
            {
                "id": refund_id * 10,
                "line_item_id": order.id * 10,
                "quantity": 1,
                "restock_type": "return",
                "subtotal": round(line.price, 2),
                "total_tax": 0.0,
            }
        ],
        "transactions": [
            {
                "id": refund_id * 10 + 1,
                "order_id": order.id,
                "kind": "refund",
                "gateway": "shopify_payments",
                "status": "success",
                "amount": money(amount),
                "currency": order.currency,
                "created_at": shop_time(at),
                "processed_at": shop_time(at),
                "test": order.test,
            }
        ],
        "order_adjustments": [],
    }


def _financial_status(
    order: PlannedOrder, refunds: list[dict[str, Any]], total: float, end: datetime, rng: random.Random
) -> str:
    if order.cancelled:
        return rng.choice(("voided", "refunded"))
    if refunds:
        refunded = float(refunds[0]["transactions"][0]["amount"])
        return "refunded" if refunded >= total else "partially_refunded"
    if order.at > end - timedelta(days=2) and rng.random() < 0.3:
        return rng.choice(("pending", "authorized"))
    return "paid"
