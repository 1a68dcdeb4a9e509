"""How a person is written in each system: the dirty, but still linkable, identity of every source record.

The linkability rule the identity-resolution tests rely on is enforced here: when any record of a person
carries an email other than the person's main one (a work address or an invalid one), every record of that
person carries the phone number, and every CRM record the date of birth and address. So each pair of a
person's ordinary records shares a normalized email or a phone.

The exception is the fuzzy-only duplicate (`fuzzy_duplicate` rate): a further CRM contact sharing neither
email nor phone with the person's other records, only a similar name together with evidence that varies (its
`evidence`, a FUZZY_EVIDENCE_WEIGHTS key): the date of birth, or it with day and month swapped; the phone with
one digit mistyped; the address and postal code, or the postal code alone. When it relies on the date of birth
or the phone, every other CRM contact of the person carries a valid one. Its pairs with the person's other
contact and customer records are the `_truth/fuzzy_pairs.csv` rows.

Values that are dirty but not invalid (a nickname, a flat number, a surname changed on marriage) are listed per
record in `dirt`, the `_truth/record_dirt.csv` rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from demo_data import dirt
from demo_data.dirt import DirtLedger
from demo_data.dirt_sources import NICKNAMES
from demo_data.keys import FUZZY_COPY, Stream, crm_contact_id, rng_for, shop_customer_id
from demo_data.people import Device, Person, Timeline, ascii_fold, subscriber_owner
from demo_data.reference.internet import OLD_EMAIL_DOMAINS
from demo_data.reference.names import LAST_NAMES

DirtRow = tuple[str, str, str]
"""(field, kind, true value): one _truth/record_dirt.csv row of a record."""
DOB_SHARE = 0.7
"""Share of CRM contacts that have a date of birth at all (when not needed for linking)."""
FUZZY_EVIDENCE_WEIGHTS = {
    "date_of_birth+address": 3,
    "address": 2,
    "date_of_birth+postal_code": 2,
    "date_of_birth_day_month_swapped+address": 1,
    "phone_one_digit_off+address": 1,
    "date_of_birth+phone_one_digit_off+postal_code": 1,
}
"""What a fuzzy-only duplicate shares with the person's other records besides a similar name (weights of
each kind). Kinds needing a date of birth or a phone the other records lack are left out; a person with
neither (e.g. Shopify only, no phone) always gets "address"."""
ADDRESS_UNIT_SHARES = {"crm": (0.6, 0.0), "shop": (0.25, 0.6)}
"""Per system, the share of a flat-dweller's records writing the unit inline and on address line 2 (Shopify
has one); the rest leave it out."""
MARRIED_KEEPS_EMAIL = 0.6
"""Share of surname-changed duplicates that keep the email; the others carry the phone and date of birth."""
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
    """The street address line as written (None on a fuzzy-only duplicate without one)."""
    zip: str | None = None
    """CRM: the postal code."""
    address2: str = ""
    """Shopify: address line 2 (the flat, when written there)."""
    dob_is_placeholder: bool = False
    dirt: tuple[DirtRow, ...] = ()
    """Its dirty-but-valid values (a nickname, a flat, a married surname)."""


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
            new_surname=_married_surname(person, dirt_rng) if married and copy == 1 else None,
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
        evidence = _fuzzy_evidence(person, dob_known, phone_known, fuzzy_rng)
        fuzzy = _fuzzy_identity(person, evidence, ledger, fuzzy_rng, timeline.people_totals[-1])
    return PersonRecords(
        crm=crm,
        shop=shop,
        identify_email=identify_email,
        devices=person.devices if linked else (),
        fuzzy=fuzzy,
        fuzzy_evidence=evidence,
    )


def _fuzzy_evidence(person: Person, dob_known: bool, phone_known: bool, rng: random.Random) -> str:
    """What the fuzzy-only duplicate shares: a kind whose date of birth and phone the other records carry
    (every kind includes the address or the postal code, which they always have)."""
    options = {
        kind: weight
        for kind, weight in FUZZY_EVIDENCE_WEIGHTS.items()
        if (dob_known or "date_of_birth" not in kind)
        and (phone_known or "phone" not in kind)
        and (dirt.day_month_swapped(person.born) is not None or "swapped" not in kind)
    }
    return rng.choices(list(options), weights=list(options.values()))[0]


def _fuzzy_identity(
    person: Person, evidence: str, ledger: DirtLedger, rng: random.Random, people_total: int
) -> WrittenIdentity:
    """A contact only fuzzy matching links: another spelling of the name, no shared email, no phone or one
    mistyped, and the evidence it was given."""
    first, last = dirt.name_variant(person.first_name, person.last_name, rng)
    email = None
    if rng.random() >= FUZZY_NO_EMAIL_SHARE:
        f, la = ascii_fold(person.first_name), ascii_fold(person.last_name)
        email = f"{f}{la[0]}.{person.index}@{rng.choice(OLD_EMAIL_DOMAINS)}"
    dob = None
    if "swapped" in evidence:
        dob = _dob(person, None, ledger, rng, born=dirt.day_month_swapped(person.born))
    elif "date_of_birth" in evidence:
        dob = _dob(person, None, ledger, rng)
    phone = None
    if "phone" in evidence:
        subscriber = _mistyped_subscriber(person, rng, people_total)
        phone = (
            dirt.phone_text(person.country, person.phone_area, subscriber, rng)
            if ledger.roll("phone_format", rng)
            else f"+{person.country.calling_code}{person.phone_area}{subscriber}"
        )
    country = (
        dirt.country_spelling(person.country, rng)
        if ledger.roll("country_variant", rng)
        else person.country.iso2
    )
    source_id = crm_contact_id(person.index, FUZZY_COPY)
    address, address_dirt = (None, ()) if "address" not in evidence else _written_address(person, "crm", rng)
    nicknames = NICKNAMES.get(person.first_name, ())
    name_dirt = tuple(
        (field, "nickname", person.first_name)
        for field, name in (("firstname", first), ("lastname", last))
        if name in nicknames
    )
    return WrittenIdentity(
        system="crm",
        source_id=source_id,
        first_name=first,
        last_name=last,
        email=email,
        email_is_invalid=False,
        clean_email=email,
        phone=phone,
        phone_field="phone",
        typed_phone=None,
        date_of_birth=dob,
        dob_is_impossible=False,
        country=country,
        address=address,
        zip=person.zip,
        dirt=name_dirt + address_dirt,
    )


def _mistyped_subscriber(person: Person, rng: random.Random, people_total: int) -> str:
    """The subscriber number one digit off, and not another person's: a number whose owner index is beyond
    the population (many times over, so later batches stay clear of it too). Past ~2M persons a 7-digit plan
    may have no such number left within the tries; then the typo may be someone else's, as in real data."""
    for _ in range(50):
        typed = dirt.one_digit_off(person.phone_subscriber, rng)
        if subscriber_owner(typed, person.country) >= 4 * people_total:
            return typed
    return dirt.one_digit_off(person.phone_subscriber, rng)


def _written_address(person: Person, system: str, rng: random.Random) -> tuple[str, tuple[DirtRow, ...]]:
    """The street address line as this record writes it, with the record_dirt row of its flat, if any."""
    if person.unit is None:
        return person.address, ()
    inline, _ = ADDRESS_UNIT_SHARES[system]
    if rng.random() < inline:
        field = "address" if system == "crm" else "address1"
        return dirt.with_unit(person.address, person.unit), ((field, "apartment", person.address),)
    return person.address, ()


def _married_surname(person: Person, rng: random.Random) -> str:
    """The surname taken on marriage, or both joined, as some keep their own."""
    new = rng.choice([name for name in LAST_NAMES if name != person.last_name])
    return f"{person.last_name}-{new}" if rng.random() < 0.2 else new


def _duplicate_email_kind(ledger: DirtLedger, rng: random.Random) -> str:
    if ledger.roll("invalid_email", rng):
        return "invalid"
    return "work" if ledger.roll("other_email", rng) else "main"


def _names(
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
    dirt_rng: random.Random,
    *,
    needs_dob: bool = False,
    new_surname: str | None = None,
) -> WrittenIdentity:
    first, last, rows = _names(person, ledger, rng, new_surname)
    email, invalid, clean = _email(person, kind, ledger, rng, variants=True)
    phone = None
    if strong or person.has_phone:
        phone = (
            dirt.phone_text(person.country, person.phone_area, person.phone_subscriber, rng)
            if ledger.roll("phone_format", rng)
            else person.phone_e164
        )
    dob, impossible, placeholder = None, False, False
    if strong or needs_dob or rng.random() < DOB_SHARE:
        impossible = ledger.roll("impossible_dob", rng)
        dob = _dob(person, future_year if impossible else None, ledger, rng)
        if not (impossible or needs_dob) and ledger.roll("placeholder_dob", dirt_rng):
            dob, placeholder = dirt.placeholder_dob(dirt_rng), True
    address, address_dirt = _written_address(person, "crm", dirt_rng)
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
        address=address,
        zip=person.zip,
        dob_is_placeholder=placeholder,
        dirt=rows + address_dirt,
    )


def _dob(
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


def _shop_identity(
    person: Person, kind: str, strong: bool, ledger: DirtLedger, rng: random.Random, dirt_rng: random.Random
) -> WrittenIdentity:
    first, last, rows = _names(person, ledger, rng)
    email, _, clean = _email(person, kind, ledger, rng, variants=False)
    has_phone = strong or person.has_phone
    typed = None
    if has_phone:
        typed = (
            dirt.phone_text(person.country, person.phone_area, person.phone_subscriber, rng)
            if ledger.roll("phone_format", rng)
            else person.phone_e164
        )
    address, address_dirt = _written_address(person, "shop", dirt_rng)
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
