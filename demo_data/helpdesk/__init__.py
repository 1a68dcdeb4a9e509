"""Zendesk users, tickets and comments of the generated people (landing folders helpdesk/*).

About one person in six writes to support in the batch they appear in, and in each increment about the change
share of the others do (a new ticket, and a newer version of an older one solved, rated or deleted). Whose
records they are: a person's helpdesk user carries the email they shop with, written carelessly sometimes, and
sometimes their phone; visitors (known to no CRM or shop record) write in too, known to the helpdesk by their
email only. They write in their country's language, some leave a phone or a second email in the text (which
erasure must remove), and agents reply. Everything is a pure function of (seed, person, batch).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from demo_data.dirt import email_variant, phone_text
from demo_data.helpdesk import phrases
from demo_data.keys import Stream, chosen, rng_for
from demo_data.people import Person, Timeline

WRITES_IN_SHARE = 1 / 6
"""Share of new persons who open a ticket in the batch they appear in."""
USER_ID_BASE = 361_000_000_000
TICKET_ID_BASE = 1_000_000
COMMENT_ID_BASE = 38_000_000_000
AGENT_IDS = tuple(360_000_000_000 + n for n in range(1, len(phrases.AGENT_NAMES) + 1))
STATUSES = ("new", "open", "pending", "hold", "solved", "closed", "deleted")
STATUS_WEIGHTS = (10, 25, 10, 3, 30, 18, 4)
"""Deleted tickets stay in Zendesk's export with status `deleted` (spam, duplicates an agent removed)."""

Entity = tuple[str, dict[str, Any]]
"""(landing entity, record): `users`, `tickets` or `ticket_comments`."""


def zendesk_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def agent_records(batch: int, at: datetime) -> Iterator[Entity]:
    """The support agents, written with the base batch."""
    if batch != 0:
        return
    for agent_id, name in zip(AGENT_IDS, phrases.AGENT_NAMES, strict=True):
        local = name.lower().replace(" ", ".")
        yield "users", {"id": agent_id, "name": name, "email": f"{local}@shop.example.com", "role": "agent",
                        "active": True, "created_at": zendesk_time(at), "updated_at": zendesk_time(at)}  # fmt: skip


def helpdesk_user_id(person: Person) -> int:
    return USER_ID_BASE + person.index


def support_records(seed: int, person: Person, timeline: Timeline, batch: int, email: str | None) -> list[Entity]:
    """The helpdesk records `person` produces in `batch`; `email` is the address their records carry (None:
    the person's own). Truth: the user is `helpdesk_user_id(person)`."""
    if not _writes_in(seed, person, timeline, batch):
        return []
    rng = rng_for(seed, Stream.HELPDESK, batch, person.index)
    start, end = timeline.window(batch)
    opened = _between(rng, max(start, person.created_at), end)
    out: list[Entity] = []
    earlier = _last_ticket_batch(seed, person, timeline, batch)
    # the first ticket creates the user (whenever the person first writes in); a returning writer's user
    # sometimes changes too (a newer version of it)
    if earlier is None or rng.random() < 0.5:
        out.append(("users", _user(person, email, opened, rng)))
    out.extend(_ticket(person, batch, opened, end, rng))
    if earlier is not None and rng.random() < 0.3:  # an older ticket of theirs is solved, rated, or deleted
        out.append(_later_version(person, earlier, end, rng))
    return out


def new_user_id(seed: int, person: Person, timeline: Timeline, batch: int) -> int | None:
    """The helpdesk user `person` first appears as in `batch` (their first ticket, in whichever batch that
    is), None if they do not: the identity truth's one helpdesk row of the person."""
    if _writes_in(seed, person, timeline, batch) and _last_ticket_batch(seed, person, timeline, batch) is None:
        return helpdesk_user_id(person)
    return None


def _writes_in(seed: int, person: Person, timeline: Timeline, batch: int) -> bool:
    share = WRITES_IN_SHARE if person.batch == batch else timeline.change_share
    return chosen(seed, Stream.HELPDESK, batch, person.index, share)


def _last_ticket_batch(seed: int, person: Person, timeline: Timeline, batch: int) -> int | None:
    """The latest batch before `batch` in which the person opened a ticket, None if none."""
    return next((b for b in range(batch - 1, person.batch - 1, -1) if _writes_in(seed, person, timeline, b)), None)


def _ticket_id(person: Person, batch: int) -> int:
    return TICKET_ID_BASE + person.index * 16 + batch % 16


def _user(person: Person, email: str | None, at: datetime, rng: random.Random) -> dict[str, Any]:
    address = email or person.email
    written = email_variant(address, rng) if rng.random() < 0.2 else address
    known_by_email_only = person.is_visitor or rng.random() < 0.1
    user: dict[str, Any] = {
        "id": helpdesk_user_id(person),
        # Zendesk names a user who only ever emailed after their mailbox
        "name": address.split("@")[0] if known_by_email_only else f"{person.first_name} {person.last_name}",
        "email": written, "role": "end-user", "active": True, "verified": rng.random() < 0.7,
        "locale": _language(person), "created_at": zendesk_time(person.created_at), "updated_at": zendesk_time(at),
    }  # fmt: skip
    if person.has_phone and not known_by_email_only and rng.random() < 0.4:
        user["phone"] = phone_text(person.country, person.phone_area, person.phone_subscriber, rng)
    return user


def _ticket(person: Person, batch: int, opened: datetime, end: datetime, rng: random.Random) -> list[Entity]:
    language = _language(person)
    ticket_id = _ticket_id(person, batch)
    order = f"#{1000 + rng.randrange(90_000)}"
    mood = rng.choices(("unhappy", "neutral", "happy"), weights=(5, 3, 2))[0]
    texts = {"unhappy": phrases.UNHAPPY, "neutral": phrases.NEUTRAL, "happy": phrases.HAPPY}[mood]
    body = rng.choice(texts[language]).format(order=order)
    if rng.random() < 0.25:  # a contact left in the text
        if person.has_phone and rng.random() < 0.6:
            contact = phone_text(person.country, person.phone_area, person.phone_subscriber, rng)
            lines = phrases.PHONE_LINES
        else:
            contact, lines = person.work_email, phrases.EMAIL_LINES
        body += " " + rng.choice(lines[language]).format(contact=contact)
    requester = helpdesk_user_id(person)
    agent = rng.choice(AGENT_IDS)
    status = rng.choices(STATUSES, weights=STATUS_WEIGHTS)[0]
    updated = _between(rng, opened, end)
    ticket = {
        "id": ticket_id, "subject": rng.choice(phrases.SUBJECTS[language]).format(order=order), "description": body,
        "status": status, "priority": rng.choice(("low", "normal", "normal", "high", "urgent", None)),
        "type": rng.choice(("question", "incident", "problem", None)), "requester_id": requester,
        "submitter_id": requester, "assignee_id": agent, "tags": rng.sample(phrases.TAGS, rng.randrange(0, 3)),
        "via": {"channel": rng.choice(("email", "web", "chat"))},
        "satisfaction_rating": _rating(status, mood, rng), "created_at": zendesk_time(opened),
        "updated_at": zendesk_time(updated), "generated_timestamp": int(updated.timestamp()),
    }  # fmt: skip
    comments = [_comment(ticket_id, 0, requester, body, opened)]
    if status != "new":
        reply = rng.choice(phrases.AGENT_REPLIES).format(name=person.first_name, order=order)
        comments.append(_comment(ticket_id, 1, agent, reply, _between(rng, opened, updated)))
    if status in ("solved", "closed") and rng.random() < 0.6:
        closing = phrases.HAPPY if mood != "unhappy" else phrases.UNHAPPY
        thanks = rng.choice(closing[language]).format(order=order)
        comments.append(_comment(ticket_id, 2, requester, thanks, updated))
    return [("tickets", ticket), *(("ticket_comments", c) for c in comments)]


def _later_version(person: Person, batch: int, end: datetime, rng: random.Random) -> Entity:
    """A newer version of the ticket the person opened in `batch`: solved and rated, or deleted."""
    ticket_id = _ticket_id(person, batch)
    deleted = rng.random() < 0.2
    score = rng.choice(("good", "bad"))
    return ("tickets", {
        "id": ticket_id, "status": "deleted" if deleted else "solved", "requester_id": helpdesk_user_id(person),
        "subject": "(updated)", "satisfaction_rating": None if deleted else {"score": score},
        "created_at": zendesk_time(end - timedelta(days=1)), "updated_at": zendesk_time(end),
        "generated_timestamp": int(end.timestamp()),
    })  # fmt: skip


def _rating(status: str, mood: str, rng: random.Random) -> dict[str, Any] | None:
    if status not in ("solved", "closed"):
        return None if rng.random() < 0.5 else {"score": "unoffered"}
    if rng.random() < 0.4:
        return {"score": "offered"}
    score = "bad" if mood == "unhappy" and rng.random() < 0.7 else "good"
    return {"id": rng.randrange(10**9), "score": score, "comment": "" if rng.random() < 0.5 else None}


def _comment(ticket_id: int, n: int, author: int, body: str, at: datetime) -> dict[str, Any]:
    return {"id": COMMENT_ID_BASE + ticket_id * 8 + n, "ticket_id": ticket_id, "author_id": author,
            "type": "Comment", "body": body, "public": True, "created_at": zendesk_time(at)}  # fmt: skip


def _language(person: Person) -> str:
    return phrases.LANGUAGE_OF_COUNTRY.get(person.country.iso2, "en")


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    seconds = max(1, int((end - start).total_seconds()))
    return start + timedelta(seconds=rng.randrange(seconds))
