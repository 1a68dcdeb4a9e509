"""Shopify customers: their consent and tag history, the versions each batch delivers, and the record.

A customer's history is re-derived from the seed for every batch, and its totals from the re-derived orders of
earlier batches, so nothing is read back from files.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from demo_data.catalog import Product, money
from demo_data.dirt import DirtLedger
from demo_data.keys import Stream, chosen, rng_for, shop_customer_id, shop_time
from demo_data.people import Person, Timeline
from demo_data.records.model import WrittenIdentity
from demo_data.shop.address import shopify_address
from demo_data.shop.orders import PlannedOrder, plan_orders


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
    unsubscribe_at = _after(rng, person.created_at, creation_end) if base_ledger.roll("unsubscribed", rng) else None
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
    tags = ", ".join(t for t in (state.tags, rng.choice(("vip", "newsletter", "wholesale", "returning"))) if t)
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
        **shopify_address(person, identity),
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
