"""Who was left out of the audience and why, counted per person over the marts' `customer_profiles`.

People leave the audience at three stages, and each person is counted once, at the first that drops them:

1. dbt: `activation.exclusions` names everyone of `customer_profiles` the platform may not mail, with the one
   reason the audience's rule gives (the rule lives in that model only; here it is read, never re-derived);
2. the publish: its erasure guard deletes people erased after the build from the `activation` tables, so they are
   in the copied `marts.customer_profiles` but in neither `activation` table: recognised here by the erasure
   ledger (`erased`); anyone else missing is `unknown` (a serving copy published before `activation.exclusions`
   existed);
3. the sync's own re-check of `activation.profiles` rows (`activation.audience`): erased since the publish,
   no email, or an email shared by several profiles.

Counts only: no email leaves this module.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from activation.audience import Audience
from privacy.ledger import ErasureLedger, subject_hash

REASONS = {
    "consent_refused": "no email consent: a source said no (opt-out, unsubscribe, never subscribed)",
    "consent_missing": "no email consent: no source holds a consent record",
    "no_email": "no email",
    "invalid_email": "an email the email rule rejects",
    "address_suppressed": "an address the ESP cleaned or saw bounce hard",
    "duplicate_email": "an email shared by several profiles (held: not sent, not removed)",
    "erased": "erased (in the erasure ledger)",
    "unknown": "left out upstream, reason unknown (run `warehouse run` to publish activation.exclusions)",
}
"""Reason -> what it means, in the order reports list them. The first five are activation.exclusions' values."""

_AUDIENCE_INVALID = {"email is null": "no_email", "duplicate email": "duplicate_email"}
"""`activation.audience` invalid-row reasons -> exclusion reasons."""


@dataclass(frozen=True)
class Upstream:
    """What the serving copy says about the people who are not in `activation.profiles`."""

    people: int | None
    """Rows of the copied `marts.customer_profiles`; None when the copy holds no marts."""
    by_reason: dict[str, int]
    """activation.exclusions by reason, plus `erased` / `unknown` for people the publish removed."""


def read_upstream(serving_path: Path, ledger: ErasureLedger) -> Upstream:
    """Count the people the serving copy leaves out, by reason, through a short-lived read-only connection."""
    with duckdb.connect(str(serving_path), read_only=True) as con:
        present = {f"{s}.{t}" for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()}
        by_reason: Counter[str] = Counter()
        if "activation.exclusions" in present:
            rows = con.execute("select reason, count(*) from activation.exclusions group by reason").fetchall()
            by_reason.update(dict(rows))
        if "marts.customer_profiles" not in present:
            return Upstream(people=None, by_reason=dict(by_reason))
        (people,) = con.execute("select count(*) from marts.customer_profiles").fetchone()  # type: ignore[misc]
        known = [t for t in ("activation.profiles", "activation.exclusions") if t in present]
        absent = " and ".join(f"customer_id not in (select customer_id from {t})" for t in known) or "true"
        missing = con.execute(f"select customer_id, email from marts.customer_profiles where {absent}").fetchall()
    if missing:
        erased = _erased(ledger)
        by_reason.update("erased" if erased(customer_id, email) else "unknown" for customer_id, email in missing)
    return Upstream(people=people, by_reason=dict(by_reason))


def _erased(ledger: ErasureLedger) -> Callable[[str, str | None], bool]:
    """A test of (customer id, email) against the ledger, which is read once."""
    customer_hashes, email_hashes = ledger.hashes("customer_id"), ledger.hashes("email")

    def erased(customer_id: str, email: str | None) -> bool:
        if subject_hash("customer_id", str(customer_id), ledger.salt) in customer_hashes:
            return True
        return email is not None and subject_hash("email", email, ledger.salt) in email_hashes

    return erased


def excluded_by_reason(upstream: Upstream, audience: Audience) -> dict[str, int]:
    """Every person left out, by reason, in `REASONS` order: the serving copy's and the sync's re-check together."""
    counts = Counter(upstream.by_reason)
    counts["erased"] += len(audience.erased)
    counts["consent_refused"] += len(audience.no_consent)
    counts.update(_AUDIENCE_INVALID.get(row.reason, "unknown") for row in audience.invalid)
    order = list(REASONS)
    ranked = sorted(counts, key=lambda r: (order.index(r) if r in order else len(order), r))
    return {reason: counts[reason] for reason in ranked if counts[reason]}
