"""Segment Spec messages: a person's sessions, and the traffic that is not a customer (bots, scrapers, staff).

Sessions are bursts of events seconds to minutes apart, separated by hours or days, so that 30-minute
sessionization has something to find. Every device of an identifiable person is identified in its first
session (userId = Shopify customer id, and/or traits.email), so each anonymousId is linkable to its person.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from demo_data.catalog import Product, price_in, product_url
from demo_data.dirt import DirtLedger
from demo_data.dirt_sources import (
    BOT_USER_AGENTS,
    INTERNAL_IP_PREFIX,
    SCRAPER_NETWORKS,
    SHOP_DOMAIN,
    STAFF_LOGIN_EMAIL,
)
from demo_data.keys import Stream, epoch_time, rng_for, segment_time, shop_customer_id, uuid_from
from demo_data.people import Device, Person, Timeline
from demo_data.records import PersonRecords
from demo_data.reference.internet import BROWSER_USER_AGENTS
from demo_data.shop.checkouts import PlannedCheckout
from demo_data.shop.orders import PlannedOrder

SESSIONS_PER_DAY = 0.12
"""Browsing sessions per day of a person with engagement 1 (purchases and checkouts add their own)."""
REFERRERS = (
    "",
    "",
    "https://www.google.com/",
    "https://www.facebook.com/",
    "https://www.instagram.com/",
    "https://mail.example.com/",
)
LIBRARY = {"name": "analytics.js", "version": "next-1.70.0"}
EXTRA_KINDS = ("bot", "scraper", "internal_traffic", "throttled_scraper")
"""Kinds of non-customer visitor, in the order their random streams are numbered."""
THROTTLED_SCRAPE_SECONDS = (20.0, 40.0)
"""Pause between two pages of a throttled scraper (uniform)."""
THROTTLED_SCRAPE_HOURS = (2.0, 6.0)
"""Length of one throttled scrape (uniform)."""


@dataclass(frozen=True)
class Page:
    path: str
    title: str
    name: str
    referrer: str
    search: str

    @property
    def url(self) -> str:
        return f"https://{SHOP_DOMAIN}{self.path}{self.search}"

    def context(self) -> dict[str, str]:
        return {
            "path": self.path,
            "referrer": self.referrer,
            "search": self.search,
            "title": self.title,
            "url": self.url,
        }


class Session:
    """Builds the messages of one visit of one device, advancing a clock a few seconds to minutes per event.

    The clock is epoch seconds (a float), not a datetime: this is the hot path of the generator. Times stay
    floats until `fitted()` places the visit inside its batch's window and formats them."""

    def __init__(self, rng: random.Random, device: Device, user_id: str | None, start: datetime) -> None:
        self.rng, self.device, self.user_id, self.clock = rng, device, user_id, start.timestamp()
        self.messages: list[dict[str, Any]] = []
        self.last_received = self.clock
        campaign = rng.random() < 0.15
        self.referrer = "https://mail.example.com/" if campaign else rng.choice(REFERRERS)
        self.search = (
            f"?utm_source=newsletter&utm_medium=email&utm_campaign=c{rng.randint(1, 40)}" if campaign else ""
        )

    def tick(self, low: float = 3, mean: float = 45) -> None:
        self.clock += min(1_200.0, low + self.rng.expovariate(1 / mean))

    def message(
        self,
        kind: str,
        page: Page,
        *,
        event: str | None = None,
        name: str | None = None,
        properties: dict[str, Any] | None = None,
        traits: dict[str, Any] | None = None,
    ) -> None:
        sent = self.clock + 0.005 + self.rng.random() * 2
        received = sent + 0.04 + self.rng.random() * 1.5
        self.last_received = max(self.last_received, received)
        self.messages.append(
            {
                "type": kind,
                "messageId": uuid_from(self.rng),
                "anonymousId": self.device.anonymous_id,
                "userId": self.user_id,
                "event": event,
                "name": name,
                "timestamp": self.clock,
                "sentAt": sent,
                "receivedAt": received,
                "context": {
                    "userAgent": self.device.user_agent,
                    "ip": self.device.ip,
                    "page": page.context(),
                    "library": LIBRARY,
                },
                "properties": properties if properties is not None else {},
                "traits": traits if traits is not None else {},
            }
        )

    def fitted(self, window_start: datetime, window_end: datetime) -> list[dict[str, Any]]:
        """The messages with their times formatted, the visit moved earlier (and, if it is longer than the
        window, squeezed) so that nothing is received after `window_end` nor before `window_start`.

        A visit planned near the end of a batch would otherwise run past the batch's as_of, into the future
        when the batch ends now; order and gaps are kept, so visits of a normal window are left as they are."""
        high = window_end.timestamp()
        if self.last_received <= high:  # nearly always: formatted as they are (the hot path)
            for message in self.messages:
                message["timestamp"] = epoch_time(message["timestamp"])
                message["sentAt"] = epoch_time(message["sentAt"])
                message["receivedAt"] = epoch_time(message["receivedAt"])
            return self.messages
        low, first = window_start.timestamp(), self.messages[0]["timestamp"]
        shift, scale = high - self.last_received, 1.0
        if first + shift < low:  # longer than the window: from its start to its end, squeezed
            shift, scale = low - first, (high - low) / (self.last_received - first)
        for message in self.messages:
            for key in ("timestamp", "sentAt", "receivedAt"):
                moment = first + shift + (message[key] - first) * scale
                message[key] = epoch_time(min(moment, high))
        return self.messages

    def page(self, path: str, title: str, name: str) -> Page:
        page = Page(
            path,
            title,
            name,
            self.referrer if not self.messages else f"https://{SHOP_DOMAIN}/",
            self.search if not self.messages else "",
        )
        self.message(
            "page",
            page,
            name=name,
            properties={
                "path": page.path,
                "referrer": page.referrer,
                "search": page.search,
                "title": title,
                "url": page.url,
            },
        )
        return page

    def view_product(self, product: Product, currency: str) -> Page:
        self.tick()
        page = self.page(f"/products/{product.handle}", f"{product.title} | Northwind", "Product")
        self.tick(1, 2)
        self.message("track", page, event="Product Viewed", properties=_product_props(product, currency))
        return page


def _product_props(product: Product, currency: str, quantity: int = 1, variant: int = 0) -> dict[str, Any]:
    return {
        "product_id": str(product.id),
        "sku": product.sku(variant),
        "category": product.product_type,
        "name": product.title,
        "brand": product.vendor,
        "variant": product.variants[variant],
        "price": price_in(product.usd_price, currency),
        "quantity": quantity,
        "currency": currency,
        "url": product_url(product),
    }


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
    page = Page("/account/login", "Log in | Northwind", "Login", "", "")
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
                "track", page, event="Product Added", properties=_product_props(product, currency)
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
            properties=_product_props(line.product, currency, line.quantity, line.variant),
        )
    session.tick()
    checkout_page = Page("/checkout", "Checkout | Northwind", "Checkout", f"https://{SHOP_DOMAIN}/cart", "")
    products = [_product_props(line.product, currency, line.quantity, line.variant) for line in order.lines]
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
        properties=_product_props(checkout.lines[0].product, checkout.currency),
    )
    session.tick()
    subtotal = round(sum(line.price * line.quantity for line in checkout.lines), 2)
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
                _product_props(line.product, checkout.currency, line.quantity, line.variant)
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


@dataclass(frozen=True)
class ExtraVisitor:
    """Traffic that is not a customer: a crawler, a scraper or staff; one per person slot at most per kind."""

    kind: str
    """"bot", "scraper", "internal_traffic" or "throttled_scraper" (the dirt rate that created it)."""
    person_id: str
    device: Device
    reason: str


def extra_visitors(seed: int, index: int, ledger: DirtLedger) -> list[ExtraVisitor]:
    """The non-customer anonymousIds attached to person slot `index` (decided once, in its creation batch)."""
    rng = rng_for(seed, Stream.EXTRA_VISITORS, 0, index)
    extras = []
    if ledger.roll("bot", rng):
        ua = rng.choice(BOT_USER_AGENTS)
        ip = f"66.249.{rng.randrange(64, 96)}.{rng.randint(1, 254)}"
        extras.append(
            ExtraVisitor("bot", f"bot-{index:08d}", Device(uuid_from(rng), ua, ip), "bot_user_agent")
        )
    if ledger.roll("scraper", rng):
        ip = f"{rng.randint(100, 190)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"
        device = Device(uuid_from(rng), rng.choice(BROWSER_USER_AGENTS), ip)
        extras.append(ExtraVisitor("scraper", f"scraper-{index:08d}", device, "high_rate_scraper"))
    if ledger.roll("internal_traffic", rng):
        device = Device(
            uuid_from(rng), rng.choice(BROWSER_USER_AGENTS), f"{INTERNAL_IP_PREFIX}{rng.randint(2, 60)}"
        )
        extras.append(ExtraVisitor("internal_traffic", f"internal-{index:08d}", device, "internal_traffic"))
    if ledger.roll("throttled_scraper", rng):
        ip = f"{rng.choice(SCRAPER_NETWORKS)}{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"
        device = Device(uuid_from(rng), rng.choice(BROWSER_USER_AGENTS), ip)
        extras.append(ExtraVisitor("throttled_scraper", f"throttled-{index:08d}", device, "throttled_scraper"))
    return extras


def extra_messages(
    seed: int,
    index: int,
    extra: ExtraVisitor,
    timeline: Timeline,
    batch: int,
    first_batch: bool,
    catalog: tuple[Product, ...],
) -> list[dict[str, Any]]:
    """Crawls (many pages, steady pace), scraper bursts (hundreds of events in minutes), throttled scrapes (a
    page every 20-40 seconds for hours, under any per-minute limit), staff test visits."""
    start, end = timeline.window(batch)
    rng = rng_for(
        seed,
        Stream.EXTRA_VISITORS,
        batch + 1,
        index * 4 + EXTRA_KINDS.index(extra.kind),
    )
    span = max(1, int((end - start).total_seconds()) - 7_200)
    messages: list[dict[str, Any]] = []
    visits = {
        "bot": rng.randint(1, 3),
        "scraper": rng.randint(1, 2),
        "internal_traffic": rng.randint(1, 3),
        "throttled_scraper": 1,
    }
    for visit in range(visits[extra.kind]):
        session = Session(rng, extra.device, None, start + timedelta(seconds=rng.randrange(span)))
        if extra.kind == "throttled_scraper":
            _throttled_scrape(session, rng, catalog)
        elif extra.kind == "internal_traffic":
            if first_batch and visit == 0:
                page = Page("/account/login", "Log in | Northwind", "Login", "", "")
                session.message("identify", page, traits={"email": STAFF_LOGIN_EMAIL.format(n=index)})
            for _ in range(rng.randint(3, 12)):
                session.tick()
                session.view_product(rng.choice(catalog), "USD")
        else:
            pages = rng.randint(150, 400) if extra.kind == "scraper" else rng.randint(10, 40)
            for _ in range(pages):
                if extra.kind == "scraper":
                    session.tick(0.3, 1.5)
                else:
                    session.tick(2, 8)
                product = rng.choice(catalog)
                session.page(f"/products/{product.handle}", f"{product.title} | Northwind", "Product")
        messages.extend(session.fitted(start, end))
    return messages


def _throttled_scrape(session: Session, rng: random.Random, catalog: tuple[Product, ...]) -> None:
    """Every product and collection page in turn, one every 20-40 seconds for 2-6 hours: a browser user agent,
    no identify, no cart, two pages a minute on average."""
    hours = rng.uniform(*THROTTLED_SCRAPE_HOURS)
    pages = int(hours * 3_600 / (sum(THROTTLED_SCRAPE_SECONDS) / 2))
    products = sorted(catalog, key=lambda product: product.handle)
    for n in range(pages):
        product = products[n % len(products)]
        if n % 5 == 0:
            path, title, name = f"/collections/{product.product_type.lower()}", product.product_type, "Collection"
        else:
            path, title, name = f"/products/{product.handle}", product.title, "Product"
        session.page(path, f"{title} | Northwind", name)
        session.clock += rng.uniform(*THROTTLED_SCRAPE_SECONDS)


def deliver(
    messages: list[dict[str, Any]],
    rng: random.Random,
    ledger: DirtLedger,
    window: tuple[datetime, datetime],
    batch: int,
) -> Iterator[tuple[dict[str, Any], bool]]:
    """Apply delivery dirt: yields (message, is_redelivery). A late message is received hours after its
    timestamp (in an increment, its timestamp falls before the batch window); a redelivered one comes
    twice, up to 15 minutes later but never after the window's end."""
    window_start, window_end = window
    for message in messages:
        if ledger.roll("late_event", rng):
            received = datetime.fromisoformat(message["receivedAt"])
            hours_back = timedelta(seconds=rng.randint(3_600, 12 * 3_600))
            happened = (window_start if batch > 0 else received) - hours_back
            message["timestamp"] = segment_time(happened)
        yield message, False
        if ledger.roll("duplicate_event", rng):
            again = dict(message)
            received = datetime.fromisoformat(message["receivedAt"]) + timedelta(seconds=rng.randint(1, 900))
            again["receivedAt"] = segment_time(min(received, window_end))
            yield again, True
