"""Zendesk Support's incremental export over HTTP: users, tickets, and ticket comments.

- Users and tickets: `GET /api/v2/incremental/{users|tickets}/cursor.json?start_time=<epoch s>` (cursor-based
  export), then `?cursor=<after_cursor>` until `end_of_stream`. The time-based export
  (`/incremental/tickets.json`, following `next_page` until `end_of_stream`) is there too (`method="time"`): it
  may repeat items at page boundaries, which the merge on id absorbs.
- Comments: the comments list (`/tickets/{id}/comments.json`) is per ticket, so they come from the time-based
  ticket events export with `include=comment_events`; every `Comment` child event of an audit becomes one
  comment record in the comments API shape plus the audit's `ticket_id` (the shape landing files carry).

Deleted tickets stay in the export with `status: "deleted"`, deleted users with `active: false`: they are
yielded like the others, and dbt decides what deleted means. The export refuses a `start_time` less than a
minute old, so a cursor that recent is moved back by a minute (the merge absorbs what comes twice).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from dlt.sources.helpers.requests import Request, Response
from dlt.sources.helpers.rest_client.auth import HttpBasicAuth
from dlt.sources.helpers.rest_client.paginators import BasePaginator

from core.http import ApiClient, RetryPolicy, require_config

Method = Literal["cursor", "time"]
EXPORTS = ("users", "tickets", "ticket_comments")
PER_PAGE = 1000
"""The incremental export's maximum page size."""
MIN_AGE = timedelta(minutes=1)
"""The export refuses a start_time younger than this."""


def iter_export(
    base_url: str,
    email: str,
    token: str,
    resource: str,
    since: datetime | None = None,
    *,
    method: Method = "cursor",
    retry: RetryPolicy | None = None,
    now: datetime | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Yield pages of `resource` (users, tickets, ticket_comments) changed at or after `since` (None: all).

    Raises ValueError for an unknown resource, ApiError (naming URL and status) when the API fails for good.
    """
    if resource not in EXPORTS:
        raise ValueError(f"unknown Zendesk export {resource!r}; expected one of {', '.join(EXPORTS)}")
    base = require_config("Zendesk base URL", base_url, "SOURCES__HELPDESK__BASE_URL").rstrip("/")
    email = require_config("Zendesk agent email", email, "SOURCES__HELPDESK__EMAIL")
    token = require_config("Zendesk API token", token, "SOURCES__HELPDESK__TOKEN")
    start = start_time(since, now or datetime.now(UTC))
    # API token authentication: basic auth as "<agent email>/token" with the token as password
    with ApiClient(base, HttpBasicAuth(f"{email}/token", token), retry=retry) as api:
        if resource == "ticket_comments":
            params = {"start_time": start, "include": "comment_events"}
            paginator = ExportPaginator("time")
            for page in api.pages("/api/v2/incremental/ticket_events.json", params=params, paginator=paginator,
                                  data_selector="ticket_events"):  # fmt: skip
                comments = [comment for event in page for comment in comments_of(event)]
                if comments:
                    yield comments
            return
        suffix = "/cursor.json" if method == "cursor" else ".json"
        params = {"start_time": start, "per_page": PER_PAGE}
        yield from api.pages(f"/api/v2/incremental/{resource}{suffix}", params=params,
                             paginator=ExportPaginator(method), data_selector=resource)  # fmt: skip


def start_time(since: datetime | None, now: datetime) -> int:
    """The export's `start_time` (epoch seconds) for a cursor at `since`: 0 for none, at most a minute ago."""
    if since is None:
        return 0
    moment = since if since.tzinfo else since.replace(tzinfo=UTC)
    return int(min(moment, now - MIN_AGE).timestamp())


def comments_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The comments an audit of the ticket events export added, in the comments API shape with `ticket_id`.

    A comment child event carries no time of its own: the audit's `created_at` is when it was written.
    """
    return [
        {
            **{k: v for k, v in child.items() if k not in ("event_type", "type")},
            "type": "Comment",
            "ticket_id": event.get("ticket_id"),
            "created_at": child.get("created_at") or event.get("created_at"),
        }
        for child in event.get("child_events") or []
        if child.get("event_type") == "Comment"
    ]


class ExportPaginator(BasePaginator):
    """The incremental export's paging: stops at `end_of_stream`, which the export sets on its last page.

    Cursor-based pages carry `after_cursor`, sent back as `cursor` instead of `start_time`; time-based pages
    carry `next_page`, a full URL followed as given. Neither is null on the last page (they are where a later
    poll would resume), so only `end_of_stream` ends the export.
    """

    def __init__(self, method: Method) -> None:
        super().__init__()
        self.method = method
        self._next: str | None = None

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        body = response.json()
        key = "after_cursor" if self.method == "cursor" else "next_page"
        self._next = body.get(key)
        if body.get("end_of_stream", True) or not self._next:
            self._has_next_page = False

    def update_request(self, request: Request) -> None:
        if self.method == "cursor":
            request.params = {"cursor": self._next, "per_page": (request.params or {}).get("per_page", PER_PAGE)}
        else:
            request.url, request.params = self._next, None
