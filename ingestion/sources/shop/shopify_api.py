"""Shopify Admin REST resources over HTTP, paged by the `Link` header, envelopes unwrapped.

`GET {base}/admin/api/{version}/{resource}.json?limit=250&updated_at_min=...` answers `{"<resource>": [...]}`
and a `Link: <...page_info=...>; rel="next"` header. Shopify refuses any filter beside `page_info` and `limit`
on later pages, so the next URL is followed exactly as given (dlt's `HeaderLinkPaginator`). Objects are yielded
as the API returns them.

Which statuses are asked for, and why: orders default to open ones only, so `status=any` is sent to see
closed and cancelled orders too; abandoned checkouts accept only `open` (the default) or `closed`, so both are
swept, and a recovered checkout (now `completed_at`) is seen; customers and products have no such filter.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from dlt.sources.helpers.rest_client.paginators import HeaderLinkPaginator

from core.http import ApiClient, RetryPolicy, require_config

RESOURCES = ("customers", "orders", "products", "checkouts")
PAGE_SIZE = 250
"""Shopify's maximum page size."""
_STATUS_SWEEPS: dict[str, tuple[str | None, ...]] = {
    "orders": ("any",),
    "checkouts": ("open", "closed"),
    "customers": (None,),
    "products": (None,),
}


def iter_resource(
    base_url: str,
    token: str,
    api_version: str,
    resource: str,
    updated_at_min: str | datetime | None = None,
    *,
    retry: RetryPolicy | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[list[dict[str, Any]]]:
    """Yield pages of `resource` objects updated at or after `updated_at_min` (datetime, ISO-8601; None: all).

    Raises ValueError for an unknown resource, ApiError (naming URL and status) when the API fails for good.
    """
    if resource not in RESOURCES:
        raise ValueError(f"unknown Shopify resource {resource!r}; expected one of {', '.join(RESOURCES)}")
    base = require_config("Shopify base URL", base_url, "SOURCES__SHOP__BASE_URL").rstrip("/")
    token = require_config("Shopify access token", token, "SOURCES__SHOP__TOKEN")
    version = require_config("Shopify API version", api_version, "SOURCES__SHOP__API_VERSION")
    path = f"/admin/api/{version}/{resource}.json"
    auth = APIKeyAuth(name="X-Shopify-Access-Token", api_key=token, location="header")
    with ApiClient(base, auth, retry=retry) as api:
        for status in _STATUS_SWEEPS[resource]:
            params: dict[str, Any] = {"limit": page_size}
            if updated_at_min:
                params["updated_at_min"] = _iso(updated_at_min)
            if status:
                params["status"] = status
            # the next URL carries page_info and limit, and Shopify refuses any other filter beside them
            yield from api.pages(path, params=params, paginator=HeaderLinkPaginator(), data_selector=resource)


def _iso(moment: str | datetime) -> str:
    """Shopify wants ISO-8601 with an offset; a naive datetime is taken as UTC, text is passed on as given."""
    if isinstance(moment, str):
        return moment
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
