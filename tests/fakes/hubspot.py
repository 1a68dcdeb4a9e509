"""A fake HubSpot CRM v3: contacts list (cursor paging, archived flag), search (GTE filter, result cap)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.server import FakeApiServer, RecordedRequest, Reply, page_window

CONTACTS_PATH = "/crm/v3/objects/contacts"
SEARCH_PATH = CONTACTS_PATH + "/search"
ALWAYS_RETURNED = ("createdate", "hs_object_id", "lastmodifieddate")
"""HubSpot returns these on every contact whatever properties were asked for."""


def make_contact(number: int, modified: datetime, *, archived: bool = False) -> dict[str, Any]:
    """A contact as HubSpot stores it; `modified` drives updatedAt and lastmodifieddate."""
    created = modified - timedelta(days=30)
    contact: dict[str, Any] = {
        "id": str(1000 + number),
        "properties": {
            "createdate": _iso(created),
            "email": f"person{number}@example.com",
            "firstname": f"First{number}",
            "lastname": f"Last{number}",
            "hs_object_id": str(1000 + number),
            "lastmodifieddate": _iso(modified),
        },
        "createdAt": _iso(created),
        "updatedAt": _iso(modified),
        "archived": archived,
    }
    if archived:
        contact["archivedAt"] = _iso(modified)
    return contact


class FakeHubSpot(FakeApiServer):
    """Answers like HubSpot for the contact endpoints the crm source uses; 401 on a wrong bearer token."""

    def __init__(
        self,
        contacts: list[dict[str, Any]],
        *,
        token: str = "pat-test-token",
        search_result_cap: int = 10_000,
        max_page_size: int = 100,
    ) -> None:
        super().__init__()
        self.contacts = contacts
        self.token = token
        self.search_result_cap = search_result_cap
        self.max_page_size = max_page_size

    def handle(self, request: RecordedRequest) -> Reply:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(
                401,
                {
                    "status": "error",
                    "category": "INVALID_AUTHENTICATION",
                    "message": "Authentication credentials not found.",
                },
            )
        if request.method == "GET" and request.path == CONTACTS_PATH:
            return self._list(request)
        if request.method == "POST" and request.path == SEARCH_PATH:
            return self._search(request.json() or {})
        return Reply(404, {"status": "error", "message": f"no route for {request.method} {request.path}"})

    def _list(self, request: RecordedRequest) -> Reply:
        limit = int(request.param("limit") or 10)
        if limit > self.max_page_size:
            return _bad_request(f"limit must be at most {self.max_page_size}")
        archived = request.param("archived") == "true"
        properties = (request.param("properties") or "").split(",")
        matching = [c for c in self.contacts if c["archived"] == archived]
        page, following = page_window(matching, int(request.param("after") or 0), limit)
        return Reply(200, _page_body([_project(c, properties) for c in page], following))

    def _search(self, body: dict[str, Any]) -> Reply:
        limit, offset = int(body.get("limit", 10)), int(body.get("after") or 0)
        if offset + limit > self.search_result_cap:
            return _bad_request(f"paging beyond {self.search_result_cap} results is not supported")
        groups = body.get("filterGroups", [])
        matching = [c for c in self.contacts if not c["archived"] and _passes(c, groups)]
        matching.sort(key=lambda c: _millis(c["properties"]["lastmodifieddate"]))
        page, following = page_window(matching, offset, limit)
        reply = _page_body([_project(c, body.get("properties", [])) for c in page], following)
        return Reply(200, {"total": len(matching), **reply})


def _passes(contact: dict[str, Any], groups: list[dict[str, Any]]) -> bool:
    """Filter groups OR together, filters inside a group AND; only GTE / GT / LTE / LT on dates here."""
    compare = {"GTE": int.__ge__, "GT": int.__gt__, "LTE": int.__le__, "LT": int.__lt__}
    return not groups or any(
        all(
            compare[f["operator"]](_millis(contact["properties"][f["propertyName"]]), _millis(f["value"]))
            for f in group["filters"]
        )
        for group in groups
    )


def _project(contact: dict[str, Any], properties: list[str]) -> dict[str, Any]:
    wanted = set(properties) | set(ALWAYS_RETURNED)
    return {**contact, "properties": {k: v for k, v in contact["properties"].items() if k in wanted}}


def _page_body(results: list[dict[str, Any]], following: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"results": results}
    if following is not None:
        body["paging"] = {"next": {"after": str(following), "link": f"?after={following}"}}
    return body


def _bad_request(message: str) -> Reply:
    return Reply(400, {"status": "error", "category": "VALIDATION_ERROR", "message": message})


def _millis(value: str) -> int:
    if value.isdigit():
        return int(value)
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
