"""Who may be sent: the serving copy's `activation` tables, re-checked for erasure, consent and a usable key.

The dbt model `activation.profiles` holds only consented people with a valid email (the project's one email
rule), and the publish leaves out people erased by then (contract section 4). But the copy is a snapshot:
someone who asked to be erased after the last publish is still in it. So every row is checked again here, just
before anything leaves the warehouse, and each row ends in exactly one bucket:

- `invalid`: no email, or one shared by several rows (the sync key): reported, never sent, never removed;
- `erased`: the email or customer id is in the erasure ledger;
- `no_consent`: `email_consent` is not true;
- `eligible`: everyone else, with their segment tags.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from privacy.ledger import ErasureLedger, subject_hash

PROFILE_COLUMNS = (
    "customer_id",
    "email",
    "first_name",
    "last_name",
    "country_code",
    "email_consent",
    "rfm_segment",
    "lifetime_value",
    "orders_count",
    "last_order_at",
    "favourite_category",
)
"""The columns of `activation.profiles` the sync reads (a subset of contract section 4)."""
SEGMENT_COLUMNS = ("customer_id", "email", "segment", "reason", "since")

MERGE_FIELDS = {
    "FNAME": "first_name",
    "LNAME": "last_name",
    "COUNTRY": "country_code",
    "RFM": "rfm_segment",
    "LTV": "lifetime_value",
    "ORDERS": "orders_count",
    "LASTORDER": "last_order_at",
    "FAVCAT": "favourite_category",
}
"""Mailchimp merge tag -> profile column. The audience needs these merge fields (docs/activation.md)."""


def normalize_email(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return text or None


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: MD5 of the lower-cased email."""
    return hashlib.md5(email.lower().encode()).hexdigest()  # noqa: S324 - an id the API defines, not security


def mask_email(email: str | None) -> str:
    """First character and a short hash: tells two rows apart in output and metadata, identifies nobody."""
    if not email:
        return "(none)"
    return f"{email[:1]}…{hashlib.sha256(email.encode()).hexdigest()[:6]}"


@dataclass(frozen=True)
class Member:
    """One eligible person as the ESP should hold them."""

    email: str
    customer_id: str
    merge_fields: dict[str, Any]
    tags: frozenset[str]
    subject_hash: str
    """The ledger's hash of the email: lets a later run recognise an erasure after the person left serving."""

    @property
    def subscriber_hash(self) -> str:
        return subscriber_hash(self.email)

    def payload(self) -> dict[str, Any]:
        """The batch-subscribe item: new members subscribed (`status_if_new`), existing ones updated
        (update_existing) with their status left as the ESP holds it. No `status`: it would ask Mailchimp to
        re-subscribe a member who unsubscribed or was cleaned there since the warehouse last heard (Mailchimp
        refuses: "Member In Compliance State"); the unsubscribe reaches consent through the mailchimp source."""
        return {
            "email_address": self.email,
            "status_if_new": "subscribed",
            "merge_fields": self.merge_fields,
        }

    @property
    def fields_hash(self) -> str:
        """What the state store compares: a change of any synced field (not of the tags) means a re-send."""
        canonical = json.dumps(self.payload(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class InvalidRow:
    customer_id: str | None
    email: str | None
    reason: str


@dataclass
class Audience:
    """The serving rows sorted into buckets; `no_consent` and `erased` are keyed by subscriber hash."""

    eligible: dict[str, Member] = field(default_factory=dict)
    invalid: list[InvalidRow] = field(default_factory=list)
    no_consent: dict[str, str] = field(default_factory=dict)
    """subscriber hash -> email, for people present without consent (archived if we sent them before)."""
    erased: dict[str, str] = field(default_factory=dict)
    """subscriber hash -> email, for people present but in the erasure ledger."""
    held: set[str] = field(default_factory=set)
    """Subscriber hashes of invalid rows with an email (duplicates): neither sent nor removed this run."""
    segment_rows: list[dict[str, Any]] = field(default_factory=list)
    """The `activation.segments` rows of eligible members (for exports)."""
    erased_subject_hashes: frozenset[str] = frozenset()
    """Every email hash in the ledger, to recognise members sent earlier who are no longer in serving."""


def read_serving(serving_path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The profiles and segments rows, through a short-lived read-only connection."""
    if not serving_path.exists():
        raise FileNotFoundError(f"no serving copy at {serving_path}: run `warehouse run` first")
    with duckdb.connect(str(serving_path), read_only=True) as con:
        profiles = _rows(con, "activation.profiles", PROFILE_COLUMNS)
        segments = _rows(con, "activation.segments", SEGMENT_COLUMNS)
    return profiles, segments


def _rows(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    try:
        cursor = con.execute(f"select {', '.join(columns)} from {table} order by customer_id")
    except duckdb.CatalogException as exc:
        raise LookupError(f"the serving copy has no {table} (contract section 4): {exc}") from exc
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def build_audience(profiles: list[dict[str, Any]], segments: list[dict[str, Any]], ledger: ErasureLedger) -> Audience:
    """Sort profile rows into buckets (see the module docstring) and attach each member's segments."""
    email_hashes, customer_hashes = ledger.hashes("email"), ledger.hashes("customer_id")
    audience = Audience(erased_subject_hashes=frozenset(email_hashes))
    counts = Counter(e for e in (normalize_email(p["email"]) for p in profiles) if e)
    tags: dict[str, set[str]] = defaultdict(set)
    for row in segments:
        if row["segment"]:
            tags[str(row["customer_id"])].add(str(row["segment"]))
    for profile in profiles:
        email, customer_id = normalize_email(profile["email"]), str(profile["customer_id"])
        if email is None:
            audience.invalid.append(InvalidRow(customer_id, None, "email is null"))
            continue
        if counts[email] > 1:
            audience.invalid.append(InvalidRow(customer_id, email, "duplicate email"))
            audience.held.add(subscriber_hash(email))
            continue
        email_hash = subject_hash("email", email, ledger.salt)
        if email_hash in email_hashes or subject_hash("customer_id", customer_id, ledger.salt) in customer_hashes:
            audience.erased[subscriber_hash(email)] = email
            continue
        if profile["email_consent"] is not True:
            audience.no_consent[subscriber_hash(email)] = email
            continue
        member = Member(
            email=email,
            customer_id=customer_id,
            merge_fields={tag: _merge_value(profile[column]) for tag, column in MERGE_FIELDS.items()},
            tags=frozenset(tags.get(customer_id, ())),
            subject_hash=email_hash,
        )
        audience.eligible[member.subscriber_hash] = member
    eligible_ids = {m.customer_id: m.email for m in audience.eligible.values()}
    audience.segment_rows = [
        {**row, "email": eligible_ids[str(row["customer_id"])]}
        for row in segments
        if str(row["customer_id"]) in eligible_ids and row["segment"]
    ]
    return audience


def _merge_value(value: object) -> str | int | float:
    """Merge field values as the Marketing API takes them: text, numbers, dates as YYYY-MM-DD; "" clears."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Decimal | float):
        return round(float(value), 2)
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def load_audience(serving_path: Path, ledger: ErasureLedger) -> Audience:
    profiles, segments = read_serving(serving_path)
    return build_audience(profiles, segments, ledger)
