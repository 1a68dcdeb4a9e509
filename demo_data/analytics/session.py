"""One visit of one device: the Segment Spec messages it sends, page by page, on a clock of its own."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from demo_data.catalog import Product, price_in, product_url
from demo_data.dirt_sources import SHOP_DOMAIN
from demo_data.keys import epoch_time, uuid_from
from demo_data.people import Device

REFERRERS = (
    "",
    "",
    "https://www.google.com/",
    "https://www.facebook.com/",
    "https://www.instagram.com/",
    "https://mail.example.com/",
)
LIBRARY = {"name": "analytics.js", "version": "next-1.70.0"}


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


LOGIN_PAGE = Page("/account/login", "Log in | Northwind", "Login", "", "")
"""Where a person (or staff) identifies."""


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
        self.message("track", page, event="Product Viewed", properties=product_props(product, currency))
        return page


def product_props(product: Product, currency: str, quantity: int = 1, variant: int = 0) -> dict[str, Any]:
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
