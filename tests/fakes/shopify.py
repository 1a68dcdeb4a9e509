"""A fake Shopify Admin REST API: envelopes, `Link` header paging with page_info, token and version checks."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.server import FakeApiServer, RecordedRequest, Reply, page_window

RESOURCES = ("customers", "orders", "products", "checkouts")
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


def make_shop_object(number: int, updated: datetime, **fields: Any) -> dict[str, Any]:
    """The fields the fake filters and pages on (`id`, `updated_at`), plus whatever a test adds."""
    created = updated - timedelta(days=10)
    return {
        "id": 7_000_000 + number,
        "created_at": created.isoformat(timespec="seconds"),
        "updated_at": updated.isoformat(timespec="seconds"),
        **fields,
    }


class FakeShopify(FakeApiServer):
    """Answers `GET /admin/api/{version}/{resource}.json` as Shopify does; 401 on a wrong access token."""

    def __init__(
        self,
        resources: dict[str, list[dict[str, Any]]],
        *,
        token: str = "shpat_test",
        api_version: str = "2024-01",
        max_page_size: int = 250,
    ) -> None:
        super().__init__()
        self.resources = resources
        self.token = token
        self.api_version = api_version
        self.max_page_size = max_page_size

    def handle(self, request: RecordedRequest) -> Reply:
        if request.headers.get("x-shopify-access-token") != self.token:
            return Reply(401, {"errors": INVALID_TOKEN})
        prefix, _, name = request.path.rpartition("/")
        resource = name.removesuffix(".json")
        if request.method != "GET" or prefix != f"/admin/api/{self.api_version}" or resource not in RESOURCES:
            return Reply(404, {"errors": "Not Found"})
        limit = int(request.param("limit") or 50)
        if limit > self.max_page_size:
            return Reply(400, {"errors": {"limit": f"must be at most {self.max_page_size}"}})
        if request.param("page_info"):
            return self._later_page(request, resource, limit)
        query = {"updated_at_min": request.param("updated_at_min"), "status": request.param("status")}
        return self._page(request, resource, query, 0, limit)

    def _later_page(self, request: RecordedRequest, resource: str, limit: int) -> Reply:
        extra = set(request.query) - {"page_info", "limit"}
        if extra:
            return Reply(400, {"errors": f"page_info cannot be combined with {', '.join(sorted(extra))}"})
        cursor = json.loads(base64.urlsafe_b64decode(request.param("page_info") or ""))
        return self._page(request, resource, cursor["query"], cursor["offset"], limit)

    def _page(
        self, request: RecordedRequest, resource: str, query: dict[str, Any], offset: int, limit: int
    ) -> Reply:
        matching = sorted(
            (o for o in self.resources.get(resource, []) if _matches(o, resource, query)),
            key=lambda o: o["id"],
        )
        page, following = page_window(matching, offset, limit)
        headers = {}
        if following is not None:
            page_info = base64.urlsafe_b64encode(json.dumps({"query": query, "offset": following}).encode())
            url = (
                f"http://{request.headers['host']}{request.path}?limit={limit}&page_info={page_info.decode()}"
            )
            headers["Link"] = f'<{url}>; rel="next"'
        return Reply(200, {resource: page}, headers)


def _matches(obj: dict[str, Any], resource: str, query: dict[str, Any]) -> bool:
    if query.get("updated_at_min") and _parse(obj["updated_at"]) < _parse(query["updated_at_min"]):
        return False
    status = query.get("status")
    if resource == "orders" and status != "any":
        return obj.get("closed_at") is None and obj.get("cancelled_at") is None
    if resource == "checkouts":
        return (obj.get("completed_at") is None) == (status in (None, "open"))
    return True


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
