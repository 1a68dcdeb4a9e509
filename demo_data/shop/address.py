"""The address block every Shopify record of a person carries (customer, order, checkout)."""

from __future__ import annotations

from typing import Any

from demo_data.people import Person
from demo_data.records.model import WrittenIdentity


def shopify_address(person: Person, identity: WrittenIdentity) -> dict[str, Any]:
    return {
        "first_name": identity.first_name,
        "last_name": identity.last_name,
        "name": f"{identity.first_name} {identity.last_name}",
        "address1": identity.address or person.address,
        "address2": identity.address2,
        "city": person.city,
        "province": person.province,
        "zip": person.zip,
        "country": person.country.name,
        "country_code": person.country.iso2,
        "phone": identity.typed_phone,
        "company": None,
    }
