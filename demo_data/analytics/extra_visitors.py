"""Traffic that is not a customer: crawlers, scrapers (fast and throttled) and staff test visits."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from demo_data.analytics.session import LOGIN_PAGE, Session
from demo_data.catalog import Product
from demo_data.dirt import DirtLedger
from demo_data.dirt_sources import BOT_USER_AGENTS, INTERNAL_IP_PREFIX, SCRAPER_NETWORKS, STAFF_LOGIN_EMAIL
from demo_data.keys import Stream, rng_for, uuid_from
from demo_data.people import Device, Timeline
from demo_data.reference.internet import BROWSER_USER_AGENTS

EXTRA_KINDS = ("bot", "scraper", "internal_traffic", "throttled_scraper")
"""Kinds of non-customer visitor, in the order their random streams are numbered."""
THROTTLED_SCRAPE_SECONDS = (20.0, 40.0)
"""Pause between two pages of a throttled scraper (uniform)."""
THROTTLED_SCRAPE_HOURS = (2.0, 6.0)
"""Length of one throttled scrape (uniform)."""


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
                page = LOGIN_PAGE
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
