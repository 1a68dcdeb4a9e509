"""Seed country_codes: every ISO 3166-1 country, with its alpha-3 code, English name and currency.

Countries from pycountry (the ISO 3166-1 data of Debian's iso-codes, LGPL-2.1); the currency is the first
tender currency CLDR lists as in use in the territory today (babel.numbers.get_territory_currencies; CLDR data,
Unicode licence, shipped in babel, BSD-3-Clause), empty where CLDR lists none (Antarctica).
"""

from __future__ import annotations

from collections.abc import Iterator

import pycountry
from babel.numbers import get_territory_currencies

from scripts.reference.seeds import Seed, Source

SEED = Seed(
    name="country_codes",
    header=("country_code", "iso3_code", "country_name", "currency_code"),
    source=Source(
        distribution="pycountry",
        licence="LGPL-2.1-only (pycountry and its iso-codes data); currencies: babel's CLDR data (Unicode-3.0)",
        derivation="every pycountry.countries entry: alpha_2, alpha_3, name; currency from "
        "babel.numbers.get_territory_currencies(alpha_2)[0]",
    ),
)


def rows() -> Iterator[tuple[str, str, str, str]]:
    for country in pycountry.countries:
        currencies = get_territory_currencies(country.alpha_2)
        yield country.alpha_2, country.alpha_3, country.name, currencies[0] if currencies else ""
