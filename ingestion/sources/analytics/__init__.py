"""Segment analytics source: events (identify, track, page) from the analytics landing directory.

Events arrive only as files (the Segment-compatible collector and exports write them; Segment offers no pull
API), so there is no `api` transport. Each message is loaded once per `message_id`: a message re-delivered in
the same run is collapsed by the reader (first delivery wins), one the warehouse already holds is dropped by the
reader's anti-join against the destination. So the table is appended, not merged (a merge stages and
de-duplicates every row of the run again); dlt's replay of a load job killed after its commit cannot insert its
rows twice because the destination's restored append jobs skip what committed (ingestion/destination.py).
Nothing is filtered by the `timestamp` cursor: events arrive late by design and a cursor filter would drop them
silently.
"""

from collections.abc import Iterator
from typing import Any, Literal

import dlt
from dlt.sources import DltResource

from core.settings import Settings, get_settings
from ingestion.landing import SCHEMA_CONTRACT, read_landing, routed_table
from ingestion.sources.analytics.batch import batch_messages
from ingestion.spec import Column, ColumnType, TableSpec

T, TS, JSON = ColumnType.TEXT, ColumnType.TIMESTAMP, ColumnType.JSON

EVENTS = TableSpec(
    table="events",
    primary_key="message_id",
    envelope_keys=frozenset({"batch"}),
    envelope_records=batch_messages,  # a /v1/batch body saved as a file: each message inherits the batch's fields
    delivery_columns=("sent_at", "received_at"),  # a retry re-stamps them: not what the message says
    columns=(
        Column("message_id", "/messageId"),
        Column("type", "/type"),
        Column("event", "/event"),
        Column("name", "/name"),
        Column("anonymous_id", "/anonymousId"),
        Column("user_id", "/userId"),
        Column("timestamp", "/timestamp", TS),
        Column("sent_at", "/sentAt", TS),
        Column("received_at", "/receivedAt", TS),
        Column("context__user_agent", "/context/userAgent"),
        Column("context__ip", "/context/ip"),
        Column("context__page__url", "/context/page/url"),
        Column("context__page__path", "/context/page/path"),
        Column("context__page__referrer", "/context/page/referrer"),
        Column("context__page__title", "/context/page/title"),
        Column("properties", "/properties", JSON),
        Column("traits", "/traits", JSON),
    ),
)


@dlt.source(name="analytics")
def analytics_source(settings: Settings | None = None, transport: Literal["files"] = "files") -> DltResource:
    """Segment events from the settings' landing folder, analytics/events (settings read from the environment
    when none are given: the source is an entry point of its own)."""
    if transport != "files":
        raise ValueError("analytics reads landing files only: events reach them through the collector")
    return events(settings or get_settings())


@dlt.resource(
    name="events",
    table_name=routed_table,
    primary_key="message_id",
    write_disposition="append",
    schema_contract=SCHEMA_CONTRACT,
)
def events(settings: Settings) -> Iterator[Any]:
    """Segment messages, once per message_id (first delivery wins)."""
    landing = settings.landing_dir
    state = dlt.current.resource_state()
    yield from read_landing(
        EVENTS, "events", landing / "analytics" / "events", landing, state, dedup="first", settings=settings
    )
