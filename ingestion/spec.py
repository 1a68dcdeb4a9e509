"""Table specs: each raw table's columns declared once, used for both the reader's SQL and dlt's column hints.

A `TableSpec` says where every contract column (docs/contracts.md section 2) sits in the delivered JSON and
which type it must have. The landing reader turns the spec into DuckDB extraction and validation SQL; the
dlt resources turn the same spec into column hints, so the SQL and the destination schema cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dlt.common.normalizers.naming.snake_case import NamingConvention

DECIMAL_PRECISION = 38
DECIMAL_SCALE = 9
"""dlt's default decimal: money arrives as strings with at most a few decimals, so nothing is rounded."""

_NAMING = NamingConvention()

SQL_TYPES = {
    "bigint": "BIGINT",
    "decimal": f"DECIMAL({DECIMAL_PRECISION},{DECIMAL_SCALE})",
    "timestamp": "TIMESTAMPTZ",
}
"""DuckDB type of each column type the reader casts to with TRY_CAST (text and JSON stay text; bool is spelt)."""


def sql_literal(text: str) -> str:
    """`text` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


class ColumnType(StrEnum):
    """The few types raw tables use (contract section 2): everything free-form stays text."""

    TEXT = "text"
    BIGINT = "bigint"
    DECIMAL = "decimal"
    BOOL = "bool"
    TIMESTAMP = "timestamp"
    JSON = "json"


@dataclass(frozen=True)
class Column:
    """One output column: its name, the JSON path of its value, its type.

    `path` is a JSON pointer relative to the record (or the list element, for child tables), e.g.
    `/properties/email`. `sum_over` names a list inside the element whose items' `path` values are summed
    (a refund's amount is the sum of its transactions).
    """

    name: str
    path: str
    type: ColumnType = ColumnType.TEXT
    sum_over: str | None = None

    def cast_sql(self, value: str) -> str:
        """The loader's rule for this column: SQL casting `value` (the SQL of the delivered string, as
        `json_extract_string` gives it) to the column's type, NULL when it does not fit.

        Text and JSON are taken as delivered; a bigint is digits with an optional minus (no `1e3`, no `7.0`), a
        bool exactly `true` or `false`; a decimal and a timestamp are whatever DuckDB's TRY_CAST takes. A
        timestamp without an offset is read in the session's time zone: run it in a session set to UTC, as the
        landing reader's and the collector's are. Whoever must judge a value as the loader does (the collector,
        at its door) runs this SQL in DuckDB instead of writing the rule again.
        """
        if self.type in (ColumnType.TEXT, ColumnType.JSON):
            return value
        if self.type is ColumnType.BIGINT:
            return f"CASE WHEN regexp_full_match({value}, '-?[0-9]+') THEN TRY_CAST({value} AS BIGINT) END"
        if self.type is ColumnType.BOOL:
            return f"CASE {value} WHEN 'true' THEN true WHEN 'false' THEN false END"
        return f"TRY_CAST({value} AS {SQL_TYPES[self.type.value]})"

    def misfit_sql(self, value: str, cast: str | None = None) -> str:
        """SQL of the reason the loader refuses `value` for this column (`updated_at: yesterday is not a
        timestamp`, the delivered text cut at 100 characters), NULL when it fits or is null.

        `cast` is the SQL of the value already cast by `cast_sql`, when the caller has it in a column: the cast
        is then not done twice."""
        if self.type in (ColumnType.TEXT, ColumnType.JSON):
            return "NULL"
        cast = cast or f"({self.cast_sql(value)})"
        prefix, suffix = sql_literal(f"{self.name}: "), sql_literal(f" is not a {self.type.value}")
        return f"CASE WHEN {value} IS NOT NULL AND {cast} IS NULL THEN {prefix} || left({value}, 100) || {suffix} END"

    def dlt_hint(self) -> dict[str, Any]:
        """Every column is nullable in the table: the reader quarantines a missing key before dlt sees it, and
        parquet files written by DuckDB mark every column optional, so matching hints let dlt import them as
        they are instead of rewriting them."""
        hint: dict[str, Any] = {"name": self.name, "data_type": self.type.value, "nullable": True}
        if self.type is ColumnType.DECIMAL:
            hint.update(precision=DECIMAL_PRECISION, scale=DECIMAL_SCALE)
        return hint


@dataclass(frozen=True)
class ChildSpec:
    """A list inside the parent record that becomes its own table, replaced per parent key on every load."""

    table: str
    """Full table name, `<parent>__<list>`."""
    list_path: str
    """JSON pointer of the list in the parent record, e.g. `/line_items`."""
    parent_key: str
    """Column carrying the parent's primary key, e.g. `order_id`."""
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, ...]:
        """The table's primary key: the declared one, else (parent key, list position).

        Every child table needs one: dlt replays a load job that was killed after its rows were committed,
        and only a key lets the merge collapse the rows the replay stages twice.
        """
        return self.primary_key or (self.parent_key, LIST_POSITION)

    def dlt_columns(self, parent_key_type: ColumnType) -> dict[str, dict[str, Any]]:
        """Column hints of the child table, in the order the reader writes them."""
        columns = {self.parent_key: Column(self.parent_key, "", parent_key_type).dlt_hint()}
        columns.update({c.name: c.dlt_hint() for c in self.columns})
        columns[LIST_POSITION] = {"name": LIST_POSITION, "data_type": "bigint", "nullable": True}
        columns.update({name: dict(hint) for name, hint in _LINEAGE_HINTS.items()})
        columns[CLEARS_PARENT] = {
            "name": CLEARS_PARENT, "data_type": "bool", "nullable": True, "hard_delete": True,
        }  # fmt: skip
        for name in self.key:
            columns[name]["primary_key"] = True
        columns[self.parent_key]["merge_key"] = True
        return columns


@dataclass(frozen=True)
class TableSpec:
    """A raw root table: its key, its columns, its child lists, and where unknown fields are looked for."""

    table: str
    primary_key: str
    columns: tuple[Column, ...]
    children: tuple[ChildSpec, ...] = ()
    cursor: str | None = None
    """Column whose newest value wins when one load holds several versions of a record."""
    envelope_keys: frozenset[str] = frozenset()
    """Keys of API envelopes (`{"orders": [...]}`, `{"order": {...}}`) whose content are the records. Other keys
    beside the one holding the list are the envelope's metadata (`paging`, `total`, a Segment batch's `sentAt`)."""
    envelope_records: Callable[[dict[str, Any], list[Any]], list[Any]] | None = None
    """How the records of an envelope take its metadata: called with the envelope and its list, returns the
    records to read (a Segment batch gives each message its context and sentAt), or raises ValueError with the
    reason the envelope cannot be read, which quarantines it whole. None: the records are read as they are."""
    delivery_columns: tuple[str, ...] = ()
    """Columns a delivery stamps, which a retry of the same record changes (Segment's `sentAt`, `receivedAt`):
    left out when two deliveries of one key are compared for their content."""
    drift_prefixes: dict[str, str] = field(default_factory=dict)
    """Object pointer -> column-name prefix for unknown fields found there; the default is dlt's `__` path."""

    @property
    def key_column(self) -> Column:
        return next(c for c in self.columns if c.name == self.primary_key)

    def dlt_columns(self) -> dict[str, dict[str, Any]]:
        """Column hints for the root table, in the order the reader writes them: declared columns, then lineage."""
        columns = {c.name: c.dlt_hint() for c in self.columns}
        columns[self.primary_key]["primary_key"] = True
        if self.cursor:
            columns[self.cursor]["dedup_sort"] = "desc"
        columns.update({name: dict(hint) for name, hint in _LINEAGE_HINTS.items()})
        return columns

    def object_paths(self) -> dict[str, set[str]]:
        """Every JSON object the spec reads from (pointer -> keys known there): drift is sought there.

        Lists that feed child tables and columns stored whole (JSON) count as known keys of their parent
        object; their insides are not looked into.
        """
        known: dict[str, set[str]] = {"": set()}
        pointers = [c.path for c in self.columns] + [child.list_path for child in self.children]
        for pointer in pointers:
            parts = pointer.strip("/").split("/")
            for depth, part in enumerate(parts):
                parent = "/" + "/".join(parts[:depth]) if depth else ""
                known.setdefault(parent, set()).add(_unescape_pointer(part))
        return known

    def drift_column_name(self, object_pointer: str, key: str, taken: Collection[str] = ()) -> str | None:
        """Name of the column for an unknown field `key` found in the object at `object_pointer`, or None when
        the key cannot name a column (empty, blank, or holding a NUL, which SQL text cannot carry): such a field
        is kept in OVERFLOW_COLUMN instead.

        dlt's naming folds several keys into one name (`Foo Bar`, `foo_bar`, `foo bar`): a name in `taken` (the
        drift columns other keys already have) gets the first free suffix `_2`, `_3`, ..., so no two keys ever
        share a column and no value overwrites another.
        """
        if not key.strip() or "\x00" in key:
            return None
        prefix = self.drift_prefixes.get(object_pointer)
        if prefix is None:
            parts = [_unescape_pointer(p) for p in object_pointer.strip("/").split("/") if p]
            prefix = "".join(f"{_NAMING.normalize_identifier(p)}__" for p in parts)
        try:
            name = prefix + _NAMING.normalize_identifier(key)
        except ValueError:  # dlt's naming refuses what normalizes to nothing
            return None
        declared = {c.name for c in self.columns} | set(_LINEAGE_HINTS) | {OVERFLOW_COLUMN}
        if name in declared:
            name = f"{_NAMING.normalize_identifier(object_pointer.strip('/') or 'extra')}__{name}"
        base, suffix = name, 1
        while name in declared or name in taken:
            suffix += 1
            name = f"{base}_{suffix}"
        return name


def json_pointer(*keys: str) -> str:
    """JSON pointer of nested keys, escaped per RFC 6901 so any key name is safe inside SQL paths."""
    return "".join("/" + k.replace("~", "~0").replace("/", "~1") for k in keys)


def _unescape_pointer(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def pointer_keys(pointer: str) -> list[str]:
    """The object keys of a JSON pointer (`/context/page/url` -> context, page, url), unescaped."""
    return [_unescape_pointer(part) for part in pointer.split("/")[1:]]


LIST_POSITION = "_dlt_list_idx"
"""Child tables: the item's position in its parent's list (from 1; dlt's own name for it)."""
CLEARS_PARENT = "_clears_parent"
"""Child tables' hard-delete column. The reader writes one marker row (parent key set, this column true) for a
parent whose new version has an empty list: the merge deletes the parent's old items by merge key and never
inserts the marker, so the column is always null in the table."""

LINEAGE_COLUMNS = ("_source_file", "_source_line", "_dlt_load_id", "_dlt_id")
"""Where a row was read and which load wrote it: not part of what the record says."""

_LINEAGE_HINTS: dict[str, dict[str, Any]] = {
    "_source_file": {"name": "_source_file", "data_type": "text", "nullable": True},
    "_source_line": {"name": "_source_line", "data_type": "bigint", "nullable": True},
    "_dlt_load_id": {"name": "_dlt_load_id", "data_type": "text", "nullable": True},
    "_dlt_id": {"name": "_dlt_id", "data_type": "text", "nullable": True, "unique": True},
}
"""Columns every row carries (contract section 2). The reader fills `_dlt_load_id` and `_dlt_id` itself, in
DuckDB, so dlt imports its parquet files as they are instead of rewriting them to add the ids."""

OVERFLOW_COLUMN = "_overflow_fields"
"""Root tables: the fields of a record that have no column of their own, as one JSON object keyed by each
field's JSON pointer (`{"/properties/": "x", "/k1234": 5}`): fields whose name cannot be a column (empty, blank,
holding a NUL) and new fields past the drift caps of ingestion/landing/drift.py. Null when a record has none."""

QUARANTINE_TABLE = "quarantine"
QUARANTINE_COLUMNS: dict[str, dict[str, Any]] = {
    "source_file": {"name": "source_file", "data_type": "text", "nullable": True, "primary_key": True},
    "source_line": {"name": "source_line", "data_type": "bigint", "nullable": True, "primary_key": True},
    "resource": {"name": "resource", "data_type": "text", "nullable": True},
    "raw_line": {"name": "raw_line", "data_type": "text", "nullable": True},
    "reason": {"name": "reason", "data_type": "text", "nullable": True},
    "quarantined_at": {"name": "quarantined_at", "data_type": "timestamp", "nullable": True},
    **{name: dict(hint) for name, hint in _LINEAGE_HINTS.items() if name.startswith("_dlt")},
}
"""raw_<system>.quarantine: keyed by where the line was read, so re-reading a file does not duplicate it."""
