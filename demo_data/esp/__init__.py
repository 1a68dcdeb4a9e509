"""The ESP (Mailchimp) side of the demo: audience members and the campaign email activity of the people.

Who is a member: a share of the people with a valid email in their records (the address one of their records
carries, sometimes in another letter case as typed into a signup form). Some members gave only their address
(a popup form: no names in the merge fields). Campaigns go out weekly from the start of the timeline to every
member subscribed at the time; a member opens some, clicks some, and may leave through one: an unsubscribe
(sometimes a spam complaint), or a hard bounce after which Mailchimp cleans the address. A pending member (double
opt-in never confirmed) receives nothing.

Everything is a pure function of (seed, person, campaign): an increment re-derives the history and writes the
member versions and actions that fall in its own window, so a member arrives again with a later `last_changed`
when their status changed. The rates are this module's own, drawn from what ESP audiences report, and the dirt
(email case variants) is the generator's own (demo_data/dirt.py): nothing here is tuned to the cleaning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from demo_data.dirt import email_variant
from demo_data.keys import Stream, chosen, rng_for
from demo_data.people import Person, Timeline
from demo_data.records.model import PersonRecords

MEMBER_SHARE = 0.6
"""Per person with a valid email: a member of the audience."""
EMAIL_ONLY = 0.25
"""Per member: signed up with the address alone (no FNAME, LNAME)."""
TYPED_VARIANT = 0.1
"""Per member: the address in another letter case than the records have (as typed into a form)."""
PENDING = 0.04
"""Per member: never confirmed the double opt-in."""
OPEN = 0.35
"""Per campaign received: opened (at least once)."""
SECOND_OPEN = 0.3
"""Per open: opened again later."""
CLICK = 0.25
"""Per open: a click on a link."""
UNSUBSCRIBE = 0.012
"""Per campaign received: unsubscribes through it (a tenth of them as a spam complaint)."""
SPAM_SHARE = 0.1
HARD_BOUNCE = 0.004
"""Per campaign received: the address bounces hard; Mailchimp cleans it."""
SOFT_BOUNCE = 0.01
"""Per campaign received: a soft bounce (mailbox full), the member stays subscribed."""
CAMPAIGN_EVERY = timedelta(days=7)
SEND_HOUR = timedelta(hours=10)
LINKS = ("https://shop.example.com/new", "https://shop.example.com/sale", "https://shop.example.com/blog")
UNSUBSCRIBE_REASONS = (
    "N/A (Unsubscribed by user)",
    "I no longer want to receive these emails",
    "I never signed up for this mailing list",
    "Other",
)
SPAM_REASON = "N/A (Abuse complaint)"


@dataclass(frozen=True)
class MemberVersion:
    at: datetime
    status: str
    reason: str = ""


@dataclass(frozen=True)
class Membership:
    """One member's address, names and status history, and the actions of every campaign they received."""

    email: str
    first_name: str
    last_name: str
    versions: tuple[MemberVersion, ...]
    actions: tuple[tuple[str, dict[str, Any]], ...]
    """(campaign id, action) in time order."""


def list_id(seed: int) -> str:
    return _hex(f"audience-{seed}")


def campaign_id(seed: int, number: int) -> str:
    return _hex(f"campaign-{seed}-{number}")


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode()).hexdigest()  # noqa: S324 - Mailchimp's member id


def membership(seed: int, person: Person, records: PersonRecords, timeline: Timeline, upto: int) -> Membership | None:
    """The person's membership up to the end of batch `upto`, or None when they are not a member."""
    if person.is_visitor or records.identify_email is None:
        return None
    rng = rng_for(seed, Stream.ESP_MEMBERS, 0, person.index)
    if rng.random() >= MEMBER_SHARE:
        return None
    email = records.identify_email
    if rng.random() < TYPED_VARIANT:
        email = email_variant(email, rng).strip()  # Mailchimp trims the address, keeps its case
    names = next((r for r in (records.shop, *records.crm) if r is not None and r.clean_email == email.lower()), None)
    first, last = ("", "") if names is None or rng.random() < EMAIL_ONLY else (names.first_name, names.last_name)
    _, person_end = timeline.window(person.batch)
    joined = min(person.created_at + timedelta(seconds=rng.randrange(3 * 86400)), person_end)
    if rng.random() < PENDING:
        return Membership(email, first, last, (MemberVersion(joined, "pending"),), ())
    versions, actions = [MemberVersion(joined, "subscribed")], []
    exit_ = _preference_exit(seed, person, timeline, upto, joined)
    end = timeline.as_ofs[upto]
    number = 0
    while (sent := timeline.start + SEND_HOUR + number * CAMPAIGN_EVERY) <= end:
        if versions[-1].status != "subscribed":
            break
        if exit_ is not None and exit_.at < sent:
            break
        if sent > joined:
            left = _campaign(seed, person, number, sent, actions)
            if left is not None:
                versions.append(left)
        number += 1
    if exit_ is not None and versions[-1].status == "subscribed" and exit_.at > versions[-1].at:
        versions.append(exit_)
    return Membership(email, first, last, tuple(versions), tuple(actions))


def _campaign(
    seed: int, person: Person, number: int, sent: datetime, actions: list[tuple[str, dict[str, Any]]]
) -> MemberVersion | None:
    """The actions of one campaign the member received; the version it ends the subscription with, if any."""
    rng = rng_for(seed, Stream.ESP_ACTIVITY, number, person.index)
    cid = campaign_id(seed, number)
    if rng.random() < HARD_BOUNCE:
        at = sent + timedelta(seconds=rng.randrange(60, 900))
        actions.append((cid, _action("bounce", at, kind="hard")))
        return MemberVersion(at, "cleaned")
    if rng.random() < SOFT_BOUNCE:
        actions.append((cid, _action("bounce", sent + timedelta(seconds=rng.randrange(60, 900)), kind="soft")))
        return None
    if rng.random() >= OPEN:
        return None
    opened = sent + timedelta(seconds=min(int(rng.expovariate(1 / 20000)), 6 * 86400))
    actions.append((cid, _action("open", opened)))
    if rng.random() < SECOND_OPEN:
        actions.append((cid, _action("open", opened + timedelta(seconds=rng.randrange(600, 86400)))))
    if rng.random() < CLICK:
        clicked = opened + timedelta(seconds=rng.randrange(5, 600))
        actions.append((cid, _action("click", clicked, url=rng.choice(LINKS))))
    if rng.random() < UNSUBSCRIBE:
        reason = SPAM_REASON if rng.random() < SPAM_SHARE else rng.choice(UNSUBSCRIBE_REASONS)
        last = max(datetime.fromisoformat(a["timestamp"]) for c, a in actions if c == cid)
        return MemberVersion(last + timedelta(seconds=rng.randrange(5, 900)), "unsubscribed", reason)
    return None


def _preference_exit(
    seed: int, person: Person, timeline: Timeline, upto: int, joined: datetime
) -> MemberVersion | None:
    """An unsubscribe from the preference centre in the first increment that chose the person for a change."""
    for batch in range(person.batch + 1, upto + 1):
        if not chosen(seed, Stream.ESP_MEMBERS, batch, person.index, timeline.change_share):
            continue
        start, end = timeline.window(batch)
        low = max(start, joined)
        rng = rng_for(seed, Stream.ESP_MEMBERS, batch, person.index)
        at = low + timedelta(seconds=rng.randrange(max(1, int((end - low).total_seconds()))))
        return MemberVersion(min(at, end), "unsubscribed", rng.choice(UNSUBSCRIBE_REASONS))
    return None


def _action(action: str, at: datetime, *, kind: str = "", url: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"action": action, "type": kind, "timestamp": mailchimp_time(at)}
    if url is not None:
        item["url"] = url
    return item


def member_records(seed: int, member: Membership, window: tuple[datetime, datetime], first: bool) -> Iterator[dict]:
    """The member's versions in `window`, as the API lists them; the first batch also holds those before its window
    (people who joined the audience before it: the base is a full export)."""
    start, end = window
    for version in member.versions:
        if (first or start < version.at) and version.at <= end:
            yield _member_json(seed, member, version)


def report_records(seed: int, member: Membership, window: tuple[datetime, datetime], first: bool) -> Iterator[dict]:
    """Per campaign, the member's email record of the email-activity report with the actions in `window`."""
    start, end = window
    by_campaign: dict[str, list[dict[str, Any]]] = {}
    for cid, action in member.actions:
        at = datetime.fromisoformat(action["timestamp"])
        if (start <= at if first else start < at) and at <= end:
            by_campaign.setdefault(cid, []).append(action)
    for cid, actions in by_campaign.items():
        yield {
            "campaign_id": cid,
            "list_id": list_id(seed),
            "list_is_active": True,
            "email_id": subscriber_hash(member.email),
            "email_address": member.email,
            "activity": actions,
        }


def _member_json(seed: int, member: Membership, version: MemberVersion) -> dict[str, Any]:
    joined = member.versions[0].at
    return {
        "id": subscriber_hash(member.email),
        "email_address": member.email,
        "unique_email_id": _hex(f"unique-{seed}-{member.email.lower()}"),
        "email_type": "html",
        "status": version.status,
        "unsubscribe_reason": version.reason,
        "merge_fields": {"FNAME": member.first_name, "LNAME": member.last_name, "ADDRESS": "", "PHONE": ""},
        "stats": {"avg_open_rate": 0, "avg_click_rate": 0},
        "ip_signup": "",
        "timestamp_signup": "" if member.first_name == "" else mailchimp_time(joined),
        "timestamp_opt": mailchimp_time(joined) if member.versions[0].status == "subscribed" else "",
        "member_rating": 2,
        "last_changed": mailchimp_time(version.at),
        "language": "",
        "vip": False,
        "source": "Hosted Signup Form" if member.first_name == "" else "API - Generic",
        "tags_count": 0,
        "tags": [],
        "list_id": list_id(seed),
    }


def mailchimp_time(moment: datetime) -> str:
    """Mailchimp's format: ISO-8601 to the second with an offset ("2026-03-01T15:15:00+00:00")."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()[:10]  # noqa: S324 - an id, not a secret
