"""The API resources' cursor: a `dlt.sources.incremental` that the request applies and the reader advances.

HubSpot's search and Shopify's `updated_at_min` filter by the cursor on the server, and the reader hands dlt
parquet files rather than rows, so the incremental never filters an item itself: `advance(None)` lets every
item pass, and once the pages are read `advance()` pins its last value to the newest one the reader saw. dlt
keeps that value in the resource state (`incremental.<cursor path>`) and commits it with the load package,
as for any incremental; the next run asks the API for what changed since (inclusive: the merge absorbs the
records at the boundary).

Landing files never filter by the cursor (a late file would be dropped silently): `unfiltered` says so.

Before the incremental, the newest value was kept in the resource state under `api_cursor` (ISO-8601). The
first run after the upgrade starts from it and drops it, so that run neither reloads everything nor skips a
row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.sources import incremental

from core.settings import Settings
from ingestion.landing import API_CURSOR_KEY, read_pages
from ingestion.spec import TableSpec

LEGACY_CURSOR_KEY = API_CURSOR_KEY
"""The resource-state key of the cursor kept by hand before; `read_pages` still leaves its newest value there."""

Pages = Iterable[list[dict[str, Any]]]


def read_api(
    spec: TableSpec,
    resource: str,
    cursor: incremental[Any],
    fetch: Callable[[datetime | None], Pages],
    origin: str,
    settings: Settings,
) -> Iterator[Any]:
    """dlt items for the pages `fetch(since)` returns; `since` is the cursor's start, None on the first run."""
    if cursor.end_value is not None:
        raise ValueError(f"{resource}: the API transport asks from the cursor on; an end_value is not supported")
    state = dlt.current.resource_state()
    since = latest(cursor.start_value, state.pop(LEGACY_CURSOR_KEY, None))
    cursor.advance(None)
    try:
        yield from read_pages(spec, resource, fetch(since), origin, state, settings=settings)
    finally:
        cursor.advance(latest(since, state.pop(LEGACY_CURSOR_KEY, None)))


def unfiltered(cursor: incremental[Any]) -> None:
    """Landing files: every item passes; the cursor keeps no value, files keep their own marks."""
    cursor.advance(None)


def latest(*values: str | datetime | None) -> datetime | None:
    """The newest of cursor values given as datetimes or ISO-8601 text (naive ones taken as UTC); None if none."""
    moments = [_as_datetime(value) for value in values if value is not None]
    return max(moments, default=None)


def _as_datetime(value: str | datetime) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
