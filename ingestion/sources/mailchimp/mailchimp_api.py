"""Mailchimp Marketing API v3 over HTTP: an audience's members, and the email activity of its sent campaigns.

- Members: `GET /3.0/lists/{list_id}/members`, paged by `offset`/`count` up to `total_items` (dlt's
  `OffsetPaginator`), sorted by `last_changed` ascending; incremental with `since_last_changed` (inclusive: the
  merge absorbs the members at the boundary). Every status is listed (subscribed, unsubscribed, cleaned,
  pending, transactional, archived): an unsubscribe is exactly what the warehouse must see.
- Activity: `GET /3.0/campaigns?status=sent` for the campaigns of the audience, then per campaign
  `GET /3.0/reports/{campaign_id}/email-activity` with `since` once a cursor exists. Pages are unnested into
  one record per action (ingestion/sources/mailchimp/activity.py) before the reader sees them.

Authentication is HTTP basic with any user name and the API key as password (Mailchimp's rule); the base URL
names the account's data center (`https://us21.api.mailchimp.com`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from dlt.sources.helpers.rest_client.auth import HttpBasicAuth
from dlt.sources.helpers.rest_client.paginators import OffsetPaginator

from core.http import ApiClient, RetryPolicy, require_config
from ingestion.sources.mailchimp.activity import unnest_actions

PAGE_SIZE = 1000
"""Mailchimp's maximum `count`."""


def _client(base_url: str | None, api_key: str | None, retry: RetryPolicy | None) -> ApiClient:
    base = require_config("Mailchimp base URL", base_url, "SOURCES__MAILCHIMP__BASE_URL").rstrip("/")
    key = require_config("Mailchimp API key", api_key, "SOURCES__MAILCHIMP__API_KEY")
    return ApiClient(base, HttpBasicAuth(username="warehouse", password=key), retry=retry)


def _paginator(page_size: int) -> OffsetPaginator:
    return OffsetPaginator(limit=page_size, offset_param="offset", limit_param="count", total_path="total_items")


def iter_members(
    base_url: str | None,
    api_key: str | None,
    list_id: str | None,
    since_last_changed: str | datetime | None = None,
    *,
    retry: RetryPolicy | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[list[dict[str, Any]]]:
    """Pages of members changed at or after `since_last_changed` (None: all), as the API returns them."""
    audience = require_config("Mailchimp list id", list_id, "SOURCES__MAILCHIMP__LIST_ID")
    params: dict[str, Any] = {"sort_field": "last_changed", "sort_dir": "ASC"}
    if since_last_changed is not None:
        params["since_last_changed"] = iso(since_last_changed)
    with _client(base_url, api_key, retry) as api:
        path = f"/3.0/lists/{audience}/members"
        yield from api.pages(path, params=params, paginator=_paginator(page_size), data_selector="members")


def iter_email_activity(
    base_url: str | None,
    api_key: str | None,
    list_id: str | None,
    since: str | datetime | None = None,
    *,
    retry: RetryPolicy | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[list[dict[str, Any]]]:
    """Pages of actions (one record each) of the audience's sent campaigns, newer than `since` when given."""
    audience = require_config("Mailchimp list id", list_id, "SOURCES__MAILCHIMP__LIST_ID")
    with _client(base_url, api_key, retry) as api:
        campaigns = [
            campaign
            for page in api.pages(
                "/3.0/campaigns",
                params={"status": "sent", "list_id": audience, "fields": "campaigns.id,total_items"},
                paginator=_paginator(page_size),
                data_selector="campaigns",
            )
            for campaign in page
        ]
        params = {"since": iso(since)} if since is not None else {}
        for campaign in campaigns:
            envelope = {"campaign_id": campaign["id"]}
            for page in api.pages(
                f"/3.0/reports/{campaign['id']}/email-activity",
                params=params,
                paginator=_paginator(page_size),
                data_selector="emails",
            ):
                actions = unnest_actions(envelope, page)
                if actions:
                    yield actions


def iso(moment: str | datetime) -> str:
    """Mailchimp's filters take ISO-8601; a naive datetime is taken as UTC, text is passed on as given."""
    if isinstance(moment, str):
        return moment
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
