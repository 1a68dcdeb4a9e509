"""A person's own sessions in a batch: browsing, the visits behind orders and abandoned checkouts, unsubscribing.

Sessions are bursts of events seconds to minutes apart, separated by hours or days, so that 30-minute
sessionization has something to find. Every device of an identifiable person is identified in its first
session (userId = Shopify customer id, and/or traits.email), so each anonymousId is linkable to its person.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from demo_data.analytics.session import LOGIN_PAGE, Page, Session, product_props
from demo_data.catalog import Product
from demo_data.dirt_sources import SHOP_DOMAIN
from demo_data.keys import Stream, rng_for, shop_customer_id
from demo_data.people import Device, Person, Timeline
from demo_data.records.model import PersonRecords
from demo_data.shop.checkouts import PlannedCheckout
from demo_data.shop.orders import PlannedOrder

SESSIONS_PER_DAY = 0.12
"""Browsing sessions per day of a person with engagement 1 (purchases and checkouts add their own)."""


def person_messages(
    seed: int,
    person: Person,
    records: PersonRecords,
    timeline: Timeline,
    batch: int,
    catalog: tuple[Product, ...],
    orders: list[PlannedOrder],
    checkouts: list[PlannedCheckout],
    unsubscribed_at: datetime | None,
) -> list[dict[str, Any]]:
    """Every message of the person's devices in `batch`'s window, session by session."""
    if not records.devices or batch < person.batch:
        return []
    window_start, end = timeline.window(batch)
    start = max(window_start, person.created_at)
    rng = rng_for(seed, Stream.ACTIVITY, batch, person.index)
    user_id = str(shop_customer_id(person.index)) if person.in_shop else None
    plans = _session_plans(rng, person, records, start, end, orders, checkouts, unsubscribed_at, batch)
    identified: set[str] = set()
    messages: list[dict[str, Any]] = []
    currency = person.country.currency
    for at, device, kind, payload in sorted(plans, key=lambda p: (p[0], p[1].anonymous_id, p[2])):
        session = Session(rng, device, user_id if not person.is_visitor else None, at)
        if batch == person.batch and device.anonymous_id not in identified and not person.is_visitor:
            identified.add(device.anonymous_id)
            _identify(session, person, records, user_id)
        _SESSION_KINDS[kind](session, rng, catalog, currency, payload)
        messages.extend(session.fitted(window_start, end))
    return messages


def _session_plans(
    rng: random.Random,
    person: Person,
    records: PersonRecords,
    start: datetime,
    end: datetime,
    orders: list[PlannedOrder],
    checkouts: list[PlannedCheckout],
    unsubscribed_at: datetime | None,
    batch: int,
) -> list[tuple[datetime, Device, str, Any]]:
    devices = records.devices
    span = max(1, int((end - start).total_seconds()) - 3_600)
    days = span / 86_400
    count = _poisson(rng, person.engagement * SESSIONS_PER_DAY * days)
    plans = [
        (start + timedelta(seconds=rng.randrange(span)), rng.choice(devices), "browse", None)
        for _ in range(count)
    ]
    if batch == person.batch:
        seen = {plan[1].anonymous_id for plan in plans}
        plans += [
            (start + timedelta(seconds=rng.randrange(span)), d, "browse", None)
            for d in devices
            if d.anonymous_id not in seen
        ]
    for order in orders:
        if not order.test and not order.test_email:
            plans.append(
                (
                    max(start, order.at - timedelta(minutes=rng.randint(4, 15))),
                    rng.choice(devices),
                    "purchase",
                    order,
                )
            )
    for checkout in checkouts:
        if checkout.completed_at is None:
            plans.append((checkout.created_at, rng.choice(devices), "checkout", checkout))
    if unsubscribed_at and start <= unsubscribed_at <= end:
        plans.append((unsubscribed_at, rng.choice(devices), "unsubscribe", records.identify_email))
    return plans


def _poisson(rng: random.Random, mean: float) -> int:
    k, total = 0, rng.expovariate(1.0)
    while total < mean and k < 10_000:
        k += 1
        total += rng.expovariate(1.0)
    return k


def _identify(session: Session, person: Person, records: PersonRecords, user_id: str | None) -> None:
    traits: dict[str, Any] = {
        "email": records.identify_email,
        "firstName": person.first_name,
        "lastName": person.last_name,
    }
    if user_id is None:
        traits = {"email": records.identify_email}
    page = LOGIN_PAGE
    session.message("identify", page, traits=traits)
    session.tick(1, 3)


def _browse(
    session: Session, rng: random.Random, catalog: tuple[Product, ...], currency: str, _: Any
) -> None:
    session.page("/", "Northwind Outfitters", "Home")
    for _ in range(rng.choice((0, 1, 1, 2, 3, 4, 6))):
        product = rng.choice(catalog)
        if rng.random() < 0.4:
            session.tick()
            session.page(
                f"/collections/{product.product_type.lower()}",
                f"{product.product_type} | Northwind",
                "Collection",
            )
        page = session.view_product(product, currency)
        if rng.random() < 0.15:
            session.tick(2, 20)
            session.message(
                "track", page, event="Product Added", properties=product_props(product, currency)
            )


def _purchase(
    session: Session, rng: random.Random, catalog: tuple[Product, ...], currency: str, order: PlannedOrder
) -> None:
    session.page("/", "Northwind Outfitters", "Home")
    for line in order.lines:
        page = session.view_product(line.product, currency)
        session.tick(2, 20)
        session.message(
            "track",
            page,
            event="Product Added",
            properties=product_props(line.product, currency, line.quantity, line.variant),
        )
    session.tick()
    checkout_page = Page("/checkout", "Checkout | Northwind", "Checkout", f"https://{SHOP_DOMAIN}/cart", "")
    products = [product_props(line.product, currency, line.quantity, line.variant) for line in order.lines]
    session.message(
        "track",
        checkout_page,
        event="Checkout Started",
        properties={
            "order_id": str(order.id),
            "value": order.subtotal,
            "revenue": order.subtotal,
            "currency": currency,
            "products": products,
        },
    )
    session.clock = max(session.clock, order.at.timestamp())
    session.message(
        "track",
        checkout_page,
        event="Order Completed",
        properties={
            "order_id": str(order.id),
            "checkout_id": str(order.id),
            "total": order.subtotal,
            "revenue": order.subtotal,
            "discount": order.discount_amount,
            "coupon": order.discount[0] if order.discount else None,
            "currency": currency,
            "products": products,
        },
    )


def _checkout(
    session: Session,
    rng: random.Random,
    catalog: tuple[Product, ...],
    currency: str,
    checkout: PlannedCheckout,
) -> None:
    page = session.view_product(checkout.lines[0].product, checkout.currency)
    session.tick(2, 20)
    session.message(
        "track",
        page,
        event="Product Added",
        properties=product_props(checkout.lines[0].product, checkout.currency),
    )
    session.tick()
    subtotal = checkout.subtotal
    page = Page(
        f"/checkouts/{checkout.token}", "Checkout | Northwind", "Checkout", f"https://{SHOP_DOMAIN}/cart", ""
    )
    session.message(
        "track",
        page,
        event="Checkout Started",
        properties={
            "checkout_id": checkout.token,
            "value": subtotal,
            "revenue": subtotal,
            "currency": checkout.currency,
            "products": [
                product_props(line.product, checkout.currency, line.quantity, line.variant)
                for line in checkout.lines
            ],
        },
    )


def _unsubscribe(
    session: Session, rng: random.Random, catalog: tuple[Product, ...], currency: str, email: str | None
) -> None:
    page = Page(
        "/pages/unsubscribe", "Unsubscribe | Northwind", "Unsubscribe", "https://mail.example.com/", ""
    )
    session.message("track", page, event="Unsubscribed", properties={"email": email, "list": "newsletter"})


_SESSION_KINDS = {
    "browse": _browse,
    "purchase": _purchase,
    "checkout": _checkout,
    "unsubscribe": _unsubscribe,
}
