"""Zendesk Support source (the helpdesk): users, tickets, ticket comments, from landing files (default) or the
incremental export API.

Records have the Support API shapes either way: users and tickets as the incremental export returns them
(`{"id", "status", "priority", "subject", "tags": [...], "satisfaction_rating": {"score", "comment"}, ...}`),
comments as the comments API returns them plus the `ticket_id` they belong to (ingestion/sources/helpdesk/
zendesk_api.py builds them from the ticket events export). Files may hold JSONL lines or one published response
(`{"tickets": [...]}`, `{"comments": [...]}`).

Deletes are kept, not hidden: a deleted ticket arrives with `status = 'deleted'`, a deleted user with
`active = false`; staging turns both into `is_deleted` (docs/ingestion.md).

Configuration for the API transport (dlt config/secrets or environment, never code):
`SOURCES__HELPDESK__BASE_URL` (`https://<subdomain>.zendesk.com`), `SOURCES__HELPDESK__EMAIL` (the agent the API
token belongs to), `SOURCES__HELPDESK__TOKEN`.
"""

from collections.abc import Iterator
from typing import Any, Literal

import dlt
from dlt.sources import DltResource

from core.settings import Settings, get_settings
from ingestion.landing import SCHEMA_CONTRACT, api_origin, read_landing, routed_table
from ingestion.sources.api_cursor import read_api, unfiltered
from ingestion.spec import Column, ColumnType, TableSpec

Transport = Literal["files", "api"]
T, BIGINT, BOOL, TS, JSON = ColumnType.TEXT, ColumnType.BIGINT, ColumnType.BOOL, ColumnType.TIMESTAMP, ColumnType.JSON
MERGE = {"disposition": "merge", "strategy": "delete-insert"}
Cursor = dlt.sources.incremental[str]
UPDATED_AT = dlt.sources.incremental("updated_at")
"""Users' and tickets' cursor, sent to the export as `start_time` (sources/api_cursor.py)."""
CREATED_AT = dlt.sources.incremental("created_at")
"""Comments' cursor: a comment is never updated, only redacted (a new version with the same id)."""


def _columns(*specs: tuple[str, ColumnType]) -> tuple[Column, ...]:
    """Columns whose JSON path follows from the name: `a__b` reads `/a/b` (dlt's flattening, reversed)."""
    return tuple(Column(name, "/" + name.replace("__", "/"), kind) for name, kind in specs)


USERS = TableSpec(
    table="users",
    primary_key="id",
    cursor="updated_at",
    envelope_keys=frozenset({"users", "user"}),
    columns=_columns(
        ("id", BIGINT), ("name", T), ("email", T), ("phone", T), ("role", T), ("locale", T), ("time_zone", T),
        ("active", BOOL), ("verified", BOOL), ("suspended", BOOL), ("organization_id", BIGINT),
        ("external_id", T), ("tags", JSON), ("created_at", TS), ("updated_at", TS),
    ),
)  # fmt: skip

TICKETS = TableSpec(
    table="tickets",
    primary_key="id",
    cursor="updated_at",
    envelope_keys=frozenset({"tickets", "ticket"}),
    columns=_columns(
        ("id", BIGINT), ("external_id", T), ("type", T), ("subject", T), ("description", T), ("status", T),
        ("priority", T), ("requester_id", BIGINT), ("submitter_id", BIGINT), ("assignee_id", BIGINT),
        ("organization_id", BIGINT), ("group_id", BIGINT), ("tags", JSON), ("via__channel", T),
        ("satisfaction_rating__id", BIGINT), ("satisfaction_rating__score", T),
        ("satisfaction_rating__comment", T), ("created_at", TS), ("updated_at", TS),
        ("generated_timestamp", BIGINT),
    ),
)  # fmt: skip

TICKET_COMMENTS = TableSpec(
    table="ticket_comments",
    primary_key="id",
    cursor="created_at",
    envelope_keys=frozenset({"comments", "comment"}),
    columns=_columns(
        ("id", BIGINT), ("ticket_id", BIGINT), ("author_id", BIGINT), ("type", T), ("body", T),
        ("html_body", T), ("plain_body", T), ("public", BOOL), ("via__channel", T), ("created_at", TS),
    ),
)  # fmt: skip

SPECS = (USERS, TICKETS, TICKET_COMMENTS)


@dlt.source(name="helpdesk")
def helpdesk_source(
    transport: Transport = "files",
    settings: Settings | None = None,
    base_url: str | None = dlt.config.value,
    email: str | None = dlt.config.value,
    token: str | None = dlt.secrets.value,
) -> list[DltResource]:
    """The three Zendesk entities from the settings' landing folder (read from the environment when none are
    given: the source is an entry point of its own) or from the export API, which needs base_url, email, token."""
    if transport not in ("files", "api"):
        raise ValueError(f"unknown transport {transport!r}: use 'files' or 'api'")
    if transport == "api" and (not base_url or not email or not token):
        raise ValueError("helpdesk api transport needs sources.helpdesk.base_url, .email and .token (dlt config)")
    reader = _Reader(transport, settings or get_settings(), base_url, email, token)
    return [users(reader), tickets(reader), ticket_comments(reader)]


class _Reader:
    """Where a resource's records come from (transport and its settings); the record shape is the spec's."""

    def __init__(
        self, transport: Transport, settings: Settings, base_url: str | None, email: str | None, token: str | None
    ) -> None:
        self.transport = transport
        self.settings = settings
        self.base_url, self.email, self.token = base_url, email, token

    def read(self, spec: TableSpec, cursor: dlt.sources.incremental[str]) -> Iterator[Any]:
        """The resource's records; with the API, only those changed since the newest one of the last run."""
        if self.transport == "api":
            from ingestion.sources.helpdesk.zendesk_api import iter_export

            def fetch(since: Any) -> Any:
                return iter_export(self.base_url, self.email, self.token, spec.table, since)

            origin = api_origin(f"{self.base_url}/api/v2/incremental/{spec.table}")
            yield from read_api(spec, spec.table, cursor, fetch, origin, self.settings)
            return
        unfiltered(cursor)
        landing = self.settings.landing_dir
        state = dlt.current.resource_state()
        folder = landing / "helpdesk" / spec.table
        yield from read_landing(spec, spec.table, folder, landing, state, settings=self.settings)


@dlt.resource(
    name="users", table_name=routed_table, primary_key="id", write_disposition=MERGE, schema_contract=SCHEMA_CONTRACT
)
def users(reader: _Reader, updated_at: Cursor = UPDATED_AT) -> Iterator[Any]:
    """Zendesk users (end users and agents), merged on id, newest updated_at wins; deleted ones inactive."""
    yield from reader.read(USERS, updated_at)


@dlt.resource(
    name="tickets",
    table_name=routed_table,
    primary_key="id",
    write_disposition=MERGE,
    schema_contract=SCHEMA_CONTRACT,
)
def tickets(reader: _Reader, updated_at: Cursor = UPDATED_AT) -> Iterator[Any]:
    """Tickets merged on id, newest updated_at wins; a deleted ticket keeps its row with status 'deleted'."""
    yield from reader.read(TICKETS, updated_at)


@dlt.resource(
    name="ticket_comments",
    table_name=routed_table,
    primary_key="id",
    write_disposition=MERGE,
    schema_contract=SCHEMA_CONTRACT,
)
def ticket_comments(reader: _Reader, created_at: Cursor = CREATED_AT) -> Iterator[Any]:
    """Ticket comments merged on id (a redaction re-delivers a comment under its id)."""
    yield from reader.read(TICKET_COMMENTS, created_at)
