"""Shopify checkouts: the abandoned ones a person starts, the completed ones behind some orders, and their record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from demo_data.catalog import Product, money
from demo_data.dirt_sources import SHOP_DOMAIN
from demo_data.keys import Stream, checkout_id, hex_token, rng_for, shop_time, variant_id
from demo_data.people import Person, Timeline
from demo_data.records.model import WrittenIdentity
from demo_data.shop.address import shopify_address
from demo_data.shop.basket import Line, gross, pick_lines, sales_tax
from demo_data.shop.orders import PlannedOrder, active_window, poisson

ABANDONED_PER_MONTH = 0.5
"""Mean abandoned checkouts per 30 days of a Shopify customer with engagement 1."""


@dataclass(frozen=True)
class PlannedCheckout:
    id: int
    token: str
    created_at: datetime
    completed_at: datetime | None
    currency: str
    lines: tuple[Line, ...]

    @property
    def subtotal(self) -> float:
        return round(gross(self.lines), 2)


def plan_checkouts(
    seed: int,
    person: Person,
    timeline: Timeline,
    batch: int,
    catalog: tuple[Product, ...],
    orders: list[PlannedOrder],
) -> list[PlannedCheckout]:
    """Abandoned checkouts (completed_at null) and, for some orders, the completed checkout behind them."""
    if not person.in_shop or batch < person.batch:
        return []
    start, end = active_window(person, timeline, batch)
    rng = rng_for(seed, Stream.ORDERS, batch, person.index + (1 << 40))
    days = max(0.0, (end - start).total_seconds() / 86_400)
    span = max(1, int((end - start).total_seconds()))
    checkouts = []
    for n in range(min(49, poisson(rng, person.engagement * ABANDONED_PER_MONTH * days / 30))):
        at = start + timedelta(seconds=rng.randrange(span))
        checkouts.append(
            PlannedCheckout(
                checkout_id(batch, person.index, n),
                hex_token(rng),
                at,
                None,
                person.country.currency,
                pick_lines(rng, catalog, person.country.currency),
            )
        )
    for n, order in enumerate(orders):
        if rng.random() < 0.3:
            created = max(start, order.at - timedelta(minutes=rng.randint(2, 20)))
            checkouts.append(
                PlannedCheckout(
                    checkout_id(batch, person.index, 50 + n),
                    hex_token(rng),
                    created,
                    order.at,
                    order.currency,
                    order.lines,
                )
            )
    return sorted(checkouts, key=lambda c: c.created_at)


def checkout_record(
    person: Person, identity: WrittenIdentity, checkout: PlannedCheckout, customer: dict[str, Any]
) -> dict[str, Any]:
    """A Shopify abandoned checkout (completed_at null) or a completed one."""
    subtotal = checkout.subtotal
    tax, included = sales_tax(person, subtotal)
    updated = checkout.completed_at or checkout.created_at
    return {
        "id": checkout.id,
        "token": checkout.token,
        "cart_token": checkout.token[::-1],
        "email": identity.clean_email,
        "gateway": None,
        "buyer_accepts_marketing": customer.get("accepts_marketing", False),
        "created_at": shop_time(checkout.created_at),
        "updated_at": shop_time(updated),
        "completed_at": shop_time(checkout.completed_at) if checkout.completed_at else None,
        "closed_at": None,
        "currency": checkout.currency,
        "presentment_currency": checkout.currency,
        "subtotal_price": money(subtotal),
        "total_tax": money(tax),
        "taxes_included": included,
        "total_discounts": "0.00",
        "total_line_items_price": money(subtotal),
        "total_price": money(subtotal + (0 if included else tax)),
        "line_items": [
            {
                "product_id": line.product.id,
                "variant_id": variant_id(line.product.n, line.variant),
                "sku": line.product.sku(line.variant),
                "title": line.product.title,
                "variant_title": line.product.variants[line.variant],
                "vendor": line.product.vendor,
                "quantity": line.quantity,
                "price": money(line.price),
                "line_price": money(line.price * line.quantity),
                "requires_shipping": True,
                "taxable": True,
                "gift_card": False,
                "fulfillment_service": "manual",
            }
            for line in checkout.lines
        ],
        "abandoned_checkout_url": f"https://{SHOP_DOMAIN}/{person.index}/checkouts/{checkout.token}/recover",
        "source_name": "web",
        "customer": customer,
        "shipping_address": shopify_address(person, identity),
        "billing_address": shopify_address(person, identity),
    }
