"""How a person is written in each system: the dirty, but still linkable, identity of every source record.

The linkability rule the identity-resolution tests rely on is enforced here: when any record of a person
carries an email other than the person's main one (a work address or an invalid one), every record of that
person carries the phone number, and every CRM record the date of birth and address. So each pair of a
person's ordinary records shares a normalized email or a phone.

The exception is the fuzzy-only duplicate (`fuzzy_duplicate` rate): a further CRM contact sharing neither
email nor phone with the person's other records, only a similar name together with the date of birth and/or
the address and postal code (its `evidence`). When it relies on the date of birth, every other CRM contact of
the person carries a valid one. Its pairs with the person's other contact and customer records are the
`_truth/fuzzy_pairs.csv` rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from demo_data import dirt
from demo_data.dirt import DirtLedger
from demo_data.keys import FUZZY_COPY, Stream, crm_contact_id, rng_for, shop_customer_id
from demo_data.people import Device, Person, Timeline, ascii_fold
from demo_data.reference import OLD_EMAIL_DOMAINS

DOB_SHARE = 0.7
"""Share of CRM contacts that have a date of birth at all (when not needed for linking)."""
FUZZY_EVIDENCE_WEIGHTS = {"date_of_birth+address": 4, "address": 3, "date_of_birth+postal_code": 3}
"""What a fuzzy-only duplicate shares with the person's other records besides a similar name (weights of
each kind); a person without another CRM contact (Shopify only) always gets "address"."""
FUZZY_NO_EMAIL_SHARE = 0.5
"""Share of fuzzy-only duplicates without any email; the others carry an old address nobody else has."""


@dataclass(frozen=True)
class WrittenIdentity:
    system: str
    """"crm" or "shop"."""
    source_id: str
    first_name: str
    last_name: str
    email: str | None
    """As written: may be a case/whitespace variant, the work address, or invalid."""
    email_is_invalid: bool
    clean_email: str | None
    """The valid address behind `email` (lower-case, trimmed), None when invalid."""
    phone: str | None
    """CRM: as typed (any format); Shopify: E.164 (Shopify validates customer phones)."""
    phone_field: str
    """CRM only: "phone", "mobilephone" or "both"."""
    typed_phone: str | None
    """Shopify only: the address phone as the customer typed it."""
    date_of_birth: str | None
    dob_is_impossible: bool
    country: str
    """CRM: any spelling from COUNTRY_SPELLINGS; Shopify: its clean country name."""
    address: str | None = None
    """CRM: the street address line (None on a fuzzy-only duplicate without one)."""
    zip: str | None = None
    """CRM: the postal code."""


@dataclass(frozen=True)
class PersonRecords:
    crm: tuple[WrittenIdentity, ...]
    shop: WrittenIdentity | None
    identify_email: str | None
    """A valid email one of the person's records carries: what a Segment identify call sends."""
    devices: tuple[Device, ...]
    """The person's devices; none when no record could link them (they would be unlinkable in truth)."""
    fuzzy: WrittenIdentity | None = None
    """The fuzzy-only duplicate contact (copy FUZZY_COPY), if the person has one."""
    fuzzy_evidence: str | None = None
    """What it shares with the other records besides a similar name: a FUZZY_EVIDENCE_WEIGHTS key."""


def derive_records(seed: int, person: Person, timeline: Timeline, ledger: DirtLedger) -> PersonRecords:
    """Decide every written value of the person's records. Pass a scratch ledger when re-deriving."""
    if person.is_visitor:
        return PersonRecords(crm=(), shop=None, identify_email=None, devices=person.devices)
    fuzzy_rng = rng_for(seed, Stream.FUZZY_DUPLICATES, 0, person.index)
    has_fuzzy = ledger.roll("fuzzy_duplicate", fuzzy_rng)
    rng = rng_for(seed, Stream.PERSON, 1, person.index)
    kinds: list[str] = []
    if person.crm_copies:
        kinds.append("invalid" if ledger.roll("invalid_email", rng) else "main")
        if ledger.roll("crm_duplicate", rng):
            kinds.append(_duplicate_email_kind(ledger, rng))
    shop_kind = ("work" if ledger.roll("other_email", rng) else "main") if person.in_shop else None
    strong = any(kind != "main" for kind in kinds) or shop_kind == "work"
    future_year = timeline.as_ofs[person.batch].year + 1
    crm = tuple(
        _crm_identity(person, copy, kind, strong, future_year, ledger, rng, needs_dob=has_fuzzy)
        for copy, kind in enumerate(kinds)
    )
    shop = _shop_identity(person, shop_kind, strong, ledger, rng) if shop_kind else None
    emails = [r.clean_email for r in (shop, *crm) if r is not None and r.clean_email]
    identify_email = emails[0] if emails else None
    linked = shop is not None or identify_email is not None
    fuzzy, evidence = None, None
    if has_fuzzy:
        dob_known = any(r.date_of_birth and not r.dob_is_impossible for r in crm)
        evidence = _fuzzy_evidence(dob_known, fuzzy_rng)
        fuzzy = _fuzzy_identity(person, evidence, ledger, fuzzy_rng)
    return PersonRecords(
        crm=crm,
        shop=shop,
        identify_email=identify_email,
        devices=person.devices if linked else (),
        fuzzy=fuzzy,
        fuzzy_evidence=evidence,
    )


def _fuzzy_evidence(dob_known: bool, rng: random.Random) -> str:
    """What the fuzzy-only duplicate shares: anything when another contact has a valid date of birth (it
    always has the address), else the address, which the Shopify customer has too."""
    if not dob_known:
        return "address"
    return rng.choices(list(FUZZY_EVIDENCE_WEIGHTS), weights=list(FUZZY_EVIDENCE_WEIGHTS.values()))[0]


def _fuzzy_identity(person: Person, evidence: str, ledger: DirtLedger, rng: random.Random) -> WrittenIdentity:
    """A contact only fuzzy matching links: another spelling of the name, no phone, no shared email."""
    first, last = dirt.name_variant(person.first_name, person.last_name, rng)
    email = None
    if rng.random() >= FUZZY_NO_EMAIL_SHARE:
        f, la = ascii_fold(person.first_name), ascii_fold(person.last_name)
        email = f"{f}{la[0]}.{person.index}@{rng.choice(OLD_EMAIL_DOMAINS)}"
    dob = _dob(person, None, ledger, rng) if "date_of_birth" in evidence else None
    country = (
        dirt.country_spelling(person.country, rng)
        if ledger.roll("country_variant", rng)
        else person.country.iso2
    )
    return WrittenIdentity(
        system="crm",
        source_id=crm_contact_id(person.index, FUZZY_COPY),
        first_name=first,
        last_name=last,
        email=email,
        email_is_invalid=False,
        clean_email=email,
        phone=None,
        phone_field="phone",
        typed_phone=None,
        date_of_birth=dob,
        dob_is_impossible=False,
        country=country,
        address=person.address if evidence != "date_of_birth+postal_code" else None,
        zip=person.zip,
    )


def _duplicate_email_kind(ledger: DirtLedger, rng: random.Random) -> str:
    if ledger.roll("invalid_email", rng):
        return "invalid"
    return "work" if ledger.roll("other_email", rng) else "main"


def _names(person: Person, ledger: DirtLedger, rng: random.Random) -> tuple[str, str]:
    first, last = person.first_name, person.last_name
    if dirt.nickname_of(first, rng) is not None and ledger.roll("nickname", rng):
        first = dirt.nickname_of(first, rng) or first
    if ledger.roll("name_typo", rng):
        if rng.random() < 0.5:
            first = dirt.typo(first, rng)
        else:
            last = dirt.typo(last, rng)
    if ledger.roll("name_swap", rng):
        first, last = last, first
    return first, last


def _email(
    person: Person, kind: str, ledger: DirtLedger, rng: random.Random, *, variants: bool
) -> tuple[str, bool, str | None]:
    """(written email, is invalid, clean email)."""
    if kind == "invalid":
        return dirt.invalid_email(person.email, rng), True, None
    clean = person.work_email if kind == "work" else person.email
    if variants and ledger.roll("email_variant", rng):
        return dirt.email_variant(clean, rng), False, clean
    return clean, False, clean


def _crm_identity(
    person: Person,
    copy: int,
    kind: str,
    strong: bool,
    future_year: int,
    ledger: DirtLedger,
    rng: random.Random,
    *,
    needs_dob: bool = False,
) -> WrittenIdentity:
    first, last = _names(person, ledger, rng)
    email, invalid, clean = _email(person, kind, ledger, rng, variants=True)
    phone = None
    if strong or person.has_phone:
        phone = (
            dirt.phone_text(person.country, person.phone_area, person.phone_subscriber, rng)
            if ledger.roll("phone_format", rng)
            else person.phone_e164
        )
    dob, impossible = None, False
    if strong or needs_dob or rng.random() < DOB_SHARE:
        impossible = ledger.roll("impossible_dob", rng)
        dob = _dob(person, future_year if impossible else None, ledger, rng)
    country = (
        dirt.country_spelling(person.country, rng)
        if ledger.roll("country_variant", rng)
        else person.country.iso2
    )
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
        address=person.address,
        zip=person.zip,
    )


def _dob(person: Person, future_year: int | None, ledger: DirtLedger, rng: random.Random) -> str:
    """ISO or free text. With `future_year` the date is impossible: born in 1890 or in that (next) year,
    always written with a four-digit year so that it cannot be read as a plausible date."""
    born = person.born
    if future_year is not None:
        year = 1890 if rng.random() < 0.5 else future_year
        born = date(year, born.month, min(born.day, 28))
    if ledger.roll("dob_free_text", rng):
        return dirt.dob_text(born, person.country, rng, four_digit_year=future_year is not None)
    return born.isoformat()


def _shop_identity(
    person: Person, kind: str, strong: bool, ledger: DirtLedger, rng: random.Random
) -> WrittenIdentity:
    first, last = _names(person, ledger, rng)
    email, _, clean = _email(person, kind, ledger, rng, variants=False)
    has_phone = strong or person.has_phone
    typed = None
    if has_phone:
        typed = (
            dirt.phone_text(person.country, person.phone_area, person.phone_subscriber, rng)
            if ledger.roll("phone_format", rng)
            else person.phone_e164
        )
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
    )
