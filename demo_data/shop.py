"""Shopify orders, customers and checkouts of one person in one batch.

Order and checkout plans are pure functions of (seed, person, batch), so an increment can recompute a
customer's running orders_count and total_spent from earlier batches without reading files.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from demo_data.catalog import Product, money, price_in
from demo_data.dirt import DirtLedger
from demo_data.dirt_sources import SHOP_DOMAIN, TEST_ORDER_EMAIL
from demo_data.keys import (
    Stream,
    checkout_id,
    chosen,
    hex_token,
    order_id,
    rng_for,
    shop_customer_id,
    shop_time,
    variant_id,
)
from demo_data.people import Person, Timeline
from demo_data.records import WrittenIdentity

ORDERS_PER_MONTH = 0.7
"""Mean orders per 30 days of a Shopify customer with engagement 1."""
ABANDONED_PER_MONTH = 0.5
TAX_RATES = {"US": 0.08, "CA": 0.13, "AU": 0.10}
"""Sales tax added on top; elsewhere VAT is included in prices (taxes_included true, tax 20/120 of the
price)."""
DISCOUNT_CODES = (
    ("WELCOME10", "percentage", 0.10),
    ("SPRING15", "percentage", 0.15),
    ("FREESHIP", "shipping", 0.0),
    ("VIP20", "percentage", 0.20),
)
CANCEL_REASONS = ("customer", "inventory", "declined", "fraud", "other")


@dataclass(frozen=True)
class Line:
    product: Product
    variant: int
    quantity: int
    price: float


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
        gross = sum(line.price * line.quantity for line in self.lines)
        return round(gross * (1 - self.discount[2]), 2) if self.discount else round(gross, 2)

    @property
    def discount_amount(self) -> float:
        return round(sum(line.price * line.quantity for line in self.lines) - self.subtotal, 2)

    @property
    def counts_as_spent(self) -> bool:
        return not (self.test or self.test_email or self.cancelled)


@dataclass(frozen=True)
class PlannedCheckout:
    id: int
    token: str
    created_at: datetime
    completed_at: datetime | None
    currency: str
    lines: tuple[Line, ...]


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means used here."""
    limit, k, p = math.exp(-min(mean, 30.0)), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _active_window(person: Person, timeline: Timeline, batch: int) -> tuple[datetime, datetime]:
    start, end = timeline.window(batch)
    return max(start, person.created_at), end


def _lines(rng: random.Random, catalog: tuple[Product, ...], currency: str) -> tuple[Line, ...]:
    picks = rng.sample(catalog, k=rng.choice((1, 1, 1, 2, 2, 3)))
    return tuple(
        Line(p, rng.randrange(len(p.variants)), rng.choice((1, 1, 1, 2)), price_in(p.usd_price, currency))
        for p in picks
    )


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
    start, end = _active_window(person, timeline, batch)
    rng = rng_for(seed, Stream.ORDERS, batch, person.index)
    days = max(0.0, (end - start).total_seconds() / 86_400)
    count = min(99, _poisson(rng, person.engagement * ORDERS_PER_MONTH * days / 30))
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
                lines=_lines(rng, catalog, currency),
                discount=rng.choice(DISCOUNT_CODES) if rng.random() < 0.2 else None,
                test=test and (not test_email or rng.random() < 0.5),
                test_email=test_email,
                cancelled=cancelled,
                refunded=refunded,
                detail_seed=rng.getrandbits(64),
            )
        )
    return orders


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
    start, end = _active_window(person, timeline, batch)
    rng = rng_for(seed, Stream.ORDERS, batch, person.index + (1 << 40))
    days = max(0.0, (end - start).total_seconds() / 86_400)
    span = max(1, int((end - start).total_seconds()))
    checkouts = []
    for n in range(min(49, _poisson(rng, person.engagement * ABANDONED_PER_MONTH * days / 30))):
        at = start + timedelta(seconds=rng.randrange(span))
        checkouts.append(
            PlannedCheckout(
                checkout_id(batch, person.index, n),
                hex_token(rng),
                at,
                None,
                person.country.currency,
                _lines(rng, catalog, person.country.currency),
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


def _address(person: Person, identity: WrittenIdentity) -> dict[str, Any]:
    return {
        "first_name": identity.first_name,
        "last_name": identity.last_name,
        "name": f"{identity.first_name} {identity.last_name}",
        "address1": identity.address or person.address,
        "address2": identity.address2,
        "city": person.city,
        "province": person.province,
        "zip": person.zip,
        "country": person.country.name,
        "country_code": person.country.iso2,
        "phone": identity.typed_phone,
        "company": None,
    }


def _tax(person: Person, subtotal: float) -> tuple[float, bool]:
    rate = TAX_RATES.get(person.country.iso2)
    if rate is None:
        return round(subtotal * 20 / 120, 2), True
    return round(subtotal * rate, 2), False


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
    tax, included = _tax(person, subtotal)
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
    address = _address(person, identity)
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
        "total_shipping_price_set": {
            "shop_money": {"amount": money(shipping), "currency_code": order.currency}
        },
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


@dataclass(frozen=True)
class CustomerState:
    """What changes on a Shopify customer over time: consent, tags, note."""

    consent: str
    opt_in_level: str
    consent_updated_at: datetime | None
    tags: str
    note: str | None
    state: str


def customer_versions(
    seed: int,
    person: Person,
    identity: WrittenIdentity,
    timeline: Timeline,
    batch: int,
    catalog: tuple[Product, ...],
    history: tuple[CustomerState, list[CustomerChange]],
    orders_now: list[PlannedOrder],
    touched_at: list[datetime],
    ledger_for: Callable[[int], DirtLedger],
) -> list[tuple[datetime, dict[str, Any]]]:
    """The customer versions delivered in `batch`: the new customer, and one later version if anything
    happened (orders placed, checkouts at `touched_at`, consent or tags changed). Totals include earlier
    batches' orders."""
    initial, changes = history
    versions = []
    if person.batch == batch:
        versions.append(
            (
                person.created_at,
                customer_record(person, identity, person.created_at, person.created_at, initial, 0, 0.0),
            )
        )
    now_changes = [change for change in changes if change.batch == batch]
    if orders_now or now_changes or touched_at:
        at = max([o.at for o in orders_now] + [change.at for change in now_changes] + touched_at)
        current = [change.state for change in changes if change.at <= at]
        count, spent = _totals(seed, person, timeline, batch, catalog, orders_now, ledger_for)
        versions.append(
            (
                at,
                customer_record(
                    person, identity, person.created_at, at, current[-1] if current else initial, count, spent
                ),
            )
        )
    return versions


@dataclass(frozen=True)
class CustomerChange:
    batch: int
    at: datetime
    state: CustomerState


def customer_history(
    seed: int, person: Person, timeline: Timeline, upto_batch: int, ledger_for: Callable[[int], DirtLedger]
) -> tuple[CustomerState, list[CustomerChange]]:
    """The customer's first state and its changes up to `upto_batch`, in time order (each builds on the
    last)."""
    rng = rng_for(seed, Stream.CHANGES, 0, (1 << 40) + person.index)
    subscribed = rng.random() < 0.55
    initial = CustomerState(
        "subscribed" if subscribed else "not_subscribed",
        rng.choice(("single_opt_in", "confirmed_opt_in")),
        person.created_at if subscribed else None,
        "",
        None,
        "enabled" if rng.random() < 0.6 else "disabled",
    )
    creation_end = timeline.window(person.batch)[1]
    base_ledger = ledger_for(person.batch)
    unsubscribe_at = (
        _after(rng, person.created_at, creation_end) if base_ledger.roll("unsubscribed", rng) else None
    )
    retag_at = _after(rng, person.created_at, creation_end) if base_ledger.roll("cdc_update", rng) else None
    planned: list[tuple[datetime, int, random.Random | None]] = []
    if unsubscribe_at:
        planned.append((unsubscribe_at, person.batch, None))
    if retag_at:
        planned.append((retag_at, person.batch, rng))
    for b in range(person.batch + 1, upto_batch + 1):
        if chosen(seed, Stream.CHOSEN, b, person.index, timeline.change_share):
            change_rng = rng_for(seed, Stream.CHANGES, b, (1 << 40) + person.index)
            start_b, end_b = timeline.window(b)
            unsubscribe = change_rng.random() < 0.4
            planned.append((_after(change_rng, start_b, end_b), b, None if unsubscribe else change_rng))
    changes, state = [], initial
    for at, b, retag_rng in sorted(planned, key=lambda p: (p[0], p[1])):
        state = _retag(state, retag_rng) if retag_rng else _unsubscribe(state, at)
        changes.append(CustomerChange(b, at, state))
    return initial, changes


def _after(rng: random.Random, low: datetime, high: datetime) -> datetime:
    return low + timedelta(seconds=rng.randint(0, max(0, int((high - low).total_seconds()))))


def _unsubscribe(state: CustomerState, at: datetime) -> CustomerState:
    return CustomerState("unsubscribed", state.opt_in_level, at, state.tags, state.note, state.state)


def _retag(state: CustomerState, rng: random.Random) -> CustomerState:
    tags = ", ".join(
        t for t in (state.tags, rng.choice(("vip", "newsletter", "wholesale", "returning"))) if t
    )
    note = rng.choice((state.note, "Prefers email contact", "Asked about sizing"))
    return CustomerState(state.consent, state.opt_in_level, state.consent_updated_at, tags, note, state.state)


def _totals(
    seed: int,
    person: Person,
    timeline: Timeline,
    batch: int,
    catalog: tuple[Product, ...],
    orders_now: list[PlannedOrder],
    ledger_for: Callable[[int], DirtLedger],
) -> tuple[int, float]:
    """orders_count and total_spent: this batch's orders plus the re-derived ones of earlier batches."""
    orders = list(orders_now)
    for b in range(person.batch, batch):
        orders.extend(plan_orders(seed, person, timeline, b, catalog, ledger_for(b)))
    kept = [o for o in orders if o.counts_as_spent]
    return len(kept), round(sum(o.subtotal for o in kept), 2)


def customer_record(
    person: Person,
    identity: WrittenIdentity,
    created: datetime,
    updated: datetime,
    state: CustomerState,
    orders_count: int,
    total_spent: float,
) -> dict[str, Any]:
    """A Shopify Admin REST customer."""
    customer_id = shop_customer_id(person.index)
    address = {
        "id": customer_id + 1_000_000_000_000,
        "customer_id": customer_id,
        **_address(person, identity),
        "country_name": person.country.name,
        "default": True,
    }
    return {
        "id": customer_id,
        "email": identity.email,
        "accepts_marketing": state.consent == "subscribed",
        "created_at": shop_time(created),
        "updated_at": shop_time(updated),
        "first_name": identity.first_name,
        "last_name": identity.last_name,
        "orders_count": orders_count,
        "state": state.state,
        "total_spent": money(total_spent),
        "last_order_id": None,
        "note": state.note,
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "tags": state.tags,
        "last_order_name": None,
        "currency": person.country.currency,
        "phone": identity.phone,
        "addresses": [address],
        "accepts_marketing_updated_at": shop_time(state.consent_updated_at or created),
        "marketing_opt_in_level": state.opt_in_level if state.consent == "subscribed" else None,
        "email_marketing_consent": {
            "state": state.consent,
            "opt_in_level": state.opt_in_level,
            "consent_updated_at": shop_time(state.consent_updated_at) if state.consent_updated_at else None,
        },
        "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
        "default_address": address,
    }


def order_customer(record: dict[str, Any]) -> dict[str, Any]:
    """The customer as nested in an order or checkout (Shopify leaves the address list out)."""
    return {k: v for k, v in record.items() if k != "addresses"}


def checkout_record(
    person: Person, identity: WrittenIdentity, checkout: PlannedCheckout, customer: dict[str, Any]
) -> dict[str, Any]:
    """A Shopify abandoned checkout (completed_at null) or a completed one."""
    subtotal = round(sum(line.price * line.quantity for line in checkout.lines), 2)
    tax, included = _tax(person, subtotal)
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
        "shipping_address": _address(person, identity),
        "billing_address": _address(person, identity),
    }
