"""Deterministic randomness, identifiers and timestamp formats shared by every part of the generator.

Determinism rests on one rule: every random choice comes from a `random.Random` seeded by (seed, stream,
batch, index). Nothing depends on the order in which other things were generated, so an increment can
re-derive any earlier person, order plan or product without reading files, and the same seed and as_of give
the same bytes.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from enum import IntEnum
from zoneinfo import ZoneInfo

from demo_data.reference.places import SHOP_TIMEZONE

_SHOP_ZONE = ZoneInfo(SHOP_TIMEZONE)
_MASK64 = (1 << 64) - 1
MAX_PEOPLE = 100_000_000
"""Upper bound of person indexes: identifiers below are built so that they stay unique up to this size."""


class Stream(IntEnum):
    """Independent random streams: adding draws to one never shifts the values of another."""

    PERSON = 1
    ACTIVITY = 2
    ORDERS = 3
    CHANGES = 4
    EXTRA_VISITORS = 5
    PRODUCTS = 6
    CHOSEN = 7
    DUPLICATES = 8
    FUZZY_DUPLICATES = 9
    NAMESAKES = 10
    DWELLINGS = 11
    RECORD_DIRT = 12
    HELPDESK = 21
    ESP_MEMBERS = 22  # the ESP's streams (demo_data/esp/), numbered apart from the others
    ESP_ACTIVITY = 23


def rng_for(seed: int, stream: Stream, batch: int, index: int) -> random.Random:
    """A generator private to one (stream, batch, index): the same arguments always replay the same draws."""
    return random.Random((seed << 96) | (int(stream) << 80) | (batch << 64) | index)


def chosen(seed: int, stream: Stream, batch: int, index: int, rate: float) -> bool:
    """A cheap, stateless coin flip (splitmix64), used to scan millions of indexes for the few that change."""
    z = ((seed * 0x9E3779B97F4A7C15) ^ (int(stream) << 56) ^ (batch << 40) ^ index) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    z ^= z >> 31
    return z / 2**64 < rate


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def uuid_from(rng: random.Random) -> str:
    """A version-4 UUID drawn from `rng` (uuid.uuid4() would read the OS entropy and break determinism).

    Formatted by hand: the same string str(uuid.UUID(...)) gives, a few times faster (it runs once per
    event)."""
    h = f"{(rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def hex_token(rng: random.Random) -> str:
    """A 32-character token like Shopify's cart and checkout tokens."""
    return f"{rng.getrandbits(128):032x}"


def person_id(index: int) -> str:
    return f"person-{index:08d}"


FUZZY_COPY = 2
"""The copy number of a person's fuzzy-only duplicate contact (copies 0 and 1 are the contact and its
ordinary duplicate)."""


def crm_slot(person_index: int, copy: int) -> int:
    """The person's n-th contact slot: copies 0 and 1 interleave (2 per person), the fuzzy-only duplicate
    (`FUZZY_COPY`) has a range of its own above them. Contact ids and per-contact random streams use it."""
    if copy == FUZZY_COPY:
        return 2 * MAX_PEOPLE + person_index
    return person_index * 2 + copy


def crm_contact_id(person_index: int, copy: int) -> str:
    """HubSpot ids are numeric strings, one per contact slot."""
    return str(1001 + crm_slot(person_index, copy))


def shop_customer_id(person_index: int) -> int:
    return 7_000_000_000_000 + person_index


def order_id(batch: int, person_index: int, n: int) -> int:
    """Unique per (batch, person, n-th order of that person in that batch); n stays below 100."""
    return 5_000_000_000_000 + (batch * MAX_PEOPLE + person_index) * 100 + n


def checkout_id(batch: int, person_index: int, n: int) -> int:
    return 30_000_000_000_000 + (batch * MAX_PEOPLE + person_index) * 100 + n


def product_id(n: int) -> int:
    return 8_000_000_000 + n


def variant_id(product_n: int, v: int) -> int:
    return 40_000_000_000 + product_n * 10 + v


def hubspot_time(moment: datetime) -> str:
    """HubSpot's format: UTC with milliseconds and a Z ("2026-03-01T15:15:00.123Z")."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_DAY_PREFIX: dict[int, str] = {}


def epoch_time(seconds: float) -> str:
    """Format epoch seconds as HubSpot/Segment do ("2026-03-01T15:15:00.123Z"), quickly: the hot path of
    events.

    Equal to hubspot_time(datetime.fromtimestamp(seconds, UTC)); the date part is cached per day."""
    millis = int(seconds * 1000)
    day, in_day = divmod(millis, 86_400_000)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = _DAY_PREFIX[day] = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%dT")
    h, rest = divmod(in_day, 3_600_000)
    m, rest = divmod(rest, 60_000)
    return f"{prefix}{h:02d}:{m:02d}:{rest // 1000:02d}.{rest % 1000:03d}Z"


def segment_time(moment: datetime) -> str:
    """Segment writes ISO-8601 UTC with milliseconds, like HubSpot."""
    return hubspot_time(moment)


def shop_time(moment: datetime) -> str:
    """Shopify's format: the shop's local time with its offset ("2026-03-01T10:15:00-05:00")."""
    return moment.astimezone(_SHOP_ZONE).isoformat(timespec="seconds")
