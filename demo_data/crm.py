"""HubSpot CRM v3 contacts and their CDC versions.

Each contact has a version history that is a pure function of (seed, person, batch): the first version when
the person appears, maybe a change and an archival later in that batch, and in each increment a change for the
~1% of persons chosen for it. An increment re-derives the history up to its batch and writes only its own
versions, so the same contact id arrives again with a later updatedAt and changed properties.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from demo_data.dirt import DirtLedger
from demo_data.keys import FUZZY_COPY, Stream, chosen, crm_contact_id, crm_slot, hubspot_time, rng_for
from demo_data.people import Person, Timeline
from demo_data.records.model import WrittenIdentity

LIFECYCLE = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer")


@dataclass(frozen=True)
class ContactVersion:
    batch: int
    record: dict[str, Any]


def contact_versions(
    seed: int,
    person: Person,
    identity: WrittenIdentity,
    copy: int,
    timeline: Timeline,
    upto_batch: int,
    ledger_for: Callable[[int], DirtLedger],
) -> list[ContactVersion]:
    """All versions of one contact up to `upto_batch`, oldest first; `ledger_for(batch)` counts that
    batch's dirt."""
    start, end = timeline.window(person.batch)
    rng = rng_for(seed, Stream.CHANGES, 0, crm_slot(person.index, copy))
    created = person.created_at if copy == 0 else _between(rng, person.created_at, end)
    ledger = ledger_for(person.batch)
    props = _first_properties(person, identity, created, ledger, rng)
    versions = [
        _version(identity.source_id, person.batch, props, created, _between(rng, created, end), False)
    ]
    if ledger.roll("cdc_update", rng):
        versions.append(_changed(identity, person, versions[-1], person.batch, end, rng))
    if ledger.roll("archived", rng):
        versions.append(_archived(versions[-1], person.batch, end, rng))
    for batch in range(person.batch + 1, upto_batch + 1):
        if versions[-1].record["archived"] or not chosen(
            seed, Stream.CHOSEN, batch, person.index, timeline.change_share
        ):
            continue
        change_rng = rng_for(seed, Stream.CHANGES, batch, crm_slot(person.index, copy))
        batch_end = timeline.window(batch)[1]
        versions.append(
            _changed(
                identity,
                person,
                versions[-1],
                batch,
                batch_end,
                change_rng,
                not_before=timeline.window(batch)[0],
            )
        )
        if ledger_for(batch).roll("archived", change_rng):
            versions.append(_archived(versions[-1], batch, batch_end, change_rng))
    return versions


def _between(rng: random.Random, low: datetime, high: datetime) -> datetime:
    """A moment in [low, high], to the millisecond: a version is never newer than its batch's end."""
    seconds = max(0, int((high - low).total_seconds()))
    moment = low + timedelta(seconds=rng.randint(0, seconds), milliseconds=rng.randrange(1000))
    return max(low, min(moment, high))


def _first_properties(
    person: Person, identity: WrittenIdentity, created: datetime, ledger: DirtLedger, rng: random.Random
) -> dict[str, str | None]:
    phone_field = identity.phone_field
    stage = "customer" if person.in_shop else rng.choice(LIFECYCLE[:-1])
    return {
        "email": identity.email,
        "firstname": identity.first_name,
        "lastname": identity.last_name,
        "phone": identity.phone if phone_field in ("phone", "both") else None,
        "mobilephone": identity.phone if phone_field in ("mobilephone", "both") else None,
        "address": identity.address,
        "city": person.city,
        "state": person.province,
        "zip": identity.zip,
        "country": identity.country,
        "date_of_birth": identity.date_of_birth,
        "lifecyclestage": stage,
        "hs_email_optout": "true" if ledger.roll("email_optout", rng) else "false",
        "createdate": hubspot_time(created),
        "lastmodifieddate": None,
        "hs_object_id": identity.source_id,
    }


def _version(
    contact_id: str,
    batch: int,
    props: dict[str, str | None],
    created: datetime,
    updated: datetime,
    archived: bool,
) -> ContactVersion:
    record: dict[str, Any] = {
        "id": contact_id,
        "properties": {**props, "lastmodifieddate": hubspot_time(updated)},
        "createdAt": hubspot_time(created),
        "updatedAt": hubspot_time(updated),
        "archived": archived,
    }
    if archived:
        record["archivedAt"] = hubspot_time(updated)
    return ContactVersion(batch=batch, record=record)


def _changed(
    identity: WrittenIdentity,
    person: Person,
    previous: ContactVersion,
    batch: int,
    end: datetime,
    rng: random.Random,
    not_before: datetime | None = None,
) -> ContactVersion:
    """A later version with one property changed: a stage advanced, an opt-out, a corrected name or phone
    (never on a fuzzy-only duplicate, which must not share the person's phone)."""
    props = dict(previous.record["properties"])
    stage = props["lifecyclestage"] or LIFECYCLE[0]
    kind = rng.randrange(4)
    if kind == 0 and stage != LIFECYCLE[-1]:
        props["lifecyclestage"] = LIFECYCLE[LIFECYCLE.index(stage) + 1]
    elif kind == 1 and props["hs_email_optout"] == "false":
        props["hs_email_optout"] = "true"
    elif kind == 2 and (props["firstname"], props["lastname"]) != (person.first_name, person.last_name):
        props["firstname"], props["lastname"] = person.first_name, person.last_name
    else:
        if identity.source_id != crm_contact_id(person.index, FUZZY_COPY):
            props["phone"] = props["phone"] or props["mobilephone"] or person.phone_e164
        props["lifecyclestage"] = LIFECYCLE[min(LIFECYCLE.index(stage) + 1, len(LIFECYCLE) - 1)]
        props["hs_email_optout"] = "false" if props["hs_email_optout"] == "true" else "true"
    low = max(_parse(previous.record["updatedAt"]), not_before or _parse(previous.record["updatedAt"]))
    updated = _between(rng, low, end)
    return _version(identity.source_id, batch, props, _parse(previous.record["createdAt"]), updated, False)


def _archived(previous: ContactVersion, batch: int, end: datetime, rng: random.Random) -> ContactVersion:
    updated = _between(rng, _parse(previous.record["updatedAt"]), end)
    props = {k: v for k, v in previous.record["properties"].items() if k != "lastmodifieddate"}
    return _version(previous.record["id"], batch, props, _parse(previous.record["createdAt"]), updated, True)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)
