"""Erasure in the data: find a person's records by the ledger's hashes, delete them, keep them from coming back.

What is a person's data is declared once, as dbt column `meta` (`privacy.registry`); the ledger
(`privacy.ledger`) holds salted hashes, matched in DuckDB (`privacy.matching`). Three places use it:

- `drop_erased_lines`: the landing reader skips lines whose identifiers hash into the ledger (a re-delivered
  old file cannot bring a person back); such lines are counted as erased, never stored, never quarantined.
- `erase_from_warehouse`: before a run loads anything, expands each request to the person's other identifiers
  (the raw rows that matched, then their identity cluster), records those hashes in the ledger, and deletes the
  person's rows from raw tables (`privacy.raw_tables`: child tables, quarantine lines and dlt's staging copies
  included) and from every dbt table with declared personal columns (`privacy.models`).
- `resolve_subjects`: `warehouse erase` reads the serving copy to find the rest of a person's identifiers, in
  the marts' columns the registry declares.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core.settings import Settings
from privacy.ledger import SUBJECT_KINDS, ErasureLedger
from privacy.matching import columns, install_ledger, ledger_snapshot, subjects_list, tables, token_subjects
from privacy.models import delete_from_model, expand_by_identity_cluster, model_relations
from privacy.raw_tables import delete_raw, expand_by_rows, raw_roots
from privacy.registry import SOURCE_ID_SUBJECT_KINDS, PiiColumn, PiiRegistry

log = logging.getLogger(__name__)

LANDING_IDENTIFIERS: dict[str, tuple[tuple[str, str], ...]] = {
    "contacts": (
        ("crm_contact_id", "/id"),
        ("email", "/properties/email"),
        ("phone", "/properties/phone"),
        ("phone", "/properties/mobilephone"),
    ),
    "customers": (
        ("shop_customer_id", "/id"),
        ("email", "/email"),
        ("phone", "/phone"),
        ("phone", "/default_address/phone"),
    ),
    "orders": (
        ("shop_customer_id", "/customer/id"),
        ("email", "/email"),
        ("phone", "/phone"),
        ("email", "/customer/email"),
        ("email", "/contact_email"),
    ),
    "checkouts": (
        ("shop_customer_id", "/customer/id"),
        ("email", "/email"),
        ("email", "/customer/email"),
    ),
    "events": (
        ("anonymous_id", "/anonymousId"),
        ("user_id", "/userId"),
        ("email", "/traits/email"),
        ("email", "/properties/email"),
        ("email", "/context/traits/email"),
    ),
    "members": (
        ("email", "/email_address"),
        ("phone", "/merge_fields/PHONE"),
    ),
    "email_activity": (("email", "/email_address"),),
    "webhook_events": (
        ("email", "/data/email"),
        ("email", "/data/old_email"),
        ("email", "/data/new_email"),
    ),
    "users": (
        ("helpdesk_user_id", "/id"),
        ("email", "/email"),
        ("phone", "/phone"),
    ),
    "tickets": (
        ("helpdesk_user_id", "/requester_id"),
        ("helpdesk_ticket_id", "/id"),
    ),
    "ticket_comments": (("helpdesk_ticket_id", "/ticket_id"),),
}
"""Per raw table, (ledger kind, JSON pointer) of the identifiers a delivered landing record holds: where the raw
columns the sources YAML declares come from (tests/privacy/test_registry.py holds them together), plus fields
that have no column of their own."""


# ------------------------------------------------------------------------------------------- landing reader


def drop_erased_lines(con: duckdb.DuckDBPyConnection, table: str, settings: Settings) -> int:
    """Mark the lines of erased people in the landing reader's batch as non-records; returns how many.

    Works on the reader's `src` view (rid, txt) and `nonrecord` table (rid, reason): an erased line gets a NULL
    reason there, like a blank line, so it becomes neither a row nor a quarantine entry and its text is kept
    nowhere. JSON lines are matched on the identifiers of `LANDING_IDENTIFIERS[table]`; lines that are not JSON
    (which would otherwise be quarantined with their text) on every token that could be an identifier.
    """
    identifiers = LANDING_IDENTIFIERS.get(table)
    snapshot = ledger_snapshot(settings) if identifiers else None
    if snapshot is None:
        return 0
    install_ledger(con, snapshot)
    pairs = [(kind, f"v[{n}]") for n, (kind, _) in enumerate(identifiers, start=1)]
    pointer_list = "[" + ", ".join(f"'{pointer}'" for _, pointer in identifiers) + "]"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE erased_lines AS
        SELECT DISTINCT rid FROM (
            SELECT rid, unnest(CASE WHEN v IS NULL OR not_a_record THEN {token_subjects("txt")}
                                    ELSE {subjects_list(pairs)} END) AS s
            FROM (SELECT rid, txt, try(json_extract_string(txt, {pointer_list})) AS v,
                         rid IN (SELECT rid FROM nonrecord WHERE reason IS NOT NULL) AS not_a_record
                  FROM src WHERE txt IS NOT NULL)
        ) JOIN erased_subjects e ON e.subject_kind = s.k AND e.subject_hash = s.h
    """)
    (erased,) = con.execute("SELECT count(*) FROM erased_lines").fetchone()
    if erased:
        con.execute("DELETE FROM nonrecord WHERE rid IN (SELECT rid FROM erased_lines)")
        con.execute("INSERT INTO nonrecord SELECT rid, NULL FROM erased_lines")
        log.info("%s: %d lines of erased people skipped", table, erased)
    return erased


# ---------------------------------------------------------------------------------------------- warehouse


@dataclass
class ErasureReport:
    """What one erasure pass did, in counts only."""

    requests: int = 0
    subjects_known: int = 0
    subjects_added: int = 0
    """Identifiers found in the warehouse for the requests and added to the ledger (as hashes)."""
    rows_deleted: dict[str, int] = field(default_factory=dict)
    """`schema.table` -> rows deleted."""

    @property
    def total_deleted(self) -> int:
        return sum(self.rows_deleted.values())


def erase_from_warehouse(warehouse: Path, settings: Settings, registry: PiiRegistry) -> ErasureReport:
    """Delete every row of every erased person from the warehouse, in one transaction (see module docstring).

    `registry` says which columns of which raw tables and dbt tables hold a person's data. Idempotent: a second
    pass finds nothing more to delete. Without a ledger it does not open the warehouse.
    """
    report = ErasureReport()
    snapshot = ledger_snapshot(settings)
    if snapshot is None or not warehouse.exists():
        return report
    report.requests = snapshot.requests
    with duckdb.connect(str(warehouse)) as con:
        install_ledger(con, snapshot)
        present = tables(con)
        roots = raw_roots(registry, present)
        expand_by_rows(con, registry, roots)
        expand_by_identity_cluster(con, present)
        expand_by_rows(con, registry, roots)
        known = {(h, k) for h, k, _ in snapshot.entries}
        found = con.execute("SELECT subject_hash, subject_kind, request_id FROM erased_subjects").fetchall()
        report.subjects_added = ErasureLedger(settings).record_hashes(row for row in found if row[:2] not in known)
        report.subjects_known = len(found)
        models = set(model_relations(registry, present))
        con.execute("BEGIN TRANSACTION")
        for schema, table in present:
            if schema.startswith("raw_"):
                deleted = delete_raw(con, registry, schema, table, present)
            else:
                deleted = delete_from_model(con, registry, schema, table) if (schema, table) in models else 0
            if deleted:
                report.rows_deleted[f"{schema}.{table}"] = deleted
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    log.info(
        "erasure: %d requests, %d identifiers, %d rows deleted from %d tables",
        report.requests, report.subjects_known, report.total_deleted, len(report.rows_deleted),
    )  # fmt: skip
    return report


# ------------------------------------------------------------------------------------------- serving copy


def resolve_subjects(serving: Path, kind: str, value: str, registry: PiiRegistry) -> list[tuple[str, str]]:
    """(kind, value) of every identifier the serving copy knows for the person `kind`/`value` names, itself
    included: the customer(s) it belongs to, and every identifier `registry` declares in a mart row of theirs
    (their records' ids, emails, phones, anonymous ids). Read-only."""
    if kind not in ("email", "customer_id"):
        raise ValueError("a person is looked up by email or customer_id")
    value = value.strip().lower() if kind == "email" else value.strip()
    subjects = {(kind, value)}
    if not serving.exists():
        return sorted(subjects)
    with duckdb.connect(str(serving), read_only=True) as con:
        marts = [_PersonColumns.of(con, registry, table) for schema, table in tables(con) if schema == MARTS_SCHEMA]
        people = [m for m in marts if m.customer_column is not None]
        customers = {value} if kind == "customer_id" else set()
        if kind == "email":
            for mart in people:
                customers.update(mart.customers_with_email(con, value))
        if customers:
            subjects.update(("customer_id", c) for c in customers)
            for mart in people:
                subjects.update(mart.identifiers(con, sorted(customers)))
    return sorted(s for s in subjects if s[0] in SUBJECT_KINDS and s[1] and s[1].strip())


MARTS_SCHEMA = "marts"
"""The serving copy's schema with identifiers in clear (`bi` holds hashes; `activation` a subset of marts)."""


@dataclass(frozen=True)
class _PersonColumns:
    """The declared personal columns of one mart of the serving copy, and the one naming its customer."""

    table: str
    customer_column: str | None
    declared: tuple[PiiColumn, ...]

    @classmethod
    def of(cls, con: duckdb.DuckDBPyConnection, registry: PiiRegistry, table: str) -> _PersonColumns:
        present = columns(con, MARTS_SCHEMA, table)
        declared = tuple(c for c in registry.of(MARTS_SCHEMA, table) if c.column in present and c.subject_kinds)
        customer = next((c.column for c in declared if c.kind == "customer_id" and c.json_key is None), None)
        return cls(table, customer, declared)

    @property
    def relation(self) -> str:
        return f'"{MARTS_SCHEMA}"."{self.table}"'

    def customers_with_email(self, con: duckdb.DuckDBPyConnection, email: str) -> set[str]:
        found: set[str] = set()
        for column in (c for c in self.declared if c.kind == "email"):
            found.update(
                customer for (customer,) in con.execute(
                    f'SELECT DISTINCT "{self.customer_column}" FROM {self.relation} t '
                    f"WHERE lower(trim({column.value_sql('t')})) = ?",
                    [email],
                ).fetchall() if customer
            )  # fmt: skip
        return found

    def identifiers(self, con: duckdb.DuckDBPyConnection, customers: list[str]) -> set[tuple[str, str]]:
        """(ledger kind, value) of every declared identifier in the rows of `customers`."""
        found: set[tuple[str, str]] = set()
        for column in self.declared:
            by_row_system = column.kind == "source_id" and column.source_system is None
            system_sql = "t.source_system" if by_row_system else "NULL"
            rows = con.execute(
                f"SELECT DISTINCT {system_sql}, CAST({column.value_sql('t')} AS VARCHAR) FROM {self.relation} t "
                f'WHERE t."{self.customer_column}" IN (SELECT unnest(?))',
                [customers],
            ).fetchall()
            for system, identifier in rows:
                kinds = SOURCE_ID_SUBJECT_KINDS.get(system, ()) if by_row_system else column.subject_kinds
                found.update((k, identifier) for k in kinds if identifier)
        return found


def count_by_kind(subjects: list[tuple[str, str]]) -> dict[str, int]:
    return dict(sorted(Counter(kind for kind, _ in subjects).items()))
