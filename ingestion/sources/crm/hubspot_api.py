"""HubSpot CRM v3 contacts over HTTP: full list or incremental search, archived contacts included.

Pages are yielded exactly as the API returns the contacts (`{"id", "properties", "createdAt", "updatedAt",
"archived"}`), so the crm source shapes API and landing-file records the same way.

- Full sync lists `GET /crm/v3/objects/contacts` twice, live then `archived=true`, following
  `paging.next.after` (dlt's `JSONResponseCursorPaginator`; in the search, into the body's `after`).
- Incremental sync (`updated_after` given) uses `POST /crm/v3/objects/contacts/search`, filtered on
  `lastmodifieddate >= updated_after` and sorted ascending. The search API refuses to page past its
  10,000th result, so when the next page would cross that cap the query restarts with the filter moved
  forward to the last modification date seen; contacts at that exact boundary are not yielded twice.
  The search API never returns archived contacts, so the archived list follows, keeping those archived
  (or modified) since `updated_after`: that is how deletions reach the warehouse.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from dlt.sources.helpers.requests import Response
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from core.http import ApiClient, ApiError, RetryPolicy, require_config

CONTACTS_PATH = "/crm/v3/objects/contacts"
SEARCH_PATH = f"{CONTACTS_PATH}/search"
PAGE_SIZE = 100
"""The list endpoint's maximum page size."""
SEARCH_RESULT_CAP = 10_000
"""The search endpoint answers 400 for any `after` at or beyond this many results."""
CURSOR_PROPERTY = "lastmodifieddate"
NEXT_AFTER = "paging.next.after"
"""Where HubSpot puts the next page's cursor, for the list and the search endpoint alike."""


def iter_contacts(
    base_url: str,
    token: str,
    properties: list[str],
    updated_after: str | datetime | None = None,
    *,
    retry: RetryPolicy | None = None,
    page_size: int = PAGE_SIZE,
    search_result_cap: int = SEARCH_RESULT_CAP,
) -> Iterator[list[dict[str, Any]]]:
    """Yield pages of contacts; every contact once per boundary-free run, archived ones last.

    `updated_after` is a datetime, ISO-8601 text or epoch milliseconds (a dlt incremental's start value);
    None means a full sync. Raises ApiError (naming URL and status) when the API fails for good.
    """
    base = require_config("HubSpot base URL", base_url, "SOURCES__CRM__BASE_URL").rstrip("/")
    token = require_config("HubSpot access token", token, "SOURCES__CRM__TOKEN")
    with ApiClient(base, BearerTokenAuth(token=token), retry=retry) as api:
        if updated_after is None:
            yield from _list(api, properties, archived=False, page_size=page_size)
            yield from _list(api, properties, archived=True, page_size=page_size)
            return
        since_ms = to_epoch_ms(updated_after)
        yield from _search_modified_since(api, properties, since_ms, page_size, search_result_cap)
        for page in _list(api, properties, archived=True, page_size=page_size):
            changed = [c for c in page if _archived_or_modified_ms(c) >= since_ms]
            if changed:
                yield changed


def _list(api: ApiClient, properties: list[str], *, archived: bool, page_size: int) -> Iterator[list[dict[str, Any]]]:
    params = {"limit": page_size, "properties": ",".join(properties), "archived": str(archived).lower()}
    paginator = JSONResponseCursorPaginator(cursor_path=NEXT_AFTER, cursor_param="after")
    yield from api.pages(CONTACTS_PATH, params=params, paginator=paginator, data_selector="results")


def _search_modified_since(
    api: ApiClient, properties: list[str], since_ms: int, page_size: int, cap: int
) -> Iterator[list[dict[str, Any]]]:
    """Search pages from `since_ms` on; at the result cap the search restarts from the latest date seen."""
    window = _SearchWindow(since_ms)
    while True:
        paginator = _CappedSearchPaginator(page_size, cap)
        body = _search_body(properties, window.since_ms, page_size)
        for page in api.pages(SEARCH_PATH, method="POST", json=body, paginator=paginator, data_selector="results"):
            fresh = window.unseen(page)
            if fresh:
                yield fresh
        if not paginator.at_cap:
            return
        window.move_forward(api.base_url + SEARCH_PATH, cap)


class _CappedSearchPaginator(JSONResponseCursorPaginator):
    """HubSpot's search paging (`paging.next.after` into the body's `after`), stopped short of the result cap.

    `at_cap` tells the caller that more results exist than the search lets it page to.
    """

    def __init__(self, page_size: int, cap: int) -> None:
        super().__init__(cursor_path=NEXT_AFTER, cursor_body_path="after")
        self.page_size, self.cap = page_size, cap
        self.at_cap = False

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        super().update_state(response, data)
        after = self._next_reference
        if after is not None and _offset(str(after)) + self.page_size > self.cap:
            self.at_cap = True
            self._next_reference = None


class _SearchWindow:
    """The search filter's start, and who was already yielded at the latest modification date seen.

    Moving the start to that date is how paging continues past the cap; the ids remembered there keep the
    restarted query from yielding them twice.
    """

    def __init__(self, since_ms: int) -> None:
        self.since_ms = since_ms
        self.latest_ms = since_ms
        self.ids_at_latest: set[str] = set()

    def unseen(self, contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        fresh = []
        for contact in contacts:
            modified = _modified_ms(contact)
            if modified == self.latest_ms and contact.get("id") in self.ids_at_latest:
                continue
            if modified > self.latest_ms:
                self.latest_ms, self.ids_at_latest = modified, set()
            self.ids_at_latest.add(contact.get("id"))
            fresh.append(contact)
        return fresh

    def move_forward(self, url: str, cap: int) -> None:
        if self.latest_ms == self.since_ms:
            # Every result so far shares the window's first millisecond: moving the filter moves nothing.
            raise ApiError(
                f"POST {url}: more than {cap} contacts modified at epoch ms {self.since_ms}; the search API "
                "cannot page through them. Run a full sync (no updated_after) instead.",
                url=url,
            )
        self.since_ms = self.latest_ms


def _offset(after: str) -> int:
    """The search API's `after` is a result offset; anything else cannot run into the cap."""
    return int(after) if after.isdigit() else 0


def _search_body(properties: list[str], since_ms: int, page_size: int) -> dict[str, Any]:
    return {
        "filterGroups": [{"filters": [{"propertyName": CURSOR_PROPERTY, "operator": "GTE", "value": str(since_ms)}]}],
        "sorts": [{"propertyName": CURSOR_PROPERTY, "direction": "ASCENDING"}],
        "properties": properties,
        "limit": page_size,
    }


def _modified_ms(contact: dict[str, Any]) -> int:
    """The search's sort key: `properties.lastmodifieddate`, else `updatedAt` (HubSpot keeps them equal)."""
    value = (contact.get("properties") or {}).get(CURSOR_PROPERTY) or contact.get("updatedAt")
    if not value:
        raise ApiError(f"contact {contact.get('id')!r} has neither {CURSOR_PROPERTY} nor updatedAt", url="")
    return to_epoch_ms(value)


def _archived_or_modified_ms(contact: dict[str, Any]) -> int:
    stamps = [contact.get("archivedAt"), contact.get("updatedAt")]
    return max((to_epoch_ms(s) for s in stamps if s), default=0)


def to_epoch_ms(value: str | int | datetime) -> int:
    """HubSpot's search filters compare dates as epoch milliseconds; accept those, datetimes or ISO-8601."""
    if isinstance(value, datetime):
        return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp() * 1000)
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not an ISO-8601 timestamp or epoch milliseconds: {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)
