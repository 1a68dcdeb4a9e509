"""How one field of a record is written: names with nicknames and typos, emails, phones, dates of birth, addresses.

Values that are dirty but not invalid (a nickname, a flat number, a surname changed on marriage) come back with
their `_truth/record_dirt.csv` rows.
"""

from __future__ import annotations

import random
from datetime import date

from demo_data import dirt
from demo_data.dirt import DirtLedger
from demo_data.people import Person
from demo_data.records.model import DirtRow
from demo_data.reference.names import LAST_NAMES

ADDRESS_UNIT_SHARES = {"crm": (0.6, 0.0), "shop": (0.25, 0.6)}
"""Per system, the share of a flat-dweller's records writing the unit inline and on address line 2 (Shopify
has one); the rest leave it out."""


def written_address(person: Person, system: str, rng: random.Random) -> tuple[str, tuple[DirtRow, ...]]:
    """The street address line as this record writes it, with the record_dirt row of its flat, if any."""
    if person.unit is None:
        return person.address, ()
    inline, _ = ADDRESS_UNIT_SHARES[system]
    if rng.random() < inline:
        field = "address" if system == "crm" else "address1"
        return dirt.with_unit(person.address, person.unit), ((field, "apartment", person.address),)
    return person.address, ()


def married_surname(person: Person, rng: random.Random) -> str:
    """The surname taken on marriage, or both joined, as some keep their own."""
    new = rng.choice([name for name in LAST_NAMES if name != person.last_name])
    return f"{person.last_name}-{new}" if rng.random() < 0.2 else new


def written_name(
    person: Person, ledger: DirtLedger, rng: random.Random, new_surname: str | None = None
) -> tuple[str, str, tuple[DirtRow, ...]]:
    """(first, last, record_dirt rows): the name, under `new_surname` when given, with a nickname, a typo or
    the two swapped, at their rates."""
    first, last = person.first_name, new_surname or person.last_name
    nickname = False
    if dirt.nickname_of(first, rng) is not None and ledger.roll("nickname", rng):
        first = dirt.nickname_of(first, rng) or first
        nickname = True
    if ledger.roll("name_typo", rng):
        if rng.random() < 0.5:
            first = dirt.typo(first, rng)
        else:
            last = dirt.typo(last, rng)
    swapped = ledger.roll("name_swap", rng)
    if swapped:
        first, last = last, first
    first_field, last_field = ("lastname", "firstname") if swapped else ("firstname", "lastname")
    rows = ((first_field, "nickname", person.first_name),) if nickname else ()
    if new_surname is not None:
        rows += ((last_field, "married_surname", person.last_name),)
    return first, last, rows


def written_email(
    person: Person, kind: str, ledger: DirtLedger, rng: random.Random, *, variants: bool
) -> tuple[str, bool, str | None]:
    """(written email, is invalid, clean email)."""
    if kind == "invalid":
        return dirt.invalid_email(person.email, rng), True, None
    clean = person.work_email if kind == "work" else person.email
    if variants and ledger.roll("email_variant", rng):
        return dirt.email_variant(clean, rng), False, clean
    return clean, False, clean


def written_dob(
    person: Person, future_year: int | None, ledger: DirtLedger, rng: random.Random, born: date | None = None
) -> str:
    """ISO or free text of `born` (default the person's). With `future_year` the date is impossible: born in
    1890 or in that (next) year, always written with a four-digit year so that it cannot be read as a
    plausible date."""
    born = born or person.born
    if future_year is not None:
        year = 1890 if rng.random() < 0.5 else future_year
        born = date(year, born.month, min(born.day, 28))
    if ledger.roll("dob_free_text", rng):
        return dirt.dob_text(born, person.country, rng, four_digit_year=future_year is not None)
    return born.isoformat()


def written_phone(person: Person, subscriber: str, ledger: DirtLedger, rng: random.Random) -> str:
    """The number as typed (any format, at the `phone_format` rate), else in E.164."""
    if ledger.roll("phone_format", rng):
        return dirt.phone_text(person.country, person.phone_area, subscriber, rng)
    return f"+{person.country.calling_code}{person.phone_area}{subscriber}"


def written_country(person: Person, ledger: DirtLedger, rng: random.Random) -> str:
    """Another spelling of the country (at the `country_variant` rate), else its ISO code."""
    if ledger.roll("country_variant", rng):
        return dirt.country_spelling(person.country, rng)
    return person.country.iso2
