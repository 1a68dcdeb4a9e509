"""Households: different people at one address, which identity resolution must never merge.

A deterministic (seeded) data set of HubSpot contacts. Each household is two people (a few three) who share a
surname and an address, often a phone (the household's landline), and have look-alike given names (John and
Joan, Daniel and Danielle, Christopher and Christine, Frances and Francis, ...). They are spouses, siblings or a
parent and child, so their dates of birth differ; a share of records has no date of birth or no phone, which is
when a matcher that scores only what is present loses its last piece of evidence against a merge.

So that never merging anything is not a perfect score, some people also have a second record of their own (the
same person registered twice: a dropped field, an abbreviated street, a differently written name); those pairs
are the only true ones. The figures that matter are the false merges (pairs of household members put under one
customer, which must be zero) and the recall of the true duplicates.

The names, streets and towns are this module's own lists: neither the cleaning's reference seeds nor the demo
generator's. Addresses are in the United States, with real city, state and ZIP code combinations and phone
numbers of the city's area code.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.febrl import DELIVERED_AT, SOURCE_SYSTEM, write_contacts
from demo_data.keys import hubspot_time

LOOK_ALIKE_NAMES: tuple[tuple[str, ...], ...] = (
    ("John", "Joan"),
    ("Daniel", "Danielle"),
    ("Christopher", "Christine"),
    ("Frances", "Francis"),
    ("Paul", "Paula", "Pauline"),
    ("Eric", "Erica"),
    ("Carl", "Carla"),
    ("Louis", "Louise"),
    ("Robert", "Roberta"),
    ("Michael", "Michaela"),
    ("Patrick", "Patricia"),
    ("Julian", "Juliana", "Julia"),
    ("Adrian", "Adriana"),
    ("Stephen", "Stephanie"),
    ("Gabriel", "Gabrielle"),
    ("Noel", "Noelle"),
    ("Antonio", "Antonia"),
    ("Justin", "Justine"),
    ("Martin", "Martina"),
    ("Philip", "Philippa"),
    ("Glen", "Glenda"),
    ("Dean", "Deanna"),
    ("Jesse", "Jessie"),
    ("Gene", "Jean"),
    ("Marcel", "Marcella"),
    ("Bernard", "Bernadette"),
    ("Claude", "Claudia"),
    ("Dominic", "Dominique"),
    ("Henry", "Henrietta"),
    ("Oliver", "Olivia"),
    ("Victor", "Victoria"),
    ("Leon", "Leona"),
    ("Simon", "Simone"),
    ("Toni", "Tony"),
    ("Lee", "Leigh"),
    ("Kristian", "Kristina"),
)
"""Given names that differ by a letter or an ending: a household's members take names from one group."""

SURNAMES = (
    "Okafor", "Lindqvist", "Brannigan", "Castellanos", "Whitfield", "Nakamura", "Delacroix", "Haverford",
    "Quintero", "Abernathy", "Kowalczyk", "Fairbanks", "Mulligan", "Esposito", "Thorsen", "Pemberton",
    "Villanueva", "Sorensen", "Archuleta", "Blackwood", "Oyelaran", "Fitzgerald", "Yamamoto", "Hollister",
    "Marchetti", "Dunleavy", "Vasquez", "Lindgren", "Ashworth", "Petrakis", "Galloway", "Szymanski",
)  # fmt: skip

STREETS = (
    "Juniper", "Sycamore", "Larkspur", "Hawthorne", "Bramble", "Chestnut", "Meadowbrook", "Foxglove", "Ridgeview",
    "Willowbend", "Cobblestone", "Magnolia", "Pinecrest", "Stonegate", "Briarwood", "Harborview", "Clearwater",
    "Amberwood", "Thistle", "Kingfisher",
)  # fmt: skip
STREET_TYPES = (("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Lane", "Ln"), ("Drive", "Dr"), ("Court", "Ct"))
"""A street type as written in full and as abbreviated (a person's second record may use the other)."""

TOWNS: tuple[tuple[str, str, str, str], ...] = (
    ("Springfield", "IL", "62704", "217"),
    ("Madison", "WI", "53711", "608"),
    ("Boise", "ID", "83702", "208"),
    ("Tulsa", "OK", "74105", "918"),
    ("Burlington", "VT", "05401", "802"),
    ("Asheville", "NC", "28801", "828"),
    ("Spokane", "WA", "99201", "509"),
    ("Lansing", "MI", "48906", "517"),
    ("Savannah", "GA", "31401", "912"),
    ("Fresno", "CA", "93721", "559"),
    ("Albuquerque", "NM", "87102", "505"),
    ("Des Moines", "IA", "50309", "515"),
    ("Chattanooga", "TN", "37402", "423"),
    ("Portland", "ME", "04101", "207"),
    ("Billings", "MT", "59101", "406"),
    ("Lexington", "KY", "40507", "859"),
)
"""(city, state, ZIP code, area code): real combinations."""

COUNTRY = "United States"
RELATIONS = ("spouses", "siblings", "parent and child")


@dataclass(frozen=True)
class HouseholdsConfig:
    households: int = 150
    seed: int = 24
    triple_share: float = 0.1
    """Share of households with three members."""
    shared_phone_share: float = 0.6
    """Share of households whose members all give the household's landline."""
    missing_dob_share: float = 0.3
    missing_phone_share: float = 0.25
    second_record_share: float = 0.2
    """Share of people with a second record of their own (the true duplicates)."""


@dataclass
class Member:
    person_id: str
    first_name: str
    last_name: str
    date_of_birth: date
    phone: str
    records: list[dict[str, str | None]] = field(default_factory=list)


@dataclass(frozen=True)
class Household:
    household_id: str
    relation: str
    address: str
    members: tuple[Member, ...]


def _phone(rng: random.Random, area_code: str) -> str:
    """A number of the area code: exchange 200-999 (never a N11 service code), line 0000-9999."""
    exchange = rng.randrange(200, 1000)
    while exchange % 100 == 11:
        exchange = rng.randrange(200, 1000)
    return f"({area_code}) {exchange}-{rng.randrange(10_000):04d}"


def _birth_dates(rng: random.Random, relation: str, size: int) -> list[date]:
    """Different dates of birth, as the relation makes them: spouses within 8 years, siblings 1-9 years apart,
    a parent 20-40 years before the children."""
    first = date(1945 if relation == "parent and child" else 1955, 1, 1) + timedelta(days=rng.randrange(30 * 365))
    dates = [first]
    while len(dates) < size:
        if relation == "parent and child" and len(dates) == 1:
            candidate = first + timedelta(days=rng.randrange(20 * 365, 40 * 365))
        elif relation == "spouses" and len(dates) == 1:
            candidate = first + timedelta(days=rng.randrange(-8 * 365, 8 * 365))
        else:
            candidate = dates[-1] + timedelta(days=rng.randrange(365, 9 * 365))
        if candidate not in dates:
            dates.append(candidate)
    return dates


def _record(member: Member, address: str, rng: random.Random, config: HouseholdsConfig) -> dict[str, str | None]:
    return {
        "firstname": member.first_name,
        "lastname": member.last_name,
        "address": address,
        "date_of_birth": None if rng.random() < config.missing_dob_share else member.date_of_birth.isoformat(),
        "phone": None if rng.random() < config.missing_phone_share else member.phone,
    }


def _second_record(first: dict[str, str | None], member: Member, rng: random.Random) -> dict[str, str | None]:
    """The same person again: one field dropped or written otherwise, the rest as before."""
    again = dict(first)
    change = rng.randrange(4)
    if change == 0:
        again["phone"] = None if first["phone"] else member.phone
    elif change == 1:
        again["date_of_birth"] = None if first["date_of_birth"] else member.date_of_birth.isoformat()
    elif change == 2:
        for full, short in STREET_TYPES:
            again["address"] = (again["address"] or "").replace(f" {full}", f" {short}")
    else:
        again["firstname"], again["lastname"] = member.first_name.upper(), member.last_name.upper()
    return again


def generate(config: HouseholdsConfig = HouseholdsConfig()) -> list[Household]:
    """The households, a pure function of the config."""
    rng = random.Random(config.seed)
    households = []
    for index in range(config.households):
        size = 3 if rng.random() < config.triple_share else 2
        groups = [group for group in LOOK_ALIKE_NAMES if len(group) >= size]
        names = rng.sample(rng.choice(groups), size)
        relation = rng.choice(RELATIONS)
        surname = rng.choice(SURNAMES)
        city, state, zip_code, area_code = rng.choice(TOWNS)
        street_type = rng.choice(STREET_TYPES)[0]
        address = f"{rng.randrange(1, 9000)} {rng.choice(STREETS)} {street_type}"
        landline = _phone(rng, area_code) if rng.random() < config.shared_phone_share else None
        members = tuple(
            Member(
                person_id=f"h{index:04d}-{position}",
                first_name=name,
                last_name=surname,
                date_of_birth=born,
                phone=landline or _phone(rng, area_code),
            )
            for position, (name, born) in enumerate(zip(names, _birth_dates(rng, relation, size), strict=True))
        )
        town = {"city": city, "state": state, "zip": zip_code}
        for member in members:
            first = {**_record(member, address, rng, config), **town}
            member.records.append(first)
            if rng.random() < config.second_record_share:
                member.records.append(_second_record(first, member, rng))
        households.append(Household(f"h{index:04d}", relation, f"{address}, {city}, {state} {zip_code}", members))
    return households


def contact(source_id: str, properties: dict[str, str | None]) -> dict[str, Any]:
    """A HubSpot CRM v3 contact without an email (docs/contracts.md section 1)."""
    delivered = hubspot_time(DELIVERED_AT)
    return {
        "id": source_id,
        "properties": {
            "email": None,
            "firstname": properties["firstname"],
            "lastname": properties["lastname"],
            "phone": properties["phone"],
            "mobilephone": None,
            "address": properties["address"],
            "city": properties["city"],
            "state": properties["state"],
            "zip": properties["zip"],
            "country": COUNTRY,
            "date_of_birth": properties["date_of_birth"],
            "lifecyclestage": "lead",
            "hs_email_optout": "false",
            "createdate": delivered,
            "lastmodifieddate": delivered,
            "hs_object_id": source_id,
        },
        "createdAt": delivered,
        "updatedAt": delivered,
        "archived": False,
    }


def contacts_and_truth(
    households: list[Household],
) -> tuple[list[dict[str, Any]], dict[tuple[str, str], str]]:
    """Every record as a contact (id `<person>-r<k>`) and the truth: record -> person."""
    contacts, truth = [], {}
    for household in households:
        for member in household.members:
            for k, properties in enumerate(member.records):
                source_id = f"{member.person_id}-r{k}"
                contacts.append(contact(source_id, properties))
                truth[(SOURCE_SYSTEM, source_id)] = member.person_id
    return contacts, truth


def write_landing(landing_dir: Path, config: HouseholdsConfig = HouseholdsConfig()) -> dict[tuple[str, str], str]:
    """Write the households as HubSpot contact landing files under `landing_dir`; returns the truth."""
    contacts, truth = contacts_and_truth(generate(config))
    write_contacts(contacts, truth, landing_dir)
    return truth
