"""The line items of an order or checkout, and the tax on them where the buyer lives."""

from __future__ import annotations

import random
from dataclasses import dataclass

from demo_data.catalog import Product, price_in
from demo_data.people import Person

TAX_RATES = {"US": 0.08, "CA": 0.13, "AU": 0.10}
"""Sales tax added on top; elsewhere VAT is included in prices (taxes_included true, tax 20/120 of the
price)."""


@dataclass(frozen=True)
class Line:
    product: Product
    variant: int
    quantity: int
    price: float


def pick_lines(rng: random.Random, catalog: tuple[Product, ...], currency: str) -> tuple[Line, ...]:
    picks = rng.sample(catalog, k=rng.choice((1, 1, 1, 2, 2, 3)))
    return tuple(
        Line(p, rng.randrange(len(p.variants)), rng.choice((1, 1, 1, 2)), price_in(p.usd_price, currency))
        for p in picks
    )


def gross(lines: tuple[Line, ...]) -> float:
    """What the lines cost before any discount, unrounded."""
    return sum(line.price * line.quantity for line in lines)


def sales_tax(person: Person, subtotal: float) -> tuple[float, bool]:
    rate = TAX_RATES.get(person.country.iso2)
    if rate is None:
        return round(subtotal * 20 / 120, 2), True
    return round(subtotal * rate, 2), False
