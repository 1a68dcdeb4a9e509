"""The loader's own casts, asked at the door: a message the collector accepts is one the loader can load.

`raw_analytics.events` types a few of a message's fields (its timestamps); the landing reader casts each
delivered value in DuckDB and quarantines a line whose value does not fit. A collector that judged timestamps
by another rule (Python's `fromisoformat` takes `20261206T100000Z` and `2026-W49-7`, DuckDB's TIMESTAMPTZ cast
does not) answered 200 for messages the loader then quarantined, and the client never knew. So the collector
asks DuckDB the reader's very SQL (`Column.misfit_sql` of ingestion/spec.py, for the columns of the same
`ingestion.sources.analytics.EVENTS` spec, in a session in UTC as the reader's): one rule, in one place.

The reader casts `json_extract_string(line, pointer)`; the collector casts `json_extract_string(value, '$')` of
the JSON text of the value at that pointer, which is the same string, and only once per distinct value of a
request (a batch's `sentAt` and `receivedAt` repeat). Sending DuckDB the few values instead of whole lines keeps
the check well under a millisecond a request with several clients at once.

`originalTimestamp` (Segment's name for a device's own time) is not a typed column of the table; the collector
holds it to the same timestamp rule, since downstream may read it as one.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import duckdb

from ingestion.sources.analytics import EVENTS
from ingestion.spec import Column, ColumnType, pointer_keys

_UNTYPED = (ColumnType.TEXT, ColumnType.JSON)
TYPED_FIELDS: tuple[Column, ...] = (
    *(column for column in EVENTS.columns if column.type not in _UNTYPED),
    Column("original_timestamp", "/originalTimestamp", ColumnType.TIMESTAMP),
)
"""The fields a message is checked for, each with the loader's column (name, JSON pointer, type)."""
_MISSING = object()


@dataclass(frozen=True)
class Misfit:
    """Why the loader would quarantine a message: the field (its Segment name) and the loader's own reason."""

    field: str
    reason: str


class LoaderContract:
    """Checks messages against the loader's typed columns in an in-memory DuckDB (one session per thread).

    Thread-safe: each calling thread gets its own cursor.
    """

    def __init__(self) -> None:
        self._database = duckdb.connect(":memory:", config={"threads": 1, "memory_limit": "256MB"})
        self._local = threading.local()
        value = "json_extract_string(v, '$')"  # the string the reader's json_extract_string(line, pointer) gives
        cases = " ".join(f"WHEN {i} THEN {column.misfit_sql(value)}" for i, column in enumerate(TYPED_FIELDS))
        self._sql = f"SELECT k, v, CASE k {cases} END FROM (SELECT unnest($1) AS k, unnest($2) AS v)"
        self.misfits([{"timestamp": "1970-01-01T00:00:00Z"}])  # DuckDB loads its JSON extension on first use

    def misfits(self, messages: list[dict[str, Any]]) -> list[list[Misfit]]:
        """Per message (in order), why the loader would quarantine it; an empty list for one it loads."""
        values: list[list[tuple[int, str]]] = []
        for message in messages:
            found = []
            for k, column in enumerate(TYPED_FIELDS):
                value = _at(message, column.path)
                if value is not _MISSING and value is not None:
                    found.append((k, json.dumps(value, ensure_ascii=False)))
            values.append(found)
        distinct = sorted({pair for found in values for pair in found})
        if not distinct:
            return [[] for _ in messages]
        keys, texts = zip(*distinct, strict=True)
        rows = self._cursor().execute(self._sql, [list(keys), list(texts)]).fetchall()
        reasons = {(k, v): reason for k, v, reason in rows if reason is not None}
        return [
            [Misfit(TYPED_FIELDS[k].path.lstrip("/"), reasons[(k, v)]) for k, v in found if (k, v) in reasons]
            for found in values
        ]

    def close(self) -> None:
        self._database.close()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._database.cursor()
            cursor.execute("SET TimeZone = 'UTC'")  # as the landing reader's session
            self._local.cursor = cursor
        return cursor


def _at(message: Any, pointer: str) -> Any:
    """The value at a JSON pointer (as the reader's spec writes them), or _MISSING."""
    node = message
    for key in pointer_keys(pointer):
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node
