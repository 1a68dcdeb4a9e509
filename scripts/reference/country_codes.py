"""Seed country_codes: every ISO 3166-1 country, with its alpha-3 code, English name, currency and date order.

Countries from pycountry (the ISO 3166-1 data of Debian's iso-codes, LGPL-2.1); from CLDR (babel, BSD-3-Clause;
CLDR data Unicode-3.0):

- the currency: the first tender currency CLDR lists as in use in the territory today
  (babel.numbers.get_territory_currencies), empty where CLDR lists none (Antarctica);
- the date order: the order of day, month and year in the short date format of the territory's most spoken
  official language ("M/d/yy" in en_US: MDY; "dd/MM/y" in en_GB: DMY; "y-MM-dd" in sv_SE: YMD), empty where
  CLDR has no locale for it. Macro parsed_date_of_birth reads an all-numeric date by it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pycountry
from babel.numbers import get_territory_currencies

from scripts.reference.cldr import territory_locale
from scripts.reference.seeds import Seed, Source

SEED = Seed(
    name="country_codes",
    header=("country_code", "iso3_code", "country_name", "currency_code", "date_order"),
    source=Source(
        distribution="pycountry",
        licence="LGPL-2.1-only (pycountry and its iso-codes data); currencies: babel's CLDR data (Unicode-3.0)",
        derivation="every pycountry.countries entry: alpha_2, alpha_3, name; currency from "
        "babel.numbers.get_territory_currencies(alpha_2)[0]; date order from the short date pattern of the "
        "locale of the territory's most spoken official language",
    ),
)


def date_order(pattern: str) -> str:
    """'DMY', 'MDY' or 'YMD': the order of the fields of a CLDR date pattern ("dd.MM.yy" -> 'DMY')."""
    order = ""
    for char in pattern:
        field = {"d": "D", "M": "M", "L": "M", "y": "Y"}.get(char)
        if field and field not in order:
            order += field
    return order


def rows() -> Iterator[tuple[str, str, str, str, str]]:
    for country in pycountry.countries:
        currencies = get_territory_currencies(country.alpha_2)
        locale = territory_locale(country.alpha_2)
        order = date_order(locale.date_formats["short"].pattern) if locale is not None else ""
        yield country.alpha_2, country.alpha_3, country.name, currencies[0] if currencies else "", order
