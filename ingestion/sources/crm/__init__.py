"""HubSpot CRM source: contacts, from landing files (default) or the HubSpot CRM v3 API.

Records have the API shape either way (`{"id", "properties": {...}, "createdAt", "updatedAt", "archived"}`),
so both transports feed the same reader and land the same `raw_crm.contacts` (contract section 2). Archived
contacts are kept with `archived = true`: dbt decides what an archived contact means;
ingestion never hides it.

Configuration for the API transport (dlt config/secrets or environment, never code):
`SOURCES__CRM__BASE_URL` and `SOURCES__CRM__TOKEN` (a private-app bearer token).
"""

from typing import Any, Literal

import dlt
from dlt.sources import DltResource

from core.settings import Settings, get_settings
from ingestion.landing import SCHEMA_CONTRACT, api_origin, read_landing, routed_table
from ingestion.sources.api_cursor import read_api, unfiltered
from ingestion.spec import Column, ColumnType, TableSpec, json_pointer

Transport = Literal["files", "api"]

CONTACT_PROPERTIES = (
    "email", "firstname", "lastname", "phone", "mobilephone", "address", "city", "state", "zip", "country",
    "date_of_birth", "lifecyclestage", "hs_email_optout", "createdate", "lastmodifieddate",
)  # fmt: skip
"""HubSpot properties the warehouse asks for and lands as text, exactly as delivered."""

CONTACTS = TableSpec(
    table="contacts",
    primary_key="id",
    cursor="updated_at",
    envelope_keys=frozenset({"results"}),
    drift_prefixes={"/properties": ""},  # a new HubSpot property lands beside the others, not as properties__x
    columns=(
        Column("id", "/id"),
        *(Column(name, json_pointer("properties", name)) for name in CONTACT_PROPERTIES),
        Column("created_at", "/createdAt", ColumnType.TIMESTAMP),
        Column("updated_at", "/updatedAt", ColumnType.TIMESTAMP),
        Column("archived", "/archived", ColumnType.BOOL),
    ),
)

UPDATED_AT = dlt.sources.incremental("updatedAt")
"""The contacts' cursor (dlt copies this default for each resource); the search applies it on the API."""


@dlt.source(name="crm")
def crm_source(
    transport: Transport = "files",
    settings: Settings | None = None,
    base_url: str | None = dlt.config.value,
    token: str | None = dlt.secrets.value,
) -> DltResource:
    """HubSpot contacts from the settings' landing folder (read from the environment when none are given: the
    source is an entry point of its own) or from the API, which needs base_url and token."""
    settings = settings or get_settings()
    if transport == "api":
        if not base_url or not token:
            raise ValueError("crm api transport needs sources.crm.base_url and sources.crm.token (dlt config)")
        return contacts(transport, settings, base_url=base_url, token=token)
    if transport != "files":
        raise ValueError(f"unknown transport {transport!r}: use 'files' or 'api'")
    return contacts(transport, settings)


@dlt.resource(
    name="contacts",
    table_name=routed_table,
    primary_key="id",
    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
    schema_contract=SCHEMA_CONTRACT,
)
def contacts(
    transport: Transport,
    settings: Settings,
    base_url: str | None = None,
    token: str | None = None,
    updated_at: dlt.sources.incremental[str] = UPDATED_AT,
) -> Any:
    """Contacts, merged on id, newest updatedAt wins (also across loads).

    The `updatedAt` cursor is used with the API only, where the search applies it (ingestion/sources/
    api_cursor.py): on files, filtering by cursor would silently drop late-delivered records, and the file
    state already skips what was read.
    """
    if transport == "api":
        from ingestion.sources.crm.hubspot_api import iter_contacts

        def fetch(since: Any) -> Any:
            return iter_contacts(base_url, token, list(CONTACT_PROPERTIES), since)

        origin = api_origin(f"{base_url}/crm/v3/objects/contacts")
        yield from read_api(CONTACTS, "contacts", updated_at, fetch, origin, settings)
        return
    unfiltered(updated_at)
    landing = settings.landing_dir
    state = dlt.current.resource_state()
    yield from read_landing(CONTACTS, "contacts", landing / "crm" / "contacts", landing, state, settings=settings)
