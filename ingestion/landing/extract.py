"""Extraction: the declared columns of a batch's records cast to their types, their fields past the drift caps
as one JSON object, and their lists' items as child rows; each with the reasons a record or an item does not fit.

Each line is parsed once and each value cast once; the reason text is only built for records that fail.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from ingestion.landing.batch import Batch
from ingestion.landing.drift import escape_key
from ingestion.landing.sql import list_lit, lit, parse_once, summed
from ingestion.spec import OVERFLOW_COLUMN, ChildSpec, ColumnType, TableSpec


def _records(batch: Batch) -> str:
    """The batch's lines that are records (`src` less `nonrecord`), as SQL."""
    return f"src {'ANTI JOIN nonrecord USING (rid)' if batch.nonrecords else ''}"


def extract(con: duckdb.DuckDBPyConnection, spec: TableSpec, batch: Batch) -> None:
    """typed_<batch>: the declared columns cast to their types, child lists and drift fields as JSON text, and the
    reasons a record does not fit; sets `batch.typed_select`, the same extraction of any relation of lines."""
    strings = [c for c in spec.columns if c.type is not ColumnType.JSON]
    jsons = [c.path for c in spec.columns if c.type is ColumnType.JSON]
    jsons += [child.list_path for child in spec.children]
    jsons += [pointer for _, pointer in batch.drift]
    parsed, string_at, json_at = parse_once([c.path for c in strings], jsons)
    casts, columns, failures, reasons = [], [], [], []
    for i, column in enumerate(strings):
        delivered = string_at[i]
        casts.append(f'{column.cast_sql(delivered)} AS "{column.name}"')
        columns.append(f'"{column.name}"')
        if column.type is not ColumnType.TEXT:
            failed = f'{delivered} IS NOT NULL AND "{column.name}" IS NULL'
            failures.append(failed)
            reasons.append(column.misfit_sql(delivered, f'"{column.name}"'))
    json_names = [c.name for c in spec.columns if c.type is ColumnType.JSON]
    json_names += [f"__list_{i}" for i in range(len(spec.children))]
    json_names += [f"__drift_{i}" for i in range(len(batch.drift))]  # named on output
    for name, value in zip(json_names, json_at, strict=True):
        casts.append(f"nullif({value}::VARCHAR, 'null') AS \"{name}\"")
        columns.append(f'"{name}"')
    missing_key = f"{string_at[strings.index(spec.key_column)]} IS NULL"
    failures.insert(0, missing_key)
    reasons.insert(0, f"CASE WHEN {missing_key} THEN 'missing primary key {spec.primary_key}' END")
    for i, child in enumerate(spec.children):
        not_list = f"json_type(\"__list_{i}\") NOT IN ('ARRAY', 'NULL')"
        failures.append(not_list)
        reasons.append(f"CASE WHEN {not_list} THEN {lit(child.list_path.strip('/') + ' is not a list')} END")
    typed = f"""
        SELECT rid, file_idx, line_no, {", ".join(columns)},
               CASE WHEN {" OR ".join(f"({f})" for f in failures)}
                    THEN nullif(concat_ws('; ', {", ".join(reasons)}), '') END AS reason
        FROM (SELECT *, {", ".join(casts)} FROM (SELECT rid, file_idx, line_no, {parsed} FROM """

    def typed_select(lines: str) -> str:
        return f"{typed}{lines}))"

    batch.typed_select = typed_select
    con.execute(f"CREATE TEMP TABLE {batch.typed} AS {typed_select(_records(batch))}")


def extract_overflow(con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    """overflow_<batch> (rid, OVERFLOW_COLUMN): for the records holding `batch.overflow` fields, those fields as
    one JSON object keyed by their pointers. Keys reach DuckDB as data (a registered table), never as SQL text,
    so an empty key or a NUL in one is just a value here."""
    if not batch.overflow:
        return
    fields = pa.table(
        {
            "object": [obj for obj, _ in batch.overflow],
            "key": [key for _, key in batch.overflow],
            "field": [f"{obj}/{escape_key(key)}" for obj, key in batch.overflow],
        }
    )
    records = f"(SELECT rid, txt FROM {_records(batch)})"
    parts = [
        f"""SELECT r.rid, f.field, e.value
            FROM {records} r, json_each({"r.txt" if not obj else f"json_extract(r.txt, {lit(obj)})"}) e
            JOIN overflow_fields f ON f.object = {lit(obj)} AND f.key = e.key"""
        for obj in sorted({obj for obj, _ in batch.overflow})
    ]
    con.register("overflow_fields", fields)
    try:
        con.execute(f"""
            CREATE TEMP TABLE {batch.overflow_table} AS
            SELECT rid, '{{' || string_agg(to_json(field) || ':' || value, ',' ORDER BY field) || '}}'
                   AS "{OVERFLOW_COLUMN}"
            FROM ({" UNION ALL ".join(parts)}) GROUP BY rid
        """)
    finally:
        con.unregister("overflow_fields")


def extract_child(con: duckdb.DuckDBPyConnection, spec: TableSpec, batch: Batch, index: int, child: ChildSpec) -> None:
    """child_<i>: one row per list item of records that fit so far, with the item's own reasons."""
    plain = [c for c in child.columns if c.sum_over is None]
    selects, checks = [], ["CASE WHEN json_type(elem) <> 'OBJECT' THEN 'item is not an object' END"]
    for i, column in enumerate(plain, start=1):
        selects.append(f'{column.cast_sql(f"s[{i}]")} AS "{column.name}"')
        checks.append(column.misfit_sql(f"s[{i}]"))
    for column in child.columns:
        if column.sum_over is not None:
            value, check = summed(column)
            selects.append(f'{value} AS "{column.name}"')
            checks.append(check)
    names = [c.name for c in plain]
    for key in (k for k in child.primary_key if k != child.parent_key):
        i = names.index(key) + 1
        checks.append(f"CASE WHEN s[{i}] IS NULL THEN 'missing key {key}' END")
    label = lit(child.list_path.strip("/") + "[")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE child_{index} AS
        SELECT rid, file_idx, line_no, ord, parent_key AS "{child.parent_key}", {", ".join(selects)},
               nullif(concat_ws('; ', {", ".join(checks)}), '') AS item_reason,
               CASE WHEN item_reason IS NOT NULL THEN {label} || ord || '] ' || item_reason END AS reason
        FROM (SELECT rid, file_idx, line_no, parent_key, ord, elem,
                     json_extract_string(elem, {list_lit(c.path for c in plain)}) AS s
              FROM (SELECT rid, file_idx, line_no, parent_key, unnest(items) AS elem,
                           generate_subscripts(items, 1) AS ord
                    FROM (SELECT rid, file_idx, line_no, "{spec.primary_key}" AS parent_key,
                                 try_cast("__list_{index}" AS JSON[]) AS items
                          FROM {batch.typed} WHERE reason IS NULL)))
    """)
