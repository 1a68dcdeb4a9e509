"""Mailchimp (the ESP) source: audience members and campaign email activity, from landing files (default) or
the Mailchimp Marketing API v3.

Records have the API shape either way and go through the same reader:
- `members`: `GET /3.0/lists/{list_id}/members` items, merged on `id` (the subscriber hash, the MD5 of the
  lower-cased email), newest `last_changed` wins. Every status is kept (`subscribed`, `unsubscribed`,
  `cleaned`, `pending`, `archived`): what an unsubscribe or a cleaned address means is dbt's to decide.
  Files may hold JSONL lines of members or saved API responses (`{"members": [...], "total_items": ...}`).
- `webhook_events`: what Mailchimp posted to the collector (subscribe, unsubscribe, profile, upemail,
  cleaned; ingestion/sources/mailchimp/webhooks.py), appended once per derived `id`; files only, whichever
  transport the other two use.
- `email_activity`: one record per open, click or bounce, unnested from the email-activity report
  (ingestion/sources/mailchimp/activity.py), appended once per derived `id`. Files hold saved API responses
  (`{"emails": [...], "campaign_id": ...}`) or JSONL lines already unnested.

Members are read with the audience as it is in the API: one audience per source (`list_id`), as the activation
sync sends to one.

Configuration for the API transport (dlt config/secrets or environment, never code):
`SOURCES__MAILCHIMP__BASE_URL` (the data center, e.g. https://us21.api.mailchimp.com),
`SOURCES__MAILCHIMP__LIST_ID`, `SOURCES__MAILCHIMP__API_KEY`.
"""

from collections.abc import Iterator
from typing import Any, Literal

import dlt
from dlt.sources import DltResource

from core.settings import Settings, get_settings
from ingestion.landing import SCHEMA_CONTRACT, api_origin, read_landing, routed_table
from ingestion.sources.api_cursor import read_api, unfiltered
from ingestion.sources.mailchimp.activity import unnest_actions
from ingestion.sources.mailchimp.webhooks import WEBHOOK_EVENTS
from ingestion.spec import Column, ColumnType, TableSpec

Transport = Literal["files", "api"]
T, BIGINT, DEC, BOOL, TS, JSON = (
    ColumnType.TEXT,
    ColumnType.BIGINT,
    ColumnType.DECIMAL,
    ColumnType.BOOL,
    ColumnType.TIMESTAMP,
    ColumnType.JSON,
)
MERGE = {"disposition": "merge", "strategy": "delete-insert"}

MEMBERS = TableSpec(
    table="members",
    primary_key="id",
    cursor="last_changed",
    envelope_keys=frozenset({"members"}),
    columns=(
        Column("id", "/id"),
        Column("list_id", "/list_id"),
        Column("email_address", "/email_address"),
        Column("unique_email_id", "/unique_email_id"),
        Column("contact_id", "/contact_id"),
        Column("full_name", "/full_name"),
        Column("email_type", "/email_type"),
        Column("status", "/status"),
        Column("unsubscribe_reason", "/unsubscribe_reason"),
        Column("merge_fields__fname", "/merge_fields/FNAME"),
        Column("merge_fields__lname", "/merge_fields/LNAME"),
        Column("merge_fields__phone", "/merge_fields/PHONE"),
        Column("merge_fields__address", "/merge_fields/ADDRESS", JSON),  # an object, or "" when none
        Column("language", "/language"),
        Column("vip", "/vip", BOOL),
        Column("member_rating", "/member_rating", BIGINT),
        Column("stats__avg_open_rate", "/stats/avg_open_rate", DEC),
        Column("stats__avg_click_rate", "/stats/avg_click_rate", DEC),
        Column("location__country_code", "/location/country_code"),
        Column("location__timezone", "/location/timezone"),
        Column("source", "/source"),
        Column("ip_signup", "/ip_signup"),
        Column("ip_opt", "/ip_opt"),
        # Mailchimp sends "" for a signup or opt-in time it does not know: text here, cast in staging
        Column("timestamp_signup", "/timestamp_signup"),
        Column("timestamp_opt", "/timestamp_opt"),
        Column("tags", "/tags", JSON),
        Column("marketing_permissions", "/marketing_permissions", JSON),
        Column("last_changed", "/last_changed", TS),
    ),
)


class _AppendedSpec(TableSpec):
    """An appended table with a cursor: the cursor only tells the API where to resume (`since`), so the column
    carries no `dedup_sort` hint, which dlt applies to merges alone (and warns about on every append)."""

    def dlt_columns(self) -> dict[str, dict[str, Any]]:
        columns = super().dlt_columns()
        if self.cursor:
            columns[self.cursor].pop("dedup_sort", None)
        return columns


EMAIL_ACTIVITY = _AppendedSpec(
    table="email_activity",
    primary_key="id",
    cursor="timestamp",  # the API's `since`; the first delivery of an action id wins all the same
    envelope_keys=frozenset({"emails"}),
    envelope_records=unnest_actions,  # a saved report page: one record per action, with a derived id
    columns=(
        Column("id", "/id"),
        Column("campaign_id", "/campaign_id"),
        Column("list_id", "/list_id"),
        Column("email_id", "/email_id"),
        Column("email_address", "/email_address"),
        Column("action", "/activity/action"),
        Column("type", "/activity/type"),
        Column("timestamp", "/activity/timestamp", TS),
        Column("url", "/activity/url"),
        Column("ip", "/activity/ip"),
    ),
)

LAST_CHANGED = dlt.sources.incremental("last_changed")
"""The members' cursor, sent to the API as `since_last_changed` (sources/api_cursor.py)."""
ACTIVITY_TIMESTAMP = dlt.sources.incremental("timestamp")
"""The actions' cursor, sent to the API as `since`."""


@dlt.source(name="mailchimp")
def mailchimp_source(
    transport: Transport = "files",
    settings: Settings | None = None,
    base_url: str | None = dlt.config.value,
    list_id: str | None = dlt.config.value,
    api_key: str | None = dlt.secrets.value,
) -> list[DltResource]:
    """Members and email activity from the settings' landing folder (read from the environment when none are
    given: the source is an entry point of its own) or from the API, which needs base_url, list_id, api_key."""
    if transport not in ("files", "api"):
        raise ValueError(f"unknown transport {transport!r}: use 'files' or 'api'")
    if transport == "api" and not (base_url and list_id and api_key):
        raise ValueError("mailchimp api transport needs sources.mailchimp.base_url, list_id and api_key (dlt config)")
    reader = _Reader(transport, settings or get_settings(), base_url, list_id, api_key)
    resources = [members(reader), email_activity(reader)]
    return resources if transport == "api" else [*resources, webhook_events(reader.settings)]


class _Reader:
    """Where a resource's records come from (transport and its settings); the record shape is the spec's."""

    def __init__(
        self, transport: Transport, settings: Settings, base_url: str | None, list_id: str | None, api_key: str | None
    ) -> None:
        self.transport, self.settings = transport, settings
        self.base_url, self.list_id, self.api_key = base_url, list_id, api_key

    def read(self, spec: TableSpec, cursor: dlt.sources.incremental[str], dedup: Any = "newest") -> Iterator[Any]:
        if self.transport == "api":
            from ingestion.sources.mailchimp import mailchimp_api

            iterate = mailchimp_api.iter_members if spec is MEMBERS else mailchimp_api.iter_email_activity

            def fetch(since: Any) -> Any:
                return iterate(self.base_url, self.api_key, self.list_id, since)

            path = f"lists/{self.list_id}/members" if spec is MEMBERS else "reports/email-activity"
            origin = api_origin(f"{self.base_url}/3.0/{path}")
            yield from read_api(spec, spec.table, cursor, fetch, origin, self.settings)
            return
        unfiltered(cursor)
        landing = self.settings.landing_dir
        state = dlt.current.resource_state()
        folder = landing / "mailchimp" / spec.table
        yield from read_landing(spec, spec.table, folder, landing, state, dedup=dedup, settings=self.settings)


@dlt.resource(
    name="members",
    table_name=routed_table,
    primary_key="id",
    write_disposition=MERGE,
    schema_contract=SCHEMA_CONTRACT,
)
def members(reader: _Reader, last_changed: dlt.sources.incremental[str] = LAST_CHANGED) -> Iterator[Any]:
    """Audience members, merged on the subscriber hash, newest last_changed wins."""
    yield from reader.read(MEMBERS, last_changed)


@dlt.resource(
    name="email_activity",
    table_name=routed_table,
    primary_key="id",
    write_disposition="append",
    schema_contract=SCHEMA_CONTRACT,
)
def email_activity(reader: _Reader, timestamp: dlt.sources.incremental[str] = ACTIVITY_TIMESTAMP) -> Iterator[Any]:
    """Opens, clicks and bounces, once per action id (first delivery wins; one already loaded is dropped)."""
    yield from reader.read(EMAIL_ACTIVITY, timestamp, dedup="first")


@dlt.resource(
    name="webhook_events",
    table_name=routed_table,
    primary_key="id",
    write_disposition="append",
    schema_contract=SCHEMA_CONTRACT,
)
def webhook_events(settings: Settings) -> Iterator[Any]:
    """The webhooks the collector stored (files only: Mailchimp pushes them), once per derived id."""
    landing = settings.landing_dir
    state = dlt.current.resource_state()
    folder = landing / "mailchimp" / WEBHOOK_EVENTS.table
    yield from read_landing(
        WEBHOOK_EVENTS, WEBHOOK_EVENTS.table, folder, landing, state, dedup="first", settings=settings
    )
