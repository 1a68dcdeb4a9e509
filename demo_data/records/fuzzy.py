"""The fuzzy-only duplicate: a further CRM contact that only a fuzzy match links to its person.

It shares neither email nor phone with the person's other records, only a similar name together with evidence
that varies (a FUZZY_EVIDENCE_WEIGHTS key): the date of birth, or it with day and month swapped; the phone with
one digit mistyped; the address and postal code, or the postal code alone. When it relies on the date of birth
or the phone, every other CRM contact of the person carries a valid one. Its pairs with the person's other
contact and customer records are the `_truth/fuzzy_pairs.csv` rows.
"""

from __future__ import annotations

import random

from demo_data import dirt
from demo_data.dirt import DirtLedger
from demo_data.dirt_sources import NICKNAMES
from demo_data.keys import FUZZY_COPY, crm_contact_id
from demo_data.people import Person, ascii_fold, subscriber_owner
from demo_data.records.fields import written_address, written_country, written_dob, written_phone
from demo_data.records.model import WrittenIdentity
from demo_data.reference.internet import OLD_EMAIL_DOMAINS

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
FUZZY_NO_EMAIL_SHARE = 0.5
"""Share of fuzzy-only duplicates without any email; the others carry an old address nobody else has."""


def fuzzy_evidence(person: Person, dob_known: bool, phone_known: bool, rng: random.Random) -> str:
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


def fuzzy_identity(
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
        dob = written_dob(person, None, ledger, rng, born=dirt.day_month_swapped(person.born))
    elif "date_of_birth" in evidence:
        dob = written_dob(person, None, ledger, rng)
    phone = None
    if "phone" in evidence:
        subscriber = _mistyped_subscriber(person, rng, people_total)
        phone = written_phone(person, subscriber, ledger, rng)
    country = written_country(person, ledger, rng)
    source_id = crm_contact_id(person.index, FUZZY_COPY)
    address, address_dirt = (None, ()) if "address" not in evidence else written_address(person, "crm", rng)
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
