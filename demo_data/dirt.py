"""The kinds of dirt real marketing data has, each applied at a documented, configurable rate.

`DirtRates` holds what is asked; `DirtLedger` counts, per kind, how many eligible records there were and how
many got the dirt, so the manifest can report the realized rate beside the asked one. The functions below make
one dirty value each; they take the random generator of the record they dirty, so they stay deterministic.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace
from datetime import date

from demo_data.dirt_sources import (
    APARTMENT_FORMATS,
    COUNTRY_SPELLINGS,
    DOB_FORMATS,
    LOOKALIKE_GIVEN_NAMES,
    NICKNAMES,
    PLACEHOLDER_DATES_OF_BIRTH,
)
from demo_data.reference.places import Country


@dataclass(frozen=True)
class DirtRates:
    """Probability of each kind of dirt, per eligible record (the unit is in each field's docstring)."""

    crm_duplicate: float = 0.12
    """Per person in the CRM: a second contact record for the same person."""
    name_typo: float = 0.05
    """Per person record (contact, customer): a 1-2 character edit in the first or last name."""
    name_swap: float = 0.02
    """Per person record: first and last name swapped."""
    nickname: float = 0.08
    """Per person record whose first name has a nickname: the nickname instead ("Bob" for "Robert")."""
    email_variant: float = 0.15
    """Per valid email written: other letter case and/or surrounding whitespace (" Jane.Doe@Gmail.com ")."""
    other_email: float = 0.08
    """Per duplicate contact or Shopify customer: another address of the person (work email); such a record
    always carries the person's phone, date of birth (CRM) and address, so it stays linkable."""
    fuzzy_duplicate: float = 0.04
    """Per person with a CRM contact or Shopify customer: one more CRM contact that only fuzzy matching can
    link. It shares no email (none, or an old address no other record has) and no phone (none) with the
    person's other records; its name differs from the person's by a typo, a first/last swap or a nickname;
    it carries the date of birth and/or the address and postal code, and the person's other CRM contacts
    carry the date of birth, so every such pair is findable. Listed in _truth/fuzzy_pairs.csv."""
    namesake: float = 0.02
    """Per person: the first and last name of another (earlier) person, and either their city (half) or
    their birth year (half): different people a careless matcher would merge."""
    household: float = 0.05
    """Per person at an odd index (the second of each two person slots) when neither of the two is an
    anonymous visitor nor a namesake: lives with the person before, sharing surname, address and often the
    landline, with a look-alike given name (John/Joan): different people. Listed in _truth/households.csv."""
    apartment: float = 0.12
    """Per person: lives in a flat; each record writes the unit inline ("12 Main Street Apt 4B"), on address
    line 2 (Shopify) or not at all. Recorded in _truth/record_dirt.csv."""
    married_surname: float = 0.02
    """Per person with a CRM contact: a later duplicate contact under a new (or double-barrelled) surname,
    keeping the email, or the phone and date of birth. Recorded in _truth/record_dirt.csv."""
    placeholder_dob: float = 0.015
    """Per CRM contact with a date of birth it does not need for linking: a placeholder (1900-01-01,
    1970-01-01, 01/01/1900) instead; recorded in invalid.csv."""
    invalid_email: float = 0.03
    """Per CRM contact: an unusable email ("jane@", "jane.doe@gmail", "n/a"); recorded in invalid.csv."""
    phone_format: float = 0.6
    """Per phone written: a national or punctuated format instead of E.164 ("(415) 555-0134", "030
    1234567")."""
    dob_free_text: float = 0.5
    """Per date of birth written: free text ("07/03/1985", "March 7, 1985", "7 Mar 85") instead of ISO."""
    impossible_dob: float = 0.01
    """Per CRM contact with a date of birth: born in 1890 or next year; recorded in invalid.csv."""
    country_variant: float = 0.35
    """Per CRM country: a name, ISO3 code or alias in any letter case instead of the upper-case ISO2 code."""
    email_optout: float = 0.08
    """Per CRM contact: hs_email_optout "true"."""
    unsubscribed: float = 0.06
    """Per Shopify customer: email_marketing_consent state "unsubscribed" (and an Unsubscribed event)."""
    cdc_update: float = 0.06
    """Per CRM contact or Shopify customer: delivered again later in the same batch with changed
    properties."""
    archived: float = 0.02
    """Per CRM contact: a later version with archived true."""
    test_order: float = 0.01
    """Per order: a test order (test true and/or a test email); recorded in invalid.csv."""
    cancelled_order: float = 0.03
    """Per order: cancelled (cancelled_at, cancel_reason, financial_status voided or refunded)."""
    refunded_order: float = 0.05
    """Per order that is not cancelled: one refund (full or partial)."""
    bot: float = 0.03
    """Per person: an extra anonymousId of a self-declared crawler (Googlebot, curl, HeadlessChrome, ...)."""
    scraper: float = 0.005
    """Per person: an extra anonymousId of a scraper with a browser user agent (hundreds of events in
    minutes)."""
    throttled_scraper: float = 0.0025
    """Per person: an extra anonymousId of a scraper with a browser user agent that stays under rate limits
    (a page every 20-40 seconds for hours, no identify, no cart); bots.csv reason throttled_scraper."""
    internal_traffic: float = 0.005
    """Per person: an extra anonymousId of staff testing the shop from the office network."""
    late_event: float = 0.02
    """Per event: received hours after its timestamp (before the batch window, in increments)."""
    duplicate_event: float = 0.01
    """Per event: delivered again later (same messageId), possibly in another file."""

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def with_overrides(self, overrides: dict[str, float]) -> DirtRates:
        """A copy with some rates changed; unknown names and values outside [0, 1] are rejected."""
        unknown = sorted(set(overrides) - set(self.names()))
        if unknown:
            raise ValueError(f"unknown dirt rate(s) {unknown}; known: {', '.join(self.names())}")
        bad = {name: value for name, value in overrides.items() if not 0.0 <= value <= 1.0}
        if bad:
            raise ValueError(f"dirt rates must be within [0, 1], got {bad}")
        return replace(self, **overrides)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def parse_rate_options(options: list[str]) -> dict[str, float]:
    """Parse CLI `--rate name=value` options into overrides, with a clear error for a malformed one."""
    overrides: dict[str, float] = {}
    for option in options:
        name, sep, value = option.partition("=")
        try:
            overrides[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ValueError(f"--rate expects name=value with a number, got {option!r}")
    return overrides


class DirtLedger:
    """Counts eligible records and hits per dirt kind; `roll` is the only way dirt is decided."""

    def __init__(self, rates: DirtRates) -> None:
        self.rates = rates
        self.eligible: Counter[str] = Counter()
        self.hits: Counter[str] = Counter()

    def roll(self, kind: str, rng: random.Random) -> bool:
        """Draw once for `kind` (always consuming one draw, so rates never shift other choices)."""
        hit = rng.random() < getattr(self.rates, kind)
        self.eligible[kind] += 1
        if hit:
            self.hits[kind] += 1
        return hit

    def record(self, kind: str, hit: bool) -> None:
        """Count a decision made elsewhere (for dirt decided by a stateless coin flip)."""
        self.eligible[kind] += 1
        if hit:
            self.hits[kind] += 1

    def report(self) -> dict[str, dict[str, float | int]]:
        """Asked and realized rate per kind, for the manifest."""
        asked = self.rates.as_dict()
        return {
            kind: {
                "asked": asked[kind],
                "eligible": self.eligible[kind],
                "hits": self.hits[kind],
                "realized": round(self.hits[kind] / self.eligible[kind], 6) if self.eligible[kind] else None,
            }
            for kind in DirtRates.names()
        }


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def typo(name: str, rng: random.Random) -> str:
    """One or two character edits (substitute, drop, double, transpose), never the name itself or empty."""
    result = name
    for _ in range(rng.choice((1, 1, 2))):
        result = _one_edit(result, rng)
    return result if result != name and len(result) >= 2 else name + rng.choice(_LETTERS)


def _one_edit(text: str, rng: random.Random) -> str:
    if len(text) < 3:
        return text + rng.choice(_LETTERS)
    i = rng.randrange(1, len(text) - 1)
    edit = rng.randrange(4)
    if edit == 0:
        return text[:i] + rng.choice(_LETTERS) + text[i + 1 :]
    if edit == 1:
        return text[:i] + text[i + 1 :]
    if edit == 2:
        return text[:i] + text[i] + text[i:]
    return text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :]


def nickname_of(first_name: str, rng: random.Random) -> str | None:
    options = NICKNAMES.get(first_name)
    return rng.choice(options) if options else None


def name_variant(first: str, last: str, rng: random.Random) -> tuple[str, str]:
    """The name as another person typed it, never as given: a nickname (when the first name has one), a
    typo in the first or last name, or first and last swapped."""
    nickname = nickname_of(first, rng)
    kind = rng.randrange(3)
    if kind == 0 and nickname is not None:
        return nickname, last
    if kind == 2 and first != last:
        return last, first
    if rng.random() < 0.5:
        return typo(first, rng), last
    return first, typo(last, rng)


def email_variant(email: str, rng: random.Random) -> str:
    """The same mailbox written carelessly: capitalised parts, upper case, surrounding spaces."""
    local, _, domain = email.partition("@")
    style = rng.randrange(4)
    if style == 0:
        written = ".".join(part.capitalize() for part in local.split(".")) + "@" + domain.capitalize()
    elif style == 1:
        written = email.upper()
    elif style == 2:
        written = local.capitalize() + "@" + domain
    else:
        return f" {email} "
    return rng.choice(("", " ", "  ")) + written + rng.choice((" ", "", "\t"))


def invalid_email(email: str, rng: random.Random) -> str:
    """An email no mail server accepts, of the kinds people type into forms."""
    local, _, domain = email.partition("@")
    return rng.choice(
        (
            f"{local}@",
            f"{local}@{domain.split('.', 1)[0]}",
            "n/a",
            f"{local}.{domain}",
            f"{local}@@{domain}",
            "none",
            f"{local} at {domain}",
        )
    )


def country_spelling(country: Country, rng: random.Random) -> str:
    """A spelling from COUNTRY_SPELLINGS, in the case people type it; never the clean ISO2 upper-case code."""
    base = rng.choice(COUNTRY_SPELLINGS[country.iso2])
    cased = rng.choice((base, base.lower(), base.upper(), base.capitalize(), base.title()))
    if cased == country.iso2:
        cased = country.iso2.lower() if rng.random() < 0.5 else country.iso2.capitalize()
    return cased


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def dob_text(born: date, country: Country, rng: random.Random, *, four_digit_year: bool = False) -> str:
    """A free-text date of birth in one of DOB_FORMATS: the country's slash or dot dates half the time, a
    layout with a month name or a year first otherwise. `four_digit_year` leaves out two-digit years (an
    impossible date must not read as a plausible one)."""
    local = DOB_FORMATS["US" if country.iso2 == "US" else "other"] + DOB_FORMATS.get(country.iso2, ())
    templates = local if rng.random() < 0.5 else DOB_FORMATS["any"]
    if four_digit_year:
        templates = tuple(t for t in templates if "{y" not in t)
    month = _MONTHS[born.month - 1]
    return rng.choice(templates).format(
        d=born.day,
        D=f"{born.day:02d}",
        m=born.month,
        Y=born.year,
        y=born.year % 100,
        Month=month,
        Mon=month[:3],
        MON=month[:3].upper(),
    )


def placeholder_dob(rng: random.Random) -> str:
    return rng.choice(PLACEHOLDER_DATES_OF_BIRTH)


def day_month_swapped(born: date) -> date | None:
    """The date with day and month exchanged, as a form typed the other way round; None when that is the same
    date or no date (day above 12)."""
    if born.day > 12 or born.day == born.month:
        return None
    return born.replace(day=born.month, month=born.day)


def apartment_unit(country: Country, rng: random.Random) -> str:
    """A flat or unit as written in the country ("Apt 4B", "Flat 2", "Wohnung 3", "Int. 7")."""
    template = rng.choice(APARTMENT_FORMATS[country.iso2])
    return template.format(
        n=rng.randint(1, 40 if "Apt" in template or "#" in template else 12), letter=rng.choice("ABCDEF")
    )


def with_unit(address: str, unit: str) -> str:
    """The street address with the unit inline: "4/12 George Street" for an Australian "4/" prefix, a Dutch
    letter after the number, else after the address ("12 Main Street Apt 4B", "Hauptstraße 5, Wohnung 3")."""
    if unit.endswith("/"):
        return unit + address
    if len(unit) == 1:  # a Dutch house-number suffix: "Kerkstraat 12B"
        return address + unit
    return f"{address}, {unit}" if not address[0].isdigit() else f"{address} {unit}"


def unit_line(unit: str) -> str:
    """The unit on an address line of its own ("Unit 4" for the Australian "4/")."""
    return f"Unit {unit[:-1]}" if unit.endswith("/") else unit


def lookalike_given_name(name: str, rng: random.Random) -> str | None:
    options = LOOKALIKE_GIVEN_NAMES.get(name)
    return rng.choice(options) if options else None


def one_digit_off(digits: str, rng: random.Random) -> str:
    """The number with one digit mistyped (never the first, so it stays a valid subscriber number)."""
    i = rng.randrange(1, len(digits))
    wrong = rng.choice([d for d in "0123456789" if d != digits[i]])
    return digits[:i] + wrong + digits[i + 1 :]


def phone_text(country: Country, area: str, subscriber: str, rng: random.Random) -> str:
    """A phone number formatted as people write it, never E.164 itself (that is the clean form)."""
    cc, nsn = country.calling_code, area + subscriber
    if cc == "1":
        a, b, c = area, subscriber[:3], subscriber[3:]
        options = (
            f"({a}) {b}-{c}",
            f"{a}.{b}.{c}",
            f"{a}-{b}-{c}",
            f"+1 {a} {b} {c}",
            f"1-{a}-{b}-{c}",
            f"{a}{b}{c}",
            f"+1 ({a}) {b}-{c}",
        )
    else:
        national = f"{country.trunk_prefix}{area} {subscriber}"
        options = (
            national,
            f"+{cc} {area} {subscriber}",
            f"00{cc}{nsn}",
            f"00{cc} {area} {subscriber}",
            f"{country.trunk_prefix}{nsn}",
            f"+{cc} ({country.trunk_prefix}){area} {subscriber}"
            if country.trunk_prefix
            else f"+{cc}-{area}-{subscriber}",
        )
    return rng.choice(options)
