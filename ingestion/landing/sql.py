"""SQL builders of the landing reader: literals, the one-parse extraction of a line's fields, sums over lists.

Values only ever reach SQL text through `lit` (ingestion.spec's quoting); keys the data brings are passed to
DuckDB as registered tables instead (see `extract.extract_overflow`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import duckdb

from ingestion.spec import DECIMAL_PRECISION, DECIMAL_SCALE, SQL_TYPES, Column, pointer_keys, sql_literal

DLT_SQL_TYPES = {
    "text": "VARCHAR",
    "json": "VARCHAR",
    "bigint": "BIGINT",
    "bool": "BOOLEAN",
    "double": "DOUBLE",
    "timestamp": "TIMESTAMPTZ",
    "decimal": f"DECIMAL({DECIMAL_PRECISION},{DECIMAL_SCALE})",
}
"""SQL type of a null column the schema knows but a batch lacks (dlt data type -> DuckDB)."""


lit = sql_literal


def list_lit(items: Iterable[str]) -> str:
    return "[" + ", ".join(lit(i) for i in items) + "]"


def count(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    """Rows of `relation` (a table name or a parenthesized query)."""
    (n,) = con.execute(f"SELECT count(*) FROM {relation}").fetchone()
    return n


def parse_once(strings: Sequence[str], jsons: Sequence[str]) -> tuple[str, list[str], list[str]]:
    """SQL parsing `txt` once for every pointer: the select list, then per pointer the SQL of its value (the
    delivered text of `strings`, like `json_extract_string`; the JSON of `jsons`, like `json_extract`).

    One `from_json` into a struct of exactly these fields parses the line once and extracts them all (it
    matches keys case-sensitively and renders values as `json_extract_string` does). When the pointers do not
    form such a struct (a pointer inside another's value, or keys that differ only in case, which a struct
    cannot tell apart), two path-list extractions do the same with two parses.
    """
    structure = _structure([(p, "VARCHAR") for p in strings] + [(p, "JSON") for p in jsons])
    if structure is None:
        selects = f"json_extract_string(txt, {list_lit(strings)}) AS s"
        selects += f", json_extract(txt, {list_lit(jsons)}) AS j" if jsons else ""
        return selects, [f"s[{i}]" for i in range(1, len(strings) + 1)], [f"j[{i}]" for i in range(1, len(jsons) + 1)]

    def field(pointer: str) -> str:
        return "r" + "".join(f"[{lit(key)}]" for key in pointer_keys(pointer))

    return f"from_json(txt, {lit(json.dumps(structure))}) AS r", [field(p) for p in strings], [field(p) for p in jsons]


def _structure(leaves: Sequence[tuple[str, str]]) -> dict[str, Any] | None:
    """The `from_json` structure holding every (pointer, type) leaf, or None when no struct can."""
    root: dict[str, Any] = {}
    for pointer, kind in leaves:
        *parents, leaf = pointer_keys(pointer) or [None]
        if leaf is None:
            return None
        node = root
        for key in parents:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                return None
        if node.get(leaf, kind) != kind:
            return None
        node[leaf] = kind

    def distinct_ignoring_case(node: dict[str, Any]) -> bool:
        keys = [key.lower() for key in node if key]
        nested = [child for child in node.values() if isinstance(child, dict)]
        return len(set(keys)) == len(node) and all(distinct_ignoring_case(child) for child in nested)

    return root if distinct_ignoring_case(root) else None


def summed(column: Column) -> tuple[str, str]:
    """SQL summing `column.path` over the items of the list `column.sum_over`, and the check on each item."""
    items = f"try_cast(json_extract(elem, {lit(column.sum_over or '')}) AS JSON[])"
    cast = f"TRY_CAST(json_extract_string(x, {lit(column.path)}) AS {SQL_TYPES[column.type.value]})"
    value = f"coalesce(list_sum(list_transform({items}, x -> {cast})), 0)"
    bad = f"json_extract_string(x, {lit(column.path)}) IS NOT NULL AND {cast} IS NULL"
    check = (
        f"CASE WHEN coalesce(list_bool_or(list_transform({items}, x -> {bad})), false) "
        f"THEN {lit(column.name + ': a value is not a ' + column.type.value)} END"
    )
    return value, check
