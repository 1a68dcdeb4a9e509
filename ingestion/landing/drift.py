"""Schema drift: which column each field the spec does not declare gets, run after run, within the caps.

A field in a read object that the spec does not declare becomes a new text column holding the field's JSON
text. A field keeps its column in every later run (the resource state's `drift_columns`), and two fields whose
names normalize alike get two (`foo_bar`, `foo_bar_2`). Past the caps, or with a name that cannot name a column
(empty, blank, a NUL), a field is kept in the record's OVERFLOW_COLUMN (JSON) instead, and the run's report says
so.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from ingestion.spec import OVERFLOW_COLUMN, TableSpec

MAX_NEW_COLUMNS_PER_RUN = 200
"""Drift columns one run may add to a table; further new fields of the run are kept in OVERFLOW_COLUMN (JSON).
Every column a batch reads costs the reader's DuckDB memory (docs/ingestion.md), and a Shopify order brings
dozens of fields the spec does not read."""
MAX_DRIFT_COLUMNS = 500
"""Drift columns a table may get in all: past it every new field stays in OVERFLOW_COLUMN, so a client that puts
ids in field names (`{"order_123": ...}`) cannot widen a table run after run."""
DRIFT_COLUMNS_KEY = "drift_columns"
"""Resource-state key of the drift columns named so far (field pointer -> column): a field keeps its column in
every later run, and two fields whose names normalize alike never share one."""


class DriftColumns:
    """The drift columns of one resource run: those named by earlier runs (the resource state's, updated here)
    and the fields this run kept in OVERFLOW_COLUMN instead, for the report."""

    def __init__(self, spec: TableSpec, named: dict[str, str] | None = None) -> None:
        self.spec = spec
        self.named = named if named is not None else {}
        """Field pointer -> its drift column, for every field named so far."""
        self._new_columns = 0
        self._overflowed: dict[str, set[str]] = {"capped": set(), "unnamed": set()}
        """Pointers of the fields this run kept in OVERFLOW_COLUMN: past the drift caps, or not nameable."""

    def place(
        self, pointers: list[str], unknown: dict[tuple[int, str], int]
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Give each new field of a batch (index into `pointers`, key -> records holding it) its column, or keep
        it in OVERFLOW_COLUMN: returns the drift, (column, field pointer), and the overflow, (object pointer, key).

        A field named in an earlier run keeps its column. A new one gets a column while the run and the table are
        within MAX_NEW_COLUMNS_PER_RUN and MAX_DRIFT_COLUMNS, the fields most records hold first, and a name no
        other field has (`spec.drift_column_name`).
        """
        drift: list[tuple[str, str]] = []
        overflow: list[tuple[str, str]] = []
        taken = set(self.named.values())
        for (i, key), _ in sorted(unknown.items(), key=lambda item: (-item[1], item[0])):
            pointer = f"{pointers[i]}/{escape_key(key)}"
            name = self.named.get(pointer)
            if name is None:
                name = self.spec.drift_column_name(pointers[i], key, taken)
                if name is None:
                    self._overflowed["unnamed"].add(pointer)
                elif self._new_columns >= MAX_NEW_COLUMNS_PER_RUN or len(self.named) >= MAX_DRIFT_COLUMNS:
                    self._overflowed["capped"].add(pointer)
                    name = None
                else:
                    self.named[pointer] = name
                    taken.add(name)
                    self._new_columns += 1
            if name is None:
                overflow.append((pointers[i], key))
            else:
                drift.append((name, pointer))
        drift.sort(key=lambda column: column[1])
        overflow.sort()
        return drift, overflow

    def report(self, warn: Callable[[str], None]) -> None:
        """Warn about the fields this run kept in OVERFLOW_COLUMN instead of columns: once, with a few examples."""
        capped, unnamed = self._overflowed["capped"], self._overflowed["unnamed"]
        if capped:
            warn(
                f"{_fields(capped)} kept in {OVERFLOW_COLUMN} (JSON) instead of columns of their own: a run "
                f"adds at most {MAX_NEW_COLUMNS_PER_RUN} columns to a table, and drift gives a table at most "
                f"{MAX_DRIFT_COLUMNS} ({_examples(capped)})"
            )
        if unnamed:
            warn(
                f"{_fields(unnamed, '')} whose names cannot name a column (empty, blank or holding a NUL) kept in "
                f"{OVERFLOW_COLUMN} (JSON) ({_examples(unnamed)})"
            )
        capped.clear()
        unnamed.clear()


def escape_key(key: str) -> str:
    """`key` as one step of a JSON pointer (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def _fields(pointers: set[str], kind: str = "new ") -> str:
    return f"{len(pointers):,} {kind}field{'' if len(pointers) == 1 else 's'}"


def _examples(pointers: set[str], count: int = 3) -> str:
    """A few of the field `pointers`, shown as JSON strings (a NUL or a blank stays visible)."""
    shown = ", ".join(json.dumps(p) for p in sorted(pointers)[:count])
    return f"e.g. {shown}" + (", ..." if len(pointers) > count else "")
