"""Erasure in the tables dbt builds: every row holding an erased identifier in a column the models' YAML
declares personal (`pii` meta, `privacy.registry`).

Most dbt tables are rebuilt from raw by the run that follows an erasure anyway; incremental and stateful ones
(events, the identity assignment) keep rows across runs and would otherwise keep the person. The identity map
also widens a request: every record of the customer a matched record belongs to is that person too.
"""

from __future__ import annotations

import logging

import duckdb

from privacy.matching import clear_or_hash_in_ledger, columns, delete_where, subjects_list
from privacy.registry import SOURCE_ID_SUBJECT_KINDS, PiiColumn, PiiRegistry

log = logging.getLogger(__name__)

IDENTITY_TABLES = (("marts", "customer_identity_map"), ("intermediate", "int_identity_records_assigned"))
"""Where a record's customer is read from: the published map, else the stateful assignment it comes from."""
PROFILES = ("marts", "customer_profiles")
"""Its email finds a customer whose records hold another spelling of it."""


def model_relations(registry: PiiRegistry, tables: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The dbt tables of the warehouse with declared personal columns (views and ephemeral models hold none)."""
    declared = {(c.schema, c.relation) for c in registry.models}
    return [relation for relation in tables if relation in declared]


def _conditions(column: PiiColumn, present: set[str], table_sql: str) -> list[str]:
    """SQL conditions true on a row of `table_sql` whose `column` value is an erased subject, in clear or hashed
    (a `bi` model's masked column)."""
    if column.column not in present:
        return []
    value = column.value_sql(table_sql)
    if column.kind == "source_id" and column.source_system is None:
        if "source_system" not in present:
            log.warning("%s.%s.%s: source_id without a source_system", column.schema, column.relation, column.column)
            return []
        return [
            f"({table_sql}.source_system = '{system}' AND {clear_or_hash_in_ledger(kind, value)})"
            for system, kinds in SOURCE_ID_SUBJECT_KINDS.items()
            for kind in kinds
        ]
    return [clear_or_hash_in_ledger(kind, value) for kind in column.subject_kinds]


def delete_from_model(con: duckdb.DuckDBPyConnection, registry: PiiRegistry, schema: str, table: str) -> int:
    """Delete the rows of one dbt table that hold an erased identifier; returns how many."""
    present, table_sql = columns(con, schema, table), f'"{schema}"."{table}"'
    conditions = [sql for column in registry.of(schema, table) for sql in _conditions(column, present, table_sql)]
    if not conditions:
        return 0
    return delete_where(con, schema, table, " OR ".join(conditions))


def _record_subjects(alias: str) -> str:
    """SQL: the {k, h} structs of an identity map row: its source record's id and its customer id."""
    by_system = [
        f"CASE WHEN {alias}.source_system = '{system}' THEN {subjects_list([(kind, f'{alias}.source_id')])} END"
        for system, kinds in SOURCE_ID_SUBJECT_KINDS.items()
        for kind in kinds
    ]
    customer = subjects_list([("customer_id", f"{alias}.customer_id")])
    return f"list_filter(flatten([{', '.join(by_system)}, {customer}]), x -> x IS NOT NULL)"


def expand_by_identity_cluster(con: duckdb.DuckDBPyConnection, tables: list[tuple[str, str]]) -> None:
    """Every record of the customer a matched record belongs to (the identity map) becomes erased too."""
    source = next((f'"{s}"."{t}"' for s, t in IDENTITY_TABLES if (s, t) in tables), None)
    if source is None:
        return
    by_profile_email = ""
    if PROFILES in tables:
        by_profile_email = f"""
            UNION ALL
            SELECT p.customer_id, e.request_id FROM "{PROFILES[0]}"."{PROFILES[1]}" p
            JOIN erased_subjects e ON e.subject_kind = 'email' AND e.subject_hash = subject_hash_email(p.email)
        """
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE erased_customers AS
        SELECT customer_id, min(request_id) AS request_id FROM (
            SELECT r.customer_id, e.request_id
            FROM (SELECT m.customer_id, unnest({_record_subjects("m")}) AS s FROM {source} m) r
            JOIN erased_subjects e ON e.subject_kind = r.s.k AND e.subject_hash = r.s.h
            {by_profile_email}
        ) GROUP BY customer_id
    """)
    con.execute(f"""
        INSERT OR IGNORE INTO erased_subjects
        SELECT DISTINCT s.h, s.k, request_id
        FROM (SELECT c.request_id, unnest({_record_subjects("m")}) AS s
              FROM {source} m JOIN erased_customers c USING (customer_id))
        WHERE s.h IS NOT NULL
    """)
