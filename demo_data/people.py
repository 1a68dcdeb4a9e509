"""The population: persons derived one at a time from (seed, index), never held all at once.

A person is the truth behind the records: canonical name, email, phone, date of birth, address, and how many
records they leave in each system (0-2 CRM contacts, 0-1 Shopify customer, 0-3 devices in Segment). Emails and
phone numbers embed the person index through a bijection, so two persons never share one by accident; names
are drawn from a large space, so same-name-different-person happens by chance, and on purpose at the
`namesake` dirt rate (same name and city, or same name and birth year) and the `household` rate (same surname
and address, a look-alike given name, often the landline).
"""

from __future__ import annotations

import bisect
import random
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from demo_data import dirt
from demo_data.keys import Stream, person_id, rng_for, uuid_from
from demo_data.reference.internet import BROWSER_USER_AGENTS, EMAIL_DOMAINS, WORK_EMAIL_DOMAINS
from demo_data.reference.names import FIRST_NAMES, LAST_NAMES
from demo_data.reference.places import COUNTRIES, STREETS, Country

VISITOR_SHARE = 0.15
"""Share of persons who only ever browse anonymously (one device, never identified)."""
CRM_SHARE = 0.7
SHOP_SHARE = 0.55
DEVICE_COUNT_WEIGHTS = (25, 45, 20, 10)
"""Weights of 0, 1, 2, 3 devices for an identifiable person."""
_COUNTRY_WEIGHTS = [country.weight for country in COUNTRIES]
_NUMBER_FIRST = {"US", "CA", "GB", "IE", "AU", "FR"}
YOUNGEST_BIRTH_DATE = date(2006, 12, 31)
"""Household members are adults (customers of the shop in their own name)."""


@dataclass(frozen=True)
class Timeline:
    """When each batch's window ends and how many persons exist after it: everything an increment needs."""

    start: datetime
    """Start of batch 0's window (its as_of minus --days)."""
    as_ofs: tuple[datetime, ...]
    people_totals: tuple[int, ...]
    """Persons existing after each batch (cumulative)."""
    change_share: float = 0.01
    """Share of existing persons whose records change in each increment."""

    def window(self, batch: int) -> tuple[datetime, datetime]:
        return (self.start if batch == 0 else self.as_ofs[batch - 1]), self.as_ofs[batch]

    def batch_of(self, index: int) -> int:
        """The batch in which person `index` first appeared."""
        return bisect.bisect_right(self.people_totals, index)


@dataclass(frozen=True)
class Device:
    anonymous_id: str
    user_agent: str
    ip: str


@dataclass(frozen=True)
class Person:
    index: int
    person_id: str
    is_visitor: bool
    """Anonymous-only: one device that never identifies, no CRM contact, no Shopify customer."""
    first_name: str
    last_name: str
    email: str
    work_email: str
    country: Country
    phone_area: str
    phone_subscriber: str
    has_phone: bool
    born: date
    address: str
    city: str
    province: str
    zip: str
    crm_copies: int
    in_shop: bool
    devices: tuple[Device, ...]
    engagement: float
    """Relative activity level: scales sessions and orders per day."""
    created_at: datetime
    batch: int
    namesake_of: int | None = None
    """Index of the earlier person whose name (and city or birth year) this one shares, if any."""
    unit: str | None = None
    """The flat or unit within `address` ("Apt 4B"), for the persons who live in one."""
    household_of: int | None = None
    """Index of the person (the one before) this one lives with: same surname, address and unit."""
    shares_phone: bool = False
    """A household member whose phone is the landline of the person they live with."""
    household_eligible: bool = False
    """Whether the household rate was drawn for this person (odd index, neither of the two a visitor or a
    namesake), for the manifest's realized rate."""

    @property
    def phone_e164(self) -> str:
        return f"+{self.country.calling_code}{self.phone_area}{self.phone_subscriber}"


def ascii_fold(text: str) -> str:
    """Lower-case ASCII letters only: what a name becomes inside an email address."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalpha()).lower()


def derive_person(
    seed: int,
    index: int,
    timeline: Timeline,
    namesake_rate: float = 0.0,
    household_rate: float = 0.0,
    apartment_rate: float = 0.0,
) -> Person:
    """The person at `index`: the same arguments always give the same person, in any batch.

    With probability `namesake_rate` (drawn from a stream of its own, so other draws do not shift) the person
    takes the name of an earlier person and either their birth year or their city and postal code (a
    neighbour, at another house number): a different person whom identity resolution must not merge.
    Otherwise, at an odd index, with probability `household_rate` they live with the person before them
    (`household_of`). With probability `apartment_rate` the home is a flat (`unit`), shared by a household."""
    person = _with_unit(_drawn_person(seed, index, timeline), seed, apartment_rate)
    namesake = _namesake(seed, index, timeline, person, namesake_rate, apartment_rate)
    if namesake is not None:
        return namesake
    if index % 2 == 0 or person.is_visitor:
        return person
    head = derive_person(seed, index - 1, timeline, namesake_rate, household_rate, apartment_rate)
    if head.is_visitor or head.namesake_of is not None:
        return person
    rng = rng_for(seed, Stream.DWELLINGS, 1, index)
    if rng.random() >= household_rate:
        return replace(person, household_eligible=True)
    return _housemate(person, head, rng)


def _with_unit(person: Person, seed: int, apartment_rate: float) -> Person:
    rng = rng_for(seed, Stream.DWELLINGS, 0, person.index)
    if person.is_visitor or rng.random() >= apartment_rate:
        return person
    return replace(person, unit=dirt.apartment_unit(person.country, rng))


def _housemate(person: Person, head: Person, rng: random.Random) -> Person:
    """The person moved in with `head`: their surname, address, unit and (often) landline, a look-alike given
    name when the head's has one, and the age of a spouse or of a grown-up child."""
    first = dirt.lookalike_given_name(head.first_name, rng) if rng.random() < 0.85 else None
    if first is None:
        first = rng.choice([name for name in FIRST_NAMES if name != head.first_name])
    both_in_shop = head.in_shop and person.in_shop  # Shopify keeps customer phones unique
    shares_phone = head.has_phone and not both_in_shop and rng.random() < 0.6
    if rng.random() < 0.6:
        born = head.born + timedelta(days=rng.randint(-6 * 365, 6 * 365))
    else:
        born = head.born + timedelta(days=rng.randint(22 * 365, 34 * 365))
    born = min(born, YOUNGEST_BIRTH_DATE)
    domain, work_domain = person.email.rpartition("@")[2], person.work_email.rpartition("@")[2]
    return replace(
        person,
        first_name=first,
        last_name=head.last_name,
        email=_email(first, head.last_name, person.index, domain, rng.randrange(5)),
        work_email=_email(first, head.last_name, person.index, work_domain, 0),
        country=head.country,
        address=head.address,
        unit=head.unit,
        city=head.city,
        province=head.province,
        zip=head.zip,
        phone_area=head.phone_area if shares_phone else rng.choice(head.country.area_codes),
        phone_subscriber=head.phone_subscriber if shares_phone else _subscriber(person.index, head.country),
        has_phone=True if shares_phone else rng.random() < 0.7,
        born=born,
        household_of=head.index,
        shares_phone=shares_phone,
        household_eligible=True,
    )


def _namesake(
    seed: int, index: int, timeline: Timeline, person: Person, namesake_rate: float, apartment_rate: float
) -> Person | None:
    """The person renamed after an earlier one, or None (most persons)."""
    namesake_rng = rng_for(seed, Stream.NAMESAKES, 0, index)
    if index == 0 or namesake_rng.random() >= namesake_rate:
        return None
    other = _with_unit(_drawn_person(seed, namesake_rng.randrange(index), timeline), seed, apartment_rate)
    renamed = replace(person, first_name=other.first_name, last_name=other.last_name, namesake_of=other.index)
    renamed = replace(
        renamed,
        email=_email(other.first_name, other.last_name, index, person.email.rpartition("@")[2], 0),
        work_email=_email(other.first_name, other.last_name, index, person.work_email.rpartition("@")[2], 0),
    )
    if namesake_rng.random() < 0.5:
        born = date(other.born.year, person.born.month, min(person.born.day, 28))
        if born == other.born:
            born = born.replace(day=born.day % 28 + 1)
        return replace(renamed, born=born)
    country = other.country
    street = namesake_rng.choice(STREETS[country.iso2])
    other_number = "".join(ch for ch in other.address if ch.isdigit())
    number = namesake_rng.choice([str(n) for n in range(1, 241) if str(n) != other_number])
    return replace(
        renamed,
        unit=None,
        country=country,
        city=other.city,
        province=other.province,
        address=f"{number} {street}" if country.iso2 in _NUMBER_FIRST else f"{street} {number}",
        zip=other.zip,
        phone_area=namesake_rng.choice(country.area_codes),
        phone_subscriber=_subscriber(index, country),
    )


def _drawn_person(seed: int, index: int, timeline: Timeline) -> Person:
    """The person as drawn from their own stream, before any namesake."""
    rng = rng_for(seed, Stream.PERSON, 0, index)
    batch = timeline.batch_of(index)
    is_visitor = rng.random() < VISITOR_SHARE
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    country = rng.choices(COUNTRIES, weights=_COUNTRY_WEIGHTS)[0]
    city, province, postal_seed = rng.choice(country.cities)
    street = rng.choice(STREETS[country.iso2])
    number = str(rng.randint(1, 240))
    in_crm = not is_visitor and rng.random() < CRM_SHARE
    in_shop = not is_visitor and rng.random() < SHOP_SHARE
    if not is_visitor and not (in_crm or in_shop):
        in_crm = True
    device_count = 1 if is_visitor else rng.choices(range(4), weights=DEVICE_COUNT_WEIGHTS)[0]
    return Person(
        index=index,
        person_id=person_id(index),
        is_visitor=is_visitor,
        first_name=first,
        last_name=last,
        email=_email(first, last, index, rng.choice(EMAIL_DOMAINS), rng.randrange(5)),
        work_email=_email(first, last, index, rng.choice(WORK_EMAIL_DOMAINS), 0),
        country=country,
        phone_area=rng.choice(country.area_codes),
        phone_subscriber=_subscriber(index, country),
        has_phone=rng.random() < 0.8,
        born=date(1940, 1, 1) + timedelta(days=rng.randrange(68 * 365)),
        address=f"{number} {street}" if country.iso2 in _NUMBER_FIRST else f"{street} {number}",
        city=city,
        province=province,
        zip=_postal_code(country, postal_seed, rng),
        crm_copies=1 if in_crm else 0,
        in_shop=in_shop,
        devices=tuple(_device(rng) for _ in range(device_count)),
        engagement=rng.lognormvariate(0, 0.8),
        created_at=_created_at(rng, timeline, batch),
        batch=batch,
    )


def _email(first: str, last: str, index: int, domain: str, pattern: int) -> str:
    """Ends in the person index: unique per person (names have no digits), plausible to the eye."""
    f, la = ascii_fold(first), ascii_fold(last)
    local = (f"{f}.{la}", f"{f}{la}", f"{f[0]}{la}", f"{f}_{la[0]}", f"{la}.{f}")[pattern]
    return f"{local}{index}@{domain}"


def _subscriber(index: int, country: Country) -> str:
    """A bijection of the index onto subscriber numbers not starting with 0 or 1 (unique per area code)."""
    digits = country.subscriber_digits
    space = 8 * 10 ** (digits - 1)
    value = (index * 7_654_321 + 1_234_567) % space
    return str(2 + value // 10 ** (digits - 1)) + f"{value % 10 ** (digits - 1):0{digits - 1}d}"


def subscriber_owner(subscriber: str, country: Country) -> int:
    """The person index `_subscriber` maps onto this number (its inverse): who would own a mistyped number."""
    digits = country.subscriber_digits
    space = 8 * 10 ** (digits - 1)
    value = (int(subscriber[0]) - 2) * 10 ** (digits - 1) + int(subscriber[1:])
    return (value - 1_234_567) * pow(7_654_321, -1, space) % space


def _postal_code(country: Country, seed: str, rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    if country.iso2 == "US":
        return f"{seed}{rng.randrange(100):02d}"
    if country.iso2 == "CA":
        return f"{seed} {rng.randrange(10)}{rng.choice(letters)}{rng.randrange(10)}"
    if country.iso2 == "GB":
        return f"{seed} {rng.randrange(10)}{rng.choice(letters)}{rng.choice(letters)}"
    if country.iso2 == "IE":
        return f"{seed} {rng.choice(letters)}{rng.randrange(1000):03d}"
    if country.iso2 == "NL":
        return f"{seed}{rng.randrange(100):02d} {rng.choice(letters)}{rng.choice(letters)}"
    if country.iso2 == "AU":
        return f"{seed}{rng.randrange(100):02d}"
    return f"{seed}{rng.randrange(1000):03d}"


def _device(rng: random.Random) -> Device:
    ip = f"{rng.randint(24, 191)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"
    return Device(anonymous_id=uuid_from(rng), user_agent=rng.choice(BROWSER_USER_AGENTS), ip=ip)


def _created_at(rng: random.Random, timeline: Timeline, batch: int) -> datetime:
    """Base persons mostly predate the window (long-time customers); later ones appear inside their batch."""
    start, end = timeline.window(batch)
    if batch == 0 and rng.random() < 0.7:
        return start - timedelta(seconds=rng.randrange(730 * 86_400))
    return start + timedelta(seconds=rng.randrange(max(1, int((end - start).total_seconds()))))
