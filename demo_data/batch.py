"""Writing one batch: the products, then every person in index order, with their records, orders and events.

Earlier batches' persons are re-derived (with a scratch ledger) for what they do in this batch; only new persons
get ground truth.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from demo_data.analytics.delivery import deliver
from demo_data.analytics.extra_visitors import extra_messages, extra_visitors
from demo_data.analytics.journeys import person_messages
from demo_data.catalog import Product, changed_products, product_record
from demo_data.crm import contact_versions
from demo_data.dirt import DirtLedger
from demo_data.esp import member_records, membership, report_records
from demo_data.helpdesk import agent_records, new_user_id, support_records
from demo_data.keys import FUZZY_COPY, Stream, chosen, rng_for
from demo_data.people import Person, Timeline, derive_person
from demo_data.records.derive import derive_records
from demo_data.records.model import PersonRecords
from demo_data.shop.checkouts import checkout_record, plan_checkouts
from demo_data.shop.customers import customer_history, customer_versions, order_customer
from demo_data.shop.orders import order_record, plan_orders
from demo_data.truth import write_truth
from demo_data.writers import Outputs, PartWriter

REDELIVERY_DELAY_LINES = 5_000
"""A re-delivered event is written this many event lines after the original (often in a later part file)."""


@dataclass
class Batch:
    """Everything fixed for one batch's run."""

    seed: int
    batch: int
    timeline: Timeline
    catalog: tuple[Product, ...]
    ledger: DirtLedger
    scratch: DirtLedger
    outputs: Outputs
    next_order_number: int
    redeliveries: deque[tuple[int, bytes]] = field(default_factory=deque)

    def ledger_for(self, batch: int) -> DirtLedger:
        """The real ledger for this batch's decisions; a scratch one when re-deriving earlier batches."""
        return self.ledger if batch == self.batch else self.scratch


def write_batch(run: Batch, console: Console | None) -> None:
    """Products, then every person; re-deliveries still pending are written last, whatever happened."""
    try:
        _write_products(run)
        _write_people(run, run.timeline.people_totals[run.batch], console)
    finally:
        _flush_redeliveries(run, until=None)


def _write_products(run: Batch) -> None:
    products = run.outputs.parts["products"]
    for entity, record in agent_records(run.batch, run.timeline.start):
        run.outputs.parts[entity].write(record)
    if run.batch == 0:
        for product in run.catalog:
            products.write(product_record(product, product.created_at, on_sale=False))
        return
    start, end = run.timeline.window(run.batch)
    for product in changed_products(run.seed, run.catalog, run.batch):
        rng = rng_for(run.seed, Stream.PRODUCTS, run.batch, product.n)
        updated = start + timedelta(seconds=rng.randrange(max(1, int((end - start).total_seconds()))))
        products.write(product_record(product, updated, on_sale=True))


def _write_helpdesk(run: Batch, person: Person, records: PersonRecords) -> None:
    """The person's helpdesk user, tickets and comments of this batch (demo_data/helpdesk), and the user's
    identity truth in the batch it first appears (which need not be the person's first: people write in later)."""
    for entity, record in support_records(run.seed, person, run.timeline, run.batch, records.identify_email):
        run.outputs.parts[entity].write(record)
    user_id = new_user_id(run.seed, person, run.timeline, run.batch)
    if user_id is not None:
        run.outputs.identity.write("helpdesk", str(user_id), person.person_id)


def _write_people(run: Batch, total: int, console: Console | None) -> None:
    progress = Progress(
        TextColumn(f"batch {run.batch}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("persons"),
        TimeRemainingColumn(),
        console=console,
        disable=console is None,
        transient=True,
    )
    with progress:
        task = progress.add_task("persons", total=total)
        for index in range(total):
            rates = run.ledger.rates
            person = derive_person(run.seed, index, run.timeline, rates.namesake, rates.household, rates.apartment)
            ledger = run.ledger_for(person.batch)
            ledger.record("namesake", person.namesake_of is not None)
            if person.household_eligible:
                ledger.record("household", person.household_of is not None)
            if not person.is_visitor:
                ledger.record("apartment", person.unit is not None)
            _write_person(run, person)
            if index % 1_000 == 999:
                progress.update(task, completed=index + 1)
        progress.update(task, completed=total)


def _write_person(run: Batch, person: Person) -> None:
    is_new = person.batch == run.batch
    records = derive_records(run.seed, person, run.timeline, run.ledger_for(person.batch))
    if is_new:
        write_truth(run.outputs, person, records)
    _write_contacts(run, person, records, is_new)
    unsubscribed_at, orders, checkouts = _write_shop(run, person, records, is_new)
    messages = person_messages(
        run.seed, person, records, run.timeline, run.batch, run.catalog, orders, checkouts, unsubscribed_at
    )
    for extra in extra_visitors(run.seed, person.index, run.ledger_for(person.batch)):
        if is_new:
            run.outputs.identity.write("analytics", extra.device.anonymous_id, extra.person_id)
            run.outputs.bots.write(extra.device.anonymous_id, "true", extra.reason)
        messages.extend(
            extra_messages(run.seed, person.index, extra, run.timeline, run.batch, is_new, run.catalog)
        )
    _write_events(run, person.index, messages)
    _write_esp(run, person, records)
    _write_helpdesk(run, person, records)


def _write_contacts(run: Batch, person: Person, records: PersonRecords, is_new: bool) -> None:
    if not (is_new or chosen(run.seed, Stream.CHOSEN, run.batch, person.index, run.timeline.change_share)):
        return
    contacts = run.outputs.parts["contacts"]
    copies = list(enumerate(records.crm))
    if records.fuzzy is not None:
        copies.append((FUZZY_COPY, records.fuzzy))
    for copy, identity in copies:
        for version in contact_versions(
            run.seed, person, identity, copy, run.timeline, run.batch, run.ledger_for
        ):
            if version.batch == run.batch:
                contacts.write(version.record)


def _write_shop(
    run: Batch, person: Person, records: PersonRecords, is_new: bool
) -> tuple[datetime | None, list, list]:
    """Customer versions, orders and checkouts; returns (unsubscribe time in this batch, orders,
    checkouts)."""
    identity = records.shop
    if identity is None:
        return None, [], []
    orders = plan_orders(run.seed, person, run.timeline, run.batch, run.catalog, run.ledger)
    checkouts = plan_checkouts(run.seed, person, run.timeline, run.batch, run.catalog, orders)
    history = customer_history(run.seed, person, run.timeline, run.batch, run.ledger_for)
    versions = customer_versions(
        run.seed,
        person,
        identity,
        run.timeline,
        run.batch,
        run.catalog,
        history,
        orders,
        [c.created_at for c in checkouts],
        run.ledger_for,
    )
    for _, record in versions:
        run.outputs.parts["customers"].write(record)
    _, end = run.timeline.window(run.batch)
    nested = order_customer(versions[-1][1]) if versions else {}
    ip = records.devices[0].ip if records.devices else None
    for order in orders:
        run.outputs.parts["orders"].write(
            order_record(person, identity, order, run.next_order_number, nested, ip, end)
        )
        run.next_order_number += 1
        if order.test or order.test_email:
            run.outputs.invalid.write("shop", str(order.id), "test" if order.test else "email", "test_order")
    for checkout in checkouts:
        run.outputs.parts["checkouts"].write(checkout_record(person, identity, checkout, nested))
    unsubscribed = [
        c.at
        for c in history[1]
        if c.batch == run.batch and c.state.consent == "unsubscribed" and c.state.consent_updated_at == c.at
    ]
    return (unsubscribed[0] if unsubscribed else None), orders, checkouts


def _write_esp(run: Batch, person: Person, records: PersonRecords) -> None:
    """The person's Mailchimp member versions and email activity of this batch (demo_data/esp)."""
    member = membership(run.seed, person, records, run.timeline, run.batch)
    if member is None:
        return
    window, first = run.timeline.window(run.batch), run.batch == 0
    for record in member_records(run.seed, member, window, first):
        run.outputs.parts["members"].write(record)
    for record in report_records(run.seed, member, window, first):
        run.outputs.parts["email_activity"].write(record)


def _write_events(run: Batch, index: int, messages: list[dict[str, Any]]) -> None:
    events: PartWriter = run.outputs.parts["events"]
    rng = rng_for(run.seed, Stream.DUPLICATES, run.batch, index)
    window = run.timeline.window(run.batch)
    for message, is_redelivery in deliver(messages, rng, run.ledger, window, run.batch):
        line = orjson.dumps(message)
        if is_redelivery:
            run.redeliveries.append((events.rows + REDELIVERY_DELAY_LINES, line))
        else:
            events.write_line(line)
        _flush_redeliveries(run, until=events.rows)


def _flush_redeliveries(run: Batch, until: int | None) -> None:
    """Write the re-deliveries that are due (all of them when `until` is None)."""
    events = run.outputs.parts["events"]
    while run.redeliveries and (until is None or run.redeliveries[0][0] <= until):
        events.write_line(run.redeliveries.popleft()[1])
