"""A fake Zendesk Support incremental export: users and tickets (cursor- and time-based), ticket events.

Follows the rules the source relies on: API-token basic auth (`<email>/token:<token>`), `start_time` in epoch
seconds and refused when less than a minute old, cursor pages with `after_cursor` / `end_of_stream` (the cursor
is present on the last page too), time-based pages with `next_page` / `end_time` whose next page starts at the
last item's time (so items sharing it come twice, as Zendesk warns), deleted tickets kept with status
`deleted`, and comments only through `ticket_events?include=comment_events`, one audit per comment.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.server import FakeApiServer, RecordedRequest, Reply, page_window

EMAIL = "agent@example.com"
TOKEN = "zd-test-token"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_user(number: int, updated: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "id": 360_000 + number, "name": f"Person {number}", "email": f"person{number}@example.com",
        "role": "end-user", "active": True, "created_at": iso(updated - timedelta(days=3)),
        "updated_at": iso(updated), **fields,
    }  # fmt: skip


def make_ticket(number: int, updated: datetime, requester_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": number, "subject": f"Question {number}", "status": "open", "priority": "normal",
        "requester_id": requester_id, "tags": ["order"], "satisfaction_rating": {"score": "unoffered"},
        "created_at": iso(updated - timedelta(hours=2)), "updated_at": iso(updated),
        "generated_timestamp": int(updated.timestamp()), **fields,
    }  # fmt: skip


def make_comment(number: int, ticket_id: int, author_id: int, created: datetime, body: str) -> dict[str, Any]:
    """A comment as the fake stores it: the comments API shape plus its ticket."""
    return {
        "id": 900_000 + number, "ticket_id": ticket_id, "author_id": author_id, "body": body,
        "html_body": f"<p>{body}</p>", "public": True, "created_at": iso(created),
    }  # fmt: skip


class FakeZendesk(FakeApiServer):
    """Answers the incremental export endpoints as Zendesk does; 401 on wrong credentials."""

    def __init__(
        self,
        users: list[dict[str, Any]],
        tickets: list[dict[str, Any]],
        comments: list[dict[str, Any]],
        *,
        page_size: int = 1000,
        now: float | None = None,
    ) -> None:
        super().__init__()
        self.data = {"users": users, "tickets": tickets, "ticket_events": comments}
        self.page_size = page_size
        self.now = now

    def handle(self, request: RecordedRequest) -> Reply:
        expected = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return Reply(401, {"error": "Couldn't authenticate you"})
        path = request.path.removeprefix("/api/v2/incremental/")
        limit = min(int(request.param("per_page") or 1000), self.page_size)
        if path in ("users/cursor.json", "tickets/cursor.json"):
            return self._cursor_page(request, path.split("/")[0], limit)
        if path in ("tickets.json", "users.json", "ticket_events.json"):
            if path == "ticket_events.json" and request.param("include") != "comment_events":
                return Reply(200, {"ticket_events": [], "next_page": None, "end_of_stream": True, "count": 0})
            return self._time_page(request, path.removesuffix(".json"), limit)
        return Reply(404, {"error": "InvalidEndpoint"})

    def _start(self, request: RecordedRequest) -> int | Reply:
        start = int(request.param("start_time") or -1)
        if start < 0:
            return Reply(400, {"error": "InvalidValue", "description": "start_time is required"})
        if start > (self.now or time.time()) - 60:
            return Reply(400, {"error": "InvalidValue", "description": "Too recent start_time. Use a start_time "
                               "older than 1 minute"})  # fmt: skip
        return start

    def _matching(self, resource: str, start: int) -> list[dict[str, Any]]:
        items = [(self._stamp(resource, item), item) for item in self.data[resource]]
        return [item for stamp, item in sorted(items, key=lambda p: (p[0], p[1]["id"])) if stamp >= start]

    @staticmethod
    def _stamp(resource: str, item: dict[str, Any]) -> int:
        field = "created_at" if resource == "ticket_events" else "updated_at"
        return int(datetime.fromisoformat(item[field].replace("Z", "+00:00")).timestamp())

    def _cursor_page(self, request: RecordedRequest, resource: str, limit: int) -> Reply:
        if request.param("cursor"):
            state = json.loads(base64.urlsafe_b64decode(request.param("cursor") or ""))
            start, offset = state["start"], state["offset"]
        else:
            start = self._start(request)
            if isinstance(start, Reply):
                return start
            offset = 0
        matching = self._matching(resource, start)
        page, following = page_window(matching, offset, limit)
        cursor = base64.urlsafe_b64encode(
            json.dumps({"start": start, "offset": following if following is not None else len(matching)}).encode()
        ).decode()
        url = f"http://{request.headers['host']}{request.path}?cursor={cursor}"
        return Reply(200, {
            resource: page, "after_cursor": cursor, "after_url": url, "before_cursor": None,
            "before_url": None, "end_of_stream": following is None,
        })  # fmt: skip

    def _time_page(self, request: RecordedRequest, resource: str, limit: int) -> Reply:
        start = self._start(request)
        if isinstance(start, Reply):
            return start
        page = self._matching(resource, start)[:limit]
        end_of_stream = len(page) < limit
        end_time = self._stamp(resource, page[-1]) if page else start
        query = f"start_time={end_time}" + ("&include=comment_events" if resource == "ticket_events" else "")
        body_items = [_audit(c) for c in page] if resource == "ticket_events" else page
        return Reply(200, {
            resource: body_items, "next_page": f"http://{request.headers['host']}{request.path}?{query}",
            "count": len(page), "end_time": end_time, "end_of_stream": end_of_stream,
        })  # fmt: skip


def _audit(comment: dict[str, Any]) -> dict[str, Any]:
    """The ticket event (an audit) that added `comment`, with the comment as its child event."""
    child = {k: v for k, v in comment.items() if k not in ("ticket_id", "created_at")}
    child.update(event_type="Comment", type="Comment")
    stamp = datetime.fromisoformat(comment["created_at"].replace("Z", "+00:00"))
    return {
        "id": comment["id"] + 5_000_000, "ticket_id": comment["ticket_id"], "timestamp": int(stamp.timestamp()),
        "created_at": comment["created_at"], "updater_id": comment["author_id"], "via": "Web form",
        "event_type": "Audit", "child_events": [child],
    }  # fmt: skip
