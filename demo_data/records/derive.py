"""Every written value of a person's records, decided in one place so that the linkability rule holds.

The rule the identity-resolution tests rely on: when any record of a person carries an email other than the
person's main one (a work address or an invalid one), every record of that person carries the phone number, and
every CRM record the date of birth and address. So each pair of a person's ordinary records shares a normalized
email or a phone. The exception is the fuzzy-only duplicate (`demo_data.records.fuzzy`).
"""

from __future__ import annotations

import random

from demo_data import dirt
from demo_data.dirt import DirtLedger
from demo_data.keys import Stream, crm_contact_id, rng_for, shop_customer_id
from demo_data.people import Person, Timeline
from demo_data.records.fields import (
    ADDRESS_UNIT_SHARES,
    married_surname,
    written_address,
    written_country,
    written_dob,
    written_email,
    written_name,
    written_phone,
)
from demo_data.records.fuzzy import fuzzy_evidence, fuzzy_identity
from demo_data.records.model import PersonRecords, WrittenIdentity

DOB_SHARE = 0.7
"""Share of CRM contacts that have a date of birth at all (when not needed for linking)."""
MARRIED_KEEPS_EMAIL = 0.6
"""Share of surname-changed duplicates that keep the email; the others carry the phone and date of birth."""


def derive_records(seed: int, person: Person, timeline: Timeline, ledger: DirtLedger) -> PersonRecords:
    """Decide every written value of the person's records. Pass a scratch ledger when re-deriving."""
    if person.is_visitor:
        return PersonRecords(crm=(), shop=None, identify_email=None, devices=person.devices)
    fuzzy_rng = rng_for(seed, Stream.FUZZY_DUPLICATES, 0, person.index)
    has_fuzzy = ledger.roll("fuzzy_duplicate", fuzzy_rng)
    rng = rng_for(seed, Stream.PERSON, 1, person.index)
    dirt_rng = rng_for(seed, Stream.RECORD_DIRT, 0, person.index)
    kinds: list[str] = []
    married = False
    if person.crm_copies:
        kinds.append("invalid" if ledger.roll("invalid_email", rng) else "main")
        if ledger.roll("crm_duplicate", rng):
            kinds.append(_duplicate_email_kind(ledger, rng))
        married = ledger.roll("married_surname", dirt_rng)
        if married and len(kinds) == 1:
            kinds.append("main" if dirt_rng.random() < MARRIED_KEEPS_EMAIL else "work")
    shop_kind = ("work" if ledger.roll("other_email", rng) else "main") if person.in_shop else None
    strong = any(kind != "main" for kind in kinds) or shop_kind == "work"
    future_year = timeline.as_ofs[person.batch].year + 1
    crm = tuple(
        _crm_identity(
            person,
            copy,
            kind,
            strong,
            future_year,
            ledger,
            rng,
            dirt_rng,
            needs_dob=has_fuzzy,
            new_surname=married_surname(person, dirt_rng) if married and copy == 1 else None,
        )
        for copy, kind in enumerate(kinds)
    )
    shop = _shop_identity(person, shop_kind, strong, ledger, rng, dirt_rng) if shop_kind else None
    emails = [r.clean_email for r in (shop, *crm) if r is not None and r.clean_email]
    identify_email = emails[0] if emails else None
    linked = shop is not None or identify_email is not None
    fuzzy, evidence = None, None
    if has_fuzzy:
        dob_known = any(r.date_of_birth and not r.dob_is_impossible for r in crm)
        phone_known = any(r.phone for r in (*crm, shop) if r is not None)
        evidence = fuzzy_evidence(person, dob_known, phone_known, fuzzy_rng)
        fuzzy = fuzzy_identity(person, evidence, ledger, fuzzy_rng, timeline.people_totals[-1])
    return PersonRecords(
        crm=crm,
        shop=shop,
        identify_email=identify_email,
        devices=person.devices if linked else (),
        fuzzy=fuzzy,
        fuzzy_evidence=evidence,
    )


def _duplicate_email_kind(ledger: DirtLedger, rng: random.Random) -> str:
    if ledger.roll("invalid_email", rng):
        return "invalid"
    return "work" if ledger.roll("other_email", rng) else "main"


def _crm_identity(
    person: Person,
    copy: int,
    kind: str,
    strong: bool,
    future_year: int,
    ledger: DirtLedger,
    rng: random.Random,
    dirt_rng: random.Random,
    *,
    needs_dob: bool = False,
    new_surname: str | None = None,
) -> WrittenIdentity:
    first, last, rows = written_name(person, ledger, rng, new_surname)
    email, invalid, clean = written_email(person, kind, ledger, rng, variants=True)
    phone = None
    if strong or person.has_phone:
        phone = written_phone(person, person.phone_subscriber, ledger, rng)
    dob, impossible, placeholder = None, False, False
    if strong or needs_dob or rng.random() < DOB_SHARE:
        impossible = ledger.roll("impossible_dob", rng)
        dob = written_dob(person, future_year if impossible else None, ledger, rng)
        if not (impossible or needs_dob) and ledger.roll("placeholder_dob", dirt_rng):
            dob, placeholder = dirt.placeholder_dob(dirt_rng), True
    address, address_dirt = written_address(person, "crm", dirt_rng)
    country = written_country(person, ledger, rng)
    return WrittenIdentity(
        system="crm",
        source_id=crm_contact_id(person.index, copy),
        first_name=first,
        last_name=last,
        email=email,
        email_is_invalid=invalid,
        clean_email=clean,
        phone=phone,
        phone_field=rng.choices(("phone", "mobilephone", "both"), weights=(7, 2, 1))[0],
        typed_phone=None,
        date_of_birth=dob,
        dob_is_impossible=impossible,
        country=country,
        address=address,
        zip=person.zip,
        dob_is_placeholder=placeholder,
        dirt=rows + address_dirt,
    )


def _shop_identity(
    person: Person, kind: str, strong: bool, ledger: DirtLedger, rng: random.Random, dirt_rng: random.Random
) -> WrittenIdentity:
    first, last, rows = written_name(person, ledger, rng)
    email, _, clean = written_email(person, kind, ledger, rng, variants=False)
    has_phone = strong or person.has_phone
    typed = None
    if has_phone:
        typed = written_phone(person, person.phone_subscriber, ledger, rng)
    address, address_dirt = written_address(person, "shop", dirt_rng)
    address2 = ""
    if person.unit is not None and not address_dirt and dirt_rng.random() < ADDRESS_UNIT_SHARES["shop"][1] / (
        1 - ADDRESS_UNIT_SHARES["shop"][0]
    ):
        address2, address_dirt = dirt.unit_line(person.unit), (("address2", "apartment", person.address),)
    return WrittenIdentity(
        system="shop",
        source_id=str(shop_customer_id(person.index)),
        first_name=first,
        last_name=last,
        email=email,
        email_is_invalid=False,
        clean_email=clean,
        phone=person.phone_e164 if has_phone else None,
        phone_field="phone",
        typed_phone=typed,
        date_of_birth=None,
        dob_is_impossible=False,
        country=person.country.name,
        address=address,
        address2=address2,
        dirt=rows + address_dirt,
    )
