"""What a source record says about a person: the identity each CRM contact and Shopify customer is written with."""

from __future__ import annotations

from dataclasses import dataclass

from demo_data.people import Device

DirtRow = tuple[str, str, str]
"""(field, kind, true value): one _truth/record_dirt.csv row of a record."""


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
