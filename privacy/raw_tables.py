"""Erasure in the raw tables dlt loads: rows found by the identifiers the sources YAML declares.

A raw table's identifier columns are those of the registry (`privacy.registry`, the sources YAML's `pii` meta)
that a person can be looked up by (ids, emails, phones). A matching row is deleted whole, with its child tables
(a Shopify order's lines, refunds and codes), from the raw schema and from dlt's `<schema>_staging` copy; the
quarantine's lines are searched token by token, since they may not be JSON.
"""

from __future__ import annotations

import duckdb

from privacy.matching import columns, delete_where, subjects_list, token_subjects
from privacy.registry import PiiRegistry

CHILD_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "orders": (
        ("orders__line_items", "order_id"),
        ("orders__discount_codes", "order_id"),
        ("orders__refunds", "order_id"),
    ),
    "checkouts": (("checkouts__line_items", "checkout_id"),),
    "tickets": (("ticket_comments", "ticket_id"), ("ticket_comments__sentiment", "ticket_id")),
}
"""Child tables (table, parent key column) deleted with their parent row."""

QUARANTINE = "quarantine"
STAGING_SUFFIX = "_staging"
"""dlt's staging dataset of a raw schema: the same tables, merged from."""


def _declared_schema(schema: str) -> str:
    return schema.removesuffix(STAGING_SUFFIX)


def has_identifiers(registry: PiiRegistry, schema: str, table: str) -> bool:
    return any(c.is_source and c.subject_kinds for c in registry.of(_declared_schema(schema), table))


def raw_roots(registry: PiiRegistry, tables: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The raw tables (not dlt's staging copies) a person's identifiers are read from."""
    return [
        (s, t)
        for s, t in tables
        if s.startswith("raw_") and not s.endswith(STAGING_SUFFIX) and has_identifiers(registry, s, t)
    ]


def _pairs(con: duckdb.DuckDBPyConnection, registry: PiiRegistry, schema: str, table: str) -> list[tuple[str, str]]:
    """(ledger kind, SQL over row alias `t`) of the declared identifiers the raw table has columns for."""
    present = columns(con, schema, table)
    return [
        (kind, column.value_sql("t"))
        for column in registry.of(_declared_schema(schema), table)
        if column.is_source and column.column in present
        for kind in column.subject_kinds
    ]


def matched_rows_sql(con: duckdb.DuckDBPyConnection, registry: PiiRegistry, schema: str, table: str) -> str | None:
    """SQL of (row_id, request_id) of the rows of a raw table that match the erased subjects."""
    pairs = _pairs(con, registry, schema, table)
    if not pairs:
        return None
    return f"""
        SELECT row_id, min(e.request_id) AS request_id FROM (
            SELECT t.rowid AS row_id, unnest({subjects_list(pairs)}) AS s FROM "{schema}"."{table}" t
        ) JOIN erased_subjects e ON e.subject_kind = s.k AND e.subject_hash = s.h
        GROUP BY row_id
    """


def expand_by_rows(con: duckdb.DuckDBPyConnection, registry: PiiRegistry, roots: list[tuple[str, str]]) -> None:
    """Every identifier of a matching raw row becomes an erased subject (a contact found by email: its id and
    phones; an order found by email: its customer id)."""
    for schema, table in roots:
        matched = matched_rows_sql(con, registry, schema, table)
        if matched is None:
            continue
        con.execute(f"""
            INSERT OR IGNORE INTO erased_subjects
            SELECT DISTINCT s.h, s.k, m.request_id FROM (
                SELECT t.rowid AS row_id, unnest({subjects_list(_pairs(con, registry, schema, table))}) AS s
                FROM "{schema}"."{table}" t
            ) JOIN ({matched}) m USING (row_id)
            WHERE s.h IS NOT NULL
        """)


def delete_raw(
    con: duckdb.DuckDBPyConnection, registry: PiiRegistry, schema: str, table: str, tables: list[tuple[str, str]]
) -> int:
    """Delete the erased people's rows of one table of a raw schema (and their child rows); returns how many."""
    if table.startswith("_dlt_"):
        return 0
    if table == QUARANTINE:
        return delete_where(
            con,
            schema,
            table,
            f"""rowid IN (
            SELECT row_id FROM (SELECT rowid AS row_id, unnest({token_subjects("raw_line")}) AS s
                                FROM "{schema}"."{QUARANTINE}")
            SEMI JOIN erased_subjects e ON e.subject_kind = s.k AND e.subject_hash = s.h)""",
        )
    matched = matched_rows_sql(con, registry, schema, table) if has_identifiers(registry, schema, table) else None
    if matched is None:
        return 0
    deleted = 0
    for child, parent_key in CHILD_TABLES.get(table, ()):
        if (schema, child) in tables:
            deleted += delete_where(
                con,
                schema,
                child,
                f"""{parent_key} IN (
                SELECT t.id FROM "{schema}"."{table}" t WHERE t.rowid IN (SELECT row_id FROM ({matched})))""",
            )
    return deleted + delete_where(con, schema, table, f"rowid IN (SELECT row_id FROM ({matched}))")
