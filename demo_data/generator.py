"""`generate()`: write one batch of landing files and ground truth, streaming one person at a time.

Batch 0 is the base generation over [as_of - days, as_of]. Batch K (`increment=K`) reads the manifest of the
generation in the same directory, adds ~1% new persons, changes ~1% of existing records (CDC versions) and
writes the orders and events between the previous as_of and this one (by default now, however short that
window is). No timestamp a batch writes is after its as_of. Every person, order plan and change is re-derived
from the seed, so nothing but the manifest is read back, and memory stays flat at any scale.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from demo_data.analytics.delivery import deliver
from demo_data.analytics.extra_visitors import extra_messages, extra_visitors
from demo_data.analytics.journeys import person_messages
from demo_data.catalog import Product, build_catalog, changed_products, product_count, product_record
from demo_data.crm import contact_versions
from demo_data.dirt import DirtLedger, DirtRates
from demo_data.keys import FUZZY_COPY, Stream, chosen, person_id, rng_for
from demo_data.people import Person, Timeline, derive_person
from demo_data.records.derive import derive_records
from demo_data.records.model import PersonRecords
from demo_data.shop.checkouts import checkout_record, plan_checkouts
from demo_data.shop.customers import customer_history, customer_versions, order_customer
from demo_data.shop.orders import order_record, plan_orders
from demo_data.writers import Outputs, PartWriter, read_manifest, remove_generation, write_manifest

FORMAT_VERSION = 1
FIRST_ORDER_NUMBER = 1001
REDELIVERY_DELAY_LINES = 5_000
"""A re-delivered event is written this many event lines after the original (often in a later part file)."""


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate. The same seed, as_of values and rates give byte-identical files."""

    customers: int = 2_000
    """Persons in the base population (batch 0)."""
    days: int = 60
    """Length of batch 0's window, ending at as_of."""
    seed: int = 42
    increment: int = 0
    """0 for the base generation; K for the K-th incremental batch on top of it."""
    as_of: datetime | None = None
    """End of this batch's window (UTC; naive values are taken as UTC). Default: now (the base's to the minute).
    Nothing a batch writes is after its as_of, so with the default nothing is in the future."""
    rates: DirtRates | None = None
    """Dirt rates (default DirtRates()); an increment always reuses the base generation's rates."""
    part_lines: int = 100_000
    """Lines per part file before a new part starts."""
    gzip: bool = False
    """Write `.jsonl.gz` parts instead of `.jsonl` (the same lines; how the files travel, not what they say)."""
    new_people_share: float = 0.01
    """Persons added by each increment, as a share of those existing (fixed by the base generation)."""
    change_share: float = 0.01
    """Existing persons whose records change in each increment (fixed by the base generation)."""


@dataclass(frozen=True)
class GenerationResult:
    batch: int
    rows: dict[str, int]
    """Lines written per landing directory, e.g. {"crm/contacts": 2300, "shop/orders": 1800, ...}."""
    truth_rows: dict[str, int]
    seconds: float
    out_dir: Path

    @property
    def rows_per_second(self) -> float:
        return sum(self.rows.values()) / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Batch:
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


def generate(config: GeneratorConfig, out_dir: Path, console: Console | None = None) -> GenerationResult:
    """Write batch `config.increment` into `out_dir` (landing layout of docs/contracts.md section 1)."""
    _validate(config)
    began = time.perf_counter()
    out_dir = Path(out_dir)
    as_of = _as_of(config.as_of, config.increment)
    if config.increment == 0:
        remove_generation(out_dir)
        manifest = _base_manifest(config, as_of)
    else:
        manifest = _increment_manifest(config, out_dir, as_of)
    rates = DirtRates(**manifest["rates"])
    timeline = _timeline(manifest)
    batch = config.increment
    outputs = Outputs(out_dir, batch, manifest["part_lines"], config.gzip)
    run = _Batch(
        seed=manifest["seed"],
        batch=batch,
        timeline=timeline,
        catalog=build_catalog(manifest["seed"], manifest["product_count"], timeline.start),
        ledger=DirtLedger(rates),
        scratch=DirtLedger(rates),
        outputs=outputs,
        next_order_number=manifest["next_order_number"],
    )
    try:
        _write_products(run)
        _write_people(run, timeline.people_totals[batch], console)
    finally:
        _flush_redeliveries(run, until=None)
        outputs.close()
    rows = outputs.row_counts()
    truth_rows = {
        "identity.csv": outputs.identity.rows,
        "bots.csv": outputs.bots.rows,
        "invalid.csv": outputs.invalid.rows,
        "fuzzy_pairs.csv": outputs.fuzzy_pairs.rows,
        "households.csv": outputs.households.rows,
        "record_dirt.csv": outputs.record_dirt.rows,
    }
    manifest["next_order_number"] = run.next_order_number
    manifest["batches"][batch].update(rows=rows, truth_rows=truth_rows, dirt=run.ledger.report())
    write_manifest(out_dir, manifest)
    return GenerationResult(
        batch=batch, rows=rows, truth_rows=truth_rows, seconds=time.perf_counter() - began, out_dir=out_dir
    )


def _validate(config: GeneratorConfig) -> None:
    problems = []
    if config.customers < 1:
        problems.append("customers must be at least 1")
    if config.days < 1:
        problems.append("days must be at least 1")
    if config.seed < 0:
        problems.append("seed must be a non-negative integer")
    if config.increment < 0:
        problems.append("increment must be 0 (base) or a batch number >= 1")
    if config.part_lines < 1:
        problems.append("part_lines must be at least 1")
    if not (0 <= config.new_people_share <= 1 and 0 <= config.change_share <= 1):
        problems.append("new_people_share and change_share must be within [0, 1]")
    if problems:
        raise ValueError("; ".join(problems))


def _as_of(value: datetime | None, increment: int) -> datetime:
    """Aware UTC. The default is now: for the base truncated to the minute (so a rerun in the same minute is
    identical), for an increment exact (so one typed right after the previous batch still has a window, and the
    newest batch always ends now: nothing it writes is in the future)."""
    if value is None:
        now = datetime.now(UTC)
        return now if increment else now.replace(second=0, microsecond=0)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _base_manifest(config: GeneratorConfig, as_of: datetime) -> dict[str, Any]:
    rates = config.rates or DirtRates()
    return {
        "generator": "demo_data",
        "format_version": FORMAT_VERSION,
        "seed": config.seed,
        "customers": config.customers,
        "days": config.days,
        "part_lines": config.part_lines,
        "new_people_share": config.new_people_share,
        "change_share": config.change_share,
        "product_count": product_count(config.customers),
        "next_order_number": FIRST_ORDER_NUMBER,
        "rates": rates.as_dict(),
        "batches": [
            _batch_entry(0, as_of - timedelta(days=config.days), as_of, config.customers, config.customers)
        ],
    }


def _batch_entry(batch: int, start: datetime, as_of: datetime, total: int, new: int) -> dict[str, Any]:
    return {
        "batch": batch,
        "window_start": start.isoformat(),
        "as_of": as_of.isoformat(),
        "people_total": total,
        "new_people": new,
    }


def _increment_manifest(config: GeneratorConfig, out_dir: Path, as_of: datetime) -> dict[str, Any]:
    """The base manifest extended by this batch, after checking that this batch can follow it."""
    manifest = read_manifest(out_dir)
    if manifest is None:
        raise ValueError(
            f"--increment {config.increment}: no earlier generation in {out_dir} "
            "(its _truth/manifest.json is missing); run the base generation (increment 0) first"
        )
    next_batch = len(manifest["batches"])
    if config.increment != next_batch:
        raise ValueError(
            f"--increment {config.increment}: {out_dir} holds batches 0..{next_batch - 1}, "
            f"so the next one is {next_batch}"
        )
    if config.rates is not None and config.rates.as_dict() != manifest["rates"]:
        raise ValueError("an increment reuses the base generation's dirt rates; do not pass other rates")
    previous = manifest["batches"][-1]
    previous_as_of = datetime.fromisoformat(previous["as_of"])
    if as_of <= previous_as_of and config.as_of is None:
        raise ValueError(
            f"the previous batch ends at {previous_as_of.isoformat()}, not before now ({as_of.isoformat()}): "
            "an increment covers the time since then, so pass a later --as-of for it"
        )
    if as_of <= previous_as_of:
        raise ValueError(
            f"--as-of {as_of.isoformat()} must be after the previous batch's as_of "
            f"{previous_as_of.isoformat()}"
        )
    total = previous["people_total"]
    new = max(1, round(total * manifest["new_people_share"]))
    manifest["batches"].append(_batch_entry(next_batch, previous_as_of, as_of, total + new, new))
    return manifest


def _timeline(manifest: dict[str, Any]) -> Timeline:
    batches = manifest["batches"]
    return Timeline(
        start=datetime.fromisoformat(batches[0]["window_start"]),
        as_ofs=tuple(datetime.fromisoformat(b["as_of"]) for b in batches),
        people_totals=tuple(b["people_total"] for b in batches),
        change_share=manifest["change_share"],
    )


def _write_products(run: _Batch) -> None:
    products = run.outputs.parts["products"]
    if run.batch == 0:
        for product in run.catalog:
            products.write(product_record(product, product.created_at, on_sale=False))
        return
    start, end = run.timeline.window(run.batch)
    for product in changed_products(run.seed, run.catalog, run.batch):
        rng = rng_for(run.seed, Stream.PRODUCTS, run.batch, product.n)
        updated = start + timedelta(seconds=rng.randrange(max(1, int((end - start).total_seconds()))))
        products.write(product_record(product, updated, on_sale=True))


def _write_people(run: _Batch, total: int, console: Console | None) -> None:
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


def _write_person(run: _Batch, person: Person) -> None:
    is_new = person.batch == run.batch
    records = derive_records(run.seed, person, run.timeline, run.ledger_for(person.batch))
    if is_new:
        _write_truth(run, person, records)
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


def _write_truth(run: _Batch, person: Person, records: PersonRecords) -> None:
    out = run.outputs
    for identity in records.crm:
        out.identity.write("crm", identity.source_id, person.person_id)
        if identity.email_is_invalid:
            out.invalid.write("crm", identity.source_id, "email", "invalid_email")
        if identity.dob_is_impossible:
            out.invalid.write("crm", identity.source_id, "date_of_birth", "impossible_date_of_birth")
        if identity.dob_is_placeholder:
            out.invalid.write("crm", identity.source_id, "date_of_birth", "placeholder_date_of_birth")
    if records.shop is not None:
        out.identity.write("shop", records.shop.source_id, person.person_id)
        if records.devices:
            out.identity.write("analytics", records.shop.source_id, person.person_id)
    for device in records.devices:
        out.identity.write("analytics", device.anonymous_id, person.person_id)
        out.bots.write(device.anonymous_id, "false", "")
    if records.fuzzy is not None:
        fuzzy_id = records.fuzzy.source_id
        out.identity.write("crm", fuzzy_id, person.person_id)
        shared = ["name", *(records.fuzzy_evidence or "").split("+")]
        for other in (*records.crm, records.shop):
            if other is not None:
                # what the other record carries: a Shopify customer has no date of birth, and without a phone
                # there is no mistyped one to compare with; the place (address or postal code) is always there
                attributes = [
                    a
                    for a in shared
                    if ("date_of_birth" not in a or other.date_of_birth) and ("phone" not in a or other.phone)
                ]
                evidence = "+".join(attributes)
                out.fuzzy_pairs.write("crm", fuzzy_id, other.system, other.source_id, person.person_id, evidence)
    for identity in (*records.crm, records.shop, records.fuzzy):
        for dirty_field, kind, true_value in identity.dirt if identity is not None else ():
            out.record_dirt.write(identity.system, identity.source_id, dirty_field, kind, true_value)
    if person.household_of is not None:
        household_id = f"household-{person.household_of:08d}"
        shared = "last_name+address" + ("+phone" if person.shares_phone else "")
        out.households.write(household_id, person_id(person.household_of), shared)
        out.households.write(household_id, person.person_id, shared)


def _write_contacts(run: _Batch, person: Person, records: PersonRecords, is_new: bool) -> None:
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
    run: _Batch, person: Person, records: PersonRecords, is_new: bool
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


def _write_events(run: _Batch, index: int, messages: list[dict[str, Any]]) -> None:
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


def _flush_redeliveries(run: _Batch, until: int | None) -> None:
    """Write the re-deliveries that are due (all of them when `until` is None)."""
    events = run.outputs.parts["events"]
    while run.redeliveries and (until is None or run.redeliveries[0][0] <= until):
        events.write_line(run.redeliveries.popleft()[1])
