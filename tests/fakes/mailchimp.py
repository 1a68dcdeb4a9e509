"""A fake Mailchimp Marketing API audience: batch subscribe, member tags, archive, erase, member paging, and
the endpoints the mailchimp source reads (members with `since_last_changed`, sent campaigns, email activity).

Follows the rules the sync relies on: basic auth with the API key as password, at most 500 members per batch
(400 beyond), per-email errors inside a 200 answer, `update_existing`, archived members kept (re-added by a
later batch), `count` at most 1000 when paging members. Failure injection on top of `FakeApiServer.inject`:
`crash_batches()` applies part of a batch and then closes the connection without answering, as a server that
dies mid-request does; `reject()` makes the ESP refuse one email; `unsubscribe()` is a person unsubscribing at
the ESP (Mailchimp then refuses to re-subscribe them: "Member In Compliance State").

`write_serving()` / `make_profile()` / `make_segment()` build the sync's input: a small serving copy with the
`activation` tables of contract section 4.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Self

import duckdb
import pyarrow as pa

from tests.fakes.server import FakeApiServer, RecordedRequest, Reply, _Handler

MAX_BATCH = 500
MAX_PAGE = 1000
_REPORT_PATH = re.compile(r"^/3\.0/reports/(?P<campaign>[^/]+)/email-activity$")
_MEMBER_PATH = re.compile(r"^/3\.0/lists/(?P<list>[^/]+)/members/(?P<hash>[0-9a-f]{32})(?P<rest>/.*)?$")


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()  # noqa: S324 - Mailchimp's member id


@dataclass
class FakeMember:
    email: str
    status: str
    merge_fields: dict[str, Any]
    tags: set[str] = field(default_factory=set)
    last_changed: str = field(default_factory=lambda: _now())
    unsubscribe_reason: str = ""


class DropConnection(Exception):
    """Raised by `handle` to close the connection without an answer."""


class _MailchimpHandler(_Handler):
    def do_DELETE(self) -> None:
        self._answer()

    def _answer(self) -> None:
        try:
            super()._answer()
        except DropConnection:
            self.close_connection = True


class FakeMailchimp(FakeApiServer):
    def __init__(self, *, api_key: str = "test-key-us1", list_id: str = "aud1", max_batch: int = MAX_BATCH) -> None:
        super().__init__()
        self.api_key = api_key
        self.list_id = list_id
        self.max_batch = max_batch
        self.members: dict[str, FakeMember] = {}
        self.creations: Counter[str] = Counter()
        """How often each email was created: more than once would be a duplicate contact."""
        self.erased: set[str] = set()
        self._rejected: dict[str, str] = {}
        self._crashes: list[int] = []
        self.campaigns: dict[str, dict[str, list[dict[str, Any]]]] = {}
        """campaign id -> email -> its actions (`{"action", "type", "timestamp", "url", "ip"}`)."""

    def __enter__(self) -> Self:
        super().__enter__()
        self._server.RequestHandlerClass = _MailchimpHandler  # type: ignore[union-attr]
        return self

    # --- failure injection and helpers for tests -------------------------------------------------------------

    def crash_batches(self, *, after_members: int, times: int = 1) -> None:
        """The next `times` batch calls apply their first `after_members` members, then drop the connection."""
        self._crashes.extend([after_members] * times)

    def reject(self, email: str, reason: str = "Invalid Resource") -> None:
        self._rejected[email.lower()] = reason

    def accept(self, email: str) -> None:
        """Stop rejecting an email (the cause was fixed at the ESP)."""
        self._rejected.pop(email.lower(), None)

    def unsubscribe(self, email: str, reason: str = "N/A (Unsubscribed by user)") -> None:
        member = self.members[subscriber_hash(email)]
        member.status, member.unsubscribe_reason, member.last_changed = "unsubscribed", reason, _now()

    def add_member(
        self, email: str, status: str = "subscribed", *, last_changed: str | None = None, **merge: Any
    ) -> None:
        """A member that exists at the ESP already (signed up there, not through the sync)."""
        member = FakeMember(email.lower(), status, dict(merge))
        if last_changed is not None:
            member.last_changed = last_changed
        self.members[subscriber_hash(email)] = member

    def add_action(
        self, campaign_id: str, email: str, action: str, timestamp: str, *, url: str | None = None, kind: str = ""
    ) -> None:
        """Record an open, click or bounce (kind: `hard` / `soft` for bounces) of `email` in a sent campaign."""
        item = {"action": action, "type": kind, "timestamp": timestamp, "ip": "192.0.2.1"}
        if url is not None:
            item["url"] = url
        self.campaigns.setdefault(campaign_id, {}).setdefault(email.lower(), []).append(item)

    def member(self, email: str) -> FakeMember | None:
        return self.members.get(subscriber_hash(email))

    def subscribed(self) -> set[str]:
        return {m.email for m in self.members.values() if m.status == "subscribed"}

    def batch_calls(self) -> list[list[dict[str, Any]]]:
        """The members array of every batch call received (answered or not)."""
        return [
            r.json()["members"] for r in self.requests if r.method == "POST" and r.path == f"/3.0/lists/{self.list_id}"
        ]

    def batched_emails(self) -> list[str]:
        return [m["email_address"] for batch in self.batch_calls() for m in batch]

    def calls(self, method: str, suffix: str = "") -> list[RecordedRequest]:
        """Requests to member endpoints with this method whose path ends with `suffix`."""
        return [
            r for r in self.requests if r.method == method and _MEMBER_PATH.match(r.path) and r.path.endswith(suffix)
        ]

    # --- the API ---------------------------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Reply:
        if not self._authorized(request.headers.get("authorization", "")):
            return _problem(
                401,
                "API Key Invalid",
                "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
            )
        list_path = f"/3.0/lists/{self.list_id}"
        if request.path == list_path and request.method == "GET":
            return Reply(200, {"id": self.list_id, "name": "Fake audience"})
        if request.path == list_path and request.method == "POST":
            return self._batch(request.json() or {})
        if request.path == list_path + "/members" and request.method == "GET":
            return self._page(request)
        if request.path == "/3.0/campaigns" and request.method == "GET":
            return self._campaigns(request)
        report = _REPORT_PATH.match(request.path)
        if report and request.method == "GET":
            return self._email_activity(request, report["campaign"])
        match = _MEMBER_PATH.match(request.path)
        if not match or match["list"] != self.list_id:
            return _problem(404, "Resource Not Found", "The requested resource could not be found.")
        member = self.members.get(match["hash"])
        if member is None:
            return _problem(404, "Resource Not Found", "The requested resource could not be found.")
        rest = match["rest"] or ""
        if request.method == "POST" and rest == "/tags":
            for tag in (request.json() or {}).get("tags", []):
                (member.tags.add if tag["status"] == "active" else member.tags.discard)(tag["name"])
            return Reply(204)
        if request.method == "DELETE" and not rest:
            member.status = "archived"
            return Reply(204)
        if request.method == "POST" and rest == "/actions/delete-permanent":
            del self.members[match["hash"]]
            self.erased.add(member.email)
            return Reply(204)
        return _problem(405, "Method Not Allowed", f"{request.method} {request.path}")

    def _authorized(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme != "Basic":
            return False
        try:
            _user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        return password == self.api_key

    def _batch(self, body: dict[str, Any]) -> Reply:
        members = body.get("members")
        if not isinstance(members, list) or len(members) > self.max_batch:
            return _problem(400, "Invalid Resource", f"members must be a list of at most {self.max_batch}")
        crash_after = self._crashes.pop(0) if self._crashes else None
        created, updated, errors = [], [], []
        for index, item in enumerate(members):
            if crash_after is not None and index >= crash_after:
                raise DropConnection
            outcome = self._subscribe(item, bool(body.get("update_existing")))
            if isinstance(outcome, dict):
                errors.append(outcome)
            else:
                (created if outcome == "created" else updated).append(
                    {"email_address": item["email_address"], "id": subscriber_hash(item["email_address"])}
                )
        if crash_after is not None:
            raise DropConnection
        return Reply(
            200,
            {
                "new_members": created,
                "updated_members": updated,
                "errors": errors,
                "total_created": len(created),
                "total_updated": len(updated),
                "error_count": len(errors),
            },
        )

    def _subscribe(self, item: dict[str, Any], update_existing: bool) -> str | dict[str, str]:
        email = str(item.get("email_address", ""))
        if "@" not in email:
            return _member_error(email, "ERROR_GENERIC", f"{email} looks fake or invalid")
        if email.lower() in self._rejected:
            return _member_error(email, "ERROR_GENERIC", self._rejected[email.lower()])
        key = subscriber_hash(email)
        existing = self.members.get(key)
        if existing is None:
            status = item.get("status_if_new") or item.get("status") or "subscribed"
            self.members[key] = FakeMember(email.lower(), status, dict(item.get("merge_fields") or {}))
            self.creations[email.lower()] += 1
            return "created"
        if not update_existing:
            return _member_error(email, "ERROR_CONTACT_EXISTS", f"{email} is already a list member")
        if existing.status == "unsubscribed" and item.get("status") == "subscribed":
            return _member_error(
                email, "ERROR_GENERIC", f"{email} is in a compliance state (Member In Compliance State)"
            )
        existing.status = item.get("status") or ("subscribed" if existing.status == "archived" else existing.status)
        existing.merge_fields.update(item.get("merge_fields") or {})
        existing.last_changed = _now()
        return "updated"

    def _page(self, request: RecordedRequest) -> Reply:
        count = int(request.param("count") or 10)
        if count > MAX_PAGE:
            return _problem(400, "Invalid Resource", f"count must be at most {MAX_PAGE}")
        offset = int(request.param("offset") or 0)
        listed = sorted(self.members.items())
        since = request.param("since_last_changed")
        if since is not None:
            listed = [(k, m) for k, m in listed if _moment(m.last_changed) >= _moment(since)]
        if request.param("sort_field") == "last_changed":
            listed.sort(key=lambda item: _moment(item[1].last_changed), reverse=request.param("sort_dir") == "DESC")
        page = [self._member_json(key, m) for key, m in listed[offset : offset + count]]
        return Reply(200, {"members": page, "list_id": self.list_id, "total_items": len(listed)})

    def _member_json(self, key: str, member: FakeMember) -> dict[str, Any]:
        """A member as `GET /lists/{list_id}/members` shows it (the fields the warehouse reads, and a few more)."""
        return {
            "id": key,
            "email_address": member.email,
            "unique_email_id": key[:10],
            "email_type": "html",
            "status": member.status,
            "unsubscribe_reason": member.unsubscribe_reason,
            "merge_fields": {"FNAME": "", "LNAME": "", "PHONE": "", "ADDRESS": "", **member.merge_fields},
            "stats": {"avg_open_rate": 0, "avg_click_rate": 0},
            "ip_signup": "",
            "timestamp_signup": "",
            "timestamp_opt": member.last_changed,
            "member_rating": 2,
            "last_changed": member.last_changed,
            "language": "",
            "vip": False,
            "location": {"latitude": 0, "longitude": 0, "country_code": "", "timezone": ""},
            "source": "API - Generic",
            "tags_count": len(member.tags),
            "tags": [{"id": n, "name": t} for n, t in enumerate(sorted(member.tags))],
            "list_id": self.list_id,
        }

    def _campaigns(self, request: RecordedRequest) -> Reply:
        count, offset = int(request.param("count") or 10), int(request.param("offset") or 0)
        if count > MAX_PAGE:
            return _problem(400, "Invalid Resource", f"count must be at most {MAX_PAGE}")
        listed = [
            {"id": cid, "status": "sent", "recipients": {"list_id": self.list_id}} for cid in sorted(self.campaigns)
        ]
        return Reply(200, {"campaigns": listed[offset : offset + count], "total_items": len(listed)})

    def _email_activity(self, request: RecordedRequest, campaign_id: str) -> Reply:
        """`since` keeps the actions after that time only, and the emails that still have one."""
        if campaign_id not in self.campaigns:
            return _problem(404, "Resource Not Found", "The requested resource could not be found.")
        count, offset = int(request.param("count") or 10), int(request.param("offset") or 0)
        if count > MAX_PAGE:
            return _problem(400, "Invalid Resource", f"count must be at most {MAX_PAGE}")
        since = request.param("since")
        emails = []
        for email, actions in sorted(self.campaigns[campaign_id].items()):
            kept = [a for a in actions if since is None or _moment(a["timestamp"]) > _moment(since)]
            if kept or since is None:
                emails.append(
                    {
                        "campaign_id": campaign_id,
                        "list_id": self.list_id,
                        "list_is_active": True,
                        "email_id": subscriber_hash(email),
                        "email_address": email,
                        "activity": kept,
                    }
                )
        body = {"emails": emails[offset : offset + count], "campaign_id": campaign_id, "total_items": len(emails)}
        return Reply(200, body)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _member_error(email: str, code: str, message: str) -> dict[str, str]:
    return {"email_address": email, "error": message, "error_code": code}


def _problem(status: int, title: str, detail: str) -> Reply:
    return Reply(
        status,
        {
            "type": "https://mailchimp.com/developer/marketing/docs/errors/",
            "title": title,
            "status": status,
            "detail": detail,
        },
    )


# --- the sync's input: a serving copy with the activation tables (contract section 4) --------------------------

PROFILES_DDL = """
create table activation.profiles (
    customer_id varchar, email varchar, first_name varchar, last_name varchar, country_code varchar,
    email_consent boolean, consent_source varchar, consent_updated_at timestamptz, rfm_segment varchar,
    r_score integer, f_score integer, m_score integer, lifetime_value decimal(18, 2), orders_count integer,
    last_order_at timestamptz, favourite_category varchar, updated_at timestamptz
)
"""
SEGMENTS_DDL = """
create table activation.segments (
    customer_id varchar, email varchar, segment varchar, reason varchar, since timestamptz
)
"""


def make_profile(number: int, **overrides: Any) -> dict[str, Any]:
    """A consented profile row; `overrides` replace columns (e.g. email=None, email_consent=False)."""
    moment = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    profile = {
        "customer_id": f"c{number:04d}",
        "email": f"person{number}@example.com",
        "first_name": f"First{number}",
        "last_name": f"Last{number}",
        "country_code": "DE",
        "email_consent": True,
        "consent_source": "shop",
        "consent_updated_at": moment,
        "rfm_segment": "champions",
        "r_score": 5,
        "f_score": 4,
        "m_score": 3,
        "lifetime_value": Decimal("123.45"),
        "orders_count": 3,
        "last_order_at": moment,
        "favourite_category": "shoes",
        "updated_at": moment,
    }
    profile.update(overrides)
    return profile


def make_segment(profile: dict[str, Any], segment: str, reason: str = "rule matched") -> dict[str, Any]:
    return {
        "customer_id": profile["customer_id"],
        "email": profile["email"],
        "segment": segment,
        "reason": reason,
        "since": datetime(2026, 11, 2, tzinfo=UTC),
    }


def write_serving(path: Path, profiles: list[dict[str, Any]], segments: list[dict[str, Any]]) -> None:
    """Publish a serving copy holding just the activation tables, replacing any earlier one atomically."""
    staging = path.with_name(f".{path.name}.publishing")
    staging.unlink(missing_ok=True)
    with duckdb.connect(str(staging)) as con:
        con.execute("create schema activation")
        con.execute(PROFILES_DDL)
        con.execute(SEGMENTS_DDL)
        for table, rows in (("profiles", profiles), ("segments", segments)):
            if rows:
                incoming = pa.Table.from_pylist(rows)
                columns = ", ".join(incoming.column_names)
                con.execute(f"insert into activation.{table} ({columns}) select {columns} from incoming")
    os.replace(staging, path)
