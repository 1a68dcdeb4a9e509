"""The ground truth of one new person: identities, invalid values, fuzzy pairs, households, record dirt."""

from __future__ import annotations

from demo_data.keys import person_id
from demo_data.people import Person
from demo_data.records.model import PersonRecords
from demo_data.writers import Outputs


def write_truth(out: Outputs, person: Person, records: PersonRecords) -> None:
    for identity in records.crm:
        out.identity.write("crm", identity.source_id, person.person_id)
        if identity.email_is_invalid:
            out.invalid.write("crm", identity.source_id, "email", "invalid_email")
        if identity.dob_is_impossible:
            out.invalid.write("crm", identity.source_id, "date_of_birth", "impossible_date_of_birth")
        if identity.dob_is_placeholder:
            out.invalid.write("crm", identity.source_id, "date_of_birth", "placeholder_date_of_birth")
    if records.shop is not None:
        out.identity.write("shop", records.shop.source_id, person.person_id)
        if records.devices:
            out.identity.write("analytics", records.shop.source_id, person.person_id)
    for device in records.devices:
        out.identity.write("analytics", device.anonymous_id, person.person_id)
        out.bots.write(device.anonymous_id, "false", "")
    if records.fuzzy is not None:
        fuzzy_id = records.fuzzy.source_id
        out.identity.write("crm", fuzzy_id, person.person_id)
        shared = ["name", *(records.fuzzy_evidence or "").split("+")]
        for other in (*records.crm, records.shop):
            if other is not None:
                # what the other record carries: a Shopify customer has no date of birth, and without a phone
                # there is no mistyped one to compare with; the place (address or postal code) is always there
                attributes = [
                    a
                    for a in shared
                    if ("date_of_birth" not in a or other.date_of_birth) and ("phone" not in a or other.phone)
                ]
                evidence = "+".join(attributes)
                out.fuzzy_pairs.write("crm", fuzzy_id, other.system, other.source_id, person.person_id, evidence)
    for identity in (*records.crm, records.shop, records.fuzzy):
        for dirty_field, kind, true_value in identity.dirt if identity is not None else ():
            out.record_dirt.write(identity.system, identity.source_id, dirty_field, kind, true_value)
    if person.household_of is not None:
        household_id = f"household-{person.household_of:08d}"
        shared = "last_name+address" + ("+phone" if person.shares_phone else "")
        out.households.write(household_id, person_id(person.household_of), shared)
        out.households.write(household_id, person.person_id, shared)
