"""The Mailchimp Marketing API calls the sync makes, over the shared `ApiClient` (dlt's, with retries).

- `POST {base}/3.0/lists/{list_id}`: batch subscribe/update, at most 500 members, `update_existing: true` so a
  re-sent batch updates the same members instead of creating or failing on them (idempotent on retry). The
  answer lists `new_members`, `updated_members` and per-email `errors`; a 200 may still reject some members.
- `POST .../members/{subscriber_hash}/tags`: tags (our segments) marked active or inactive.
- `DELETE .../members/{subscriber_hash}`: archive (the contact stays in the account, unsubscribed from sends).
- `POST .../members/{subscriber_hash}/actions/delete-permanent`: erase the contact (erasure requests).
- `GET {base}/3.0/lists/{list_id}`: a preflight (key valid, audience exists) before anything is sent.
- `GET .../members?offset=&count=`: page through who exists (update-only mode), at most 1000 per page.

Authentication is HTTP basic with any user name and the API key as password, as Mailchimp documents (dlt's
`HttpBasicAuth`); the members list pages with dlt's `OffsetPaginator`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dlt.sources.helpers.rest_client.auth import HttpBasicAuth
from dlt.sources.helpers.rest_client.paginators import OffsetPaginator

from activation.config import DestinationConfig
from core.http import ApiClient, ApiError, RetryPolicy, require_config

MEMBERS_PAGE_SIZE = 1000
"""Mailchimp's largest `count` for list members."""


@dataclass(frozen=True)
class BatchOutcome:
    """Per email (lower-cased) of one batch: created, updated, or the error the ESP gave."""

    created: set[str]
    updated: set[str]
    errors: dict[str, str]


class MailchimpClient:
    """One audience of one account; a context manager over an `ApiClient`."""

    def __init__(self, config: DestinationConfig, *, retry: RetryPolicy | None = None) -> None:
        prefix = f"DESTINATIONS__{config.name.upper()}__"
        base = require_config("ESP base URL", config.base_url, prefix + "BASE_URL").rstrip("/")
        list_id = require_config("ESP list id", config.list_id, prefix + "LIST_ID")
        api_key = require_config("ESP API key", config.api_key, prefix + "API_KEY")
        self.list_url = f"{base}/3.0/lists/{list_id}"
        self._api = ApiClient(base, HttpBasicAuth(username="anystring", password=api_key), retry=retry)

    def __enter__(self) -> MailchimpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._api.close()

    def check_audience(self) -> None:
        """Fail fast, before anything is sent, when the key is wrong or the audience does not exist."""
        self._api.call("GET", self.list_url, params={"fields": "id,name"})

    def batch_upsert(self, members: list[dict[str, Any]]) -> BatchOutcome:
        """Subscribe new members and update existing ones; ApiError when the call itself failed for good."""
        body = self._api.call("POST", self.list_url, json={"members": members, "update_existing": True})
        if not isinstance(body, dict):
            raise ApiError(f"POST {self.list_url} answered {type(body).__name__}, not an object", url=self.list_url)
        return BatchOutcome(
            created={_email(m) for m in body.get("new_members") or []},
            updated={_email(m) for m in body.get("updated_members") or []},
            errors={
                _email(e): f"{e.get('error_code') or 'ERROR'}: {e.get('error') or 'rejected'}"
                for e in body.get("errors") or []
            },
        )

    def set_tags(self, subscriber_hash: str, active: Iterable[str], inactive: Iterable[str]) -> None:
        tags = [{"name": t, "status": "active"} for t in sorted(active)]
        tags += [{"name": t, "status": "inactive"} for t in sorted(inactive)]
        self._api.call("POST", f"{self.list_url}/members/{subscriber_hash}/tags", json={"tags": tags})

    def archive(self, subscriber_hash: str) -> None:
        """Archive a member; one that is already gone (404) counts as archived."""
        self._ignore_missing("DELETE", f"{self.list_url}/members/{subscriber_hash}")

    def delete_permanently(self, subscriber_hash: str) -> None:
        """Erase a member for good; one that is already gone (404) counts as erased."""
        self._ignore_missing("POST", f"{self.list_url}/members/{subscriber_hash}/actions/delete-permanent")

    def existing_members(self) -> set[str]:
        """Subscriber hashes of the audience's members that are not archived, page by page."""
        paginator = OffsetPaginator(
            limit=MEMBERS_PAGE_SIZE, limit_param="count", total_path="total_items", stop_after_empty_page=True
        )
        pages = self._api.pages(
            f"{self.list_url}/members",
            params={"fields": "members.id,members.status,total_items"},
            paginator=paginator,
            data_selector="members",
        )
        return {m["id"] for page in pages for m in page if m.get("status") != "archived"}

    def _ignore_missing(self, method: str, url: str) -> None:
        try:
            self._api.call(method, url)
        except ApiError as error:
            if error.status != 404:
                raise


def _email(item: dict[str, Any]) -> str:
    return str(item.get("email_address") or "").strip().lower()


def is_fatal(error: ApiError) -> bool:
    """Errors that will not go away for the next member either: no connection, auth, rate limit, outage."""
    return error.status is None or error.status in (401, 403, 429) or error.status >= 500
