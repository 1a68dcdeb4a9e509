"""Erasure in the data: find a person's records by the ledger's hashes, delete them, keep them from coming back.

The ledger (`privacy.ledger.ErasureLedger`) holds salted SHA-256 hashes only. Everything here compares
hashes computed in DuckDB (`install_subject_hash`, the same normalization and salt as `subject_hash`), so
matching stays vectorized and no identifier of an erased person is ever needed in clear text.

Three places use it:

- `drop_erased_lines`: the landing reader skips lines whose identifiers hash into the ledger (a re-delivered
  old file cannot bring a person back); such lines are counted as erased, never stored, never quarantined.
- `erase_from_warehouse`: before a run loads anything, expands each request to the person's other identifiers
  (the rows that matched, then their identity cluster), records those hashes in the ledger, and deletes the
  person's rows from raw tables (child tables and quarantine lines included), dlt's staging copies and every
  dbt table (incremental and stateful ones keep rows across runs; the others are rebuilt by dbt anyway).
- `resolve_subjects`: `warehouse erase` reads the serving copy to find the rest of a person's identifiers.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core.settings import Settings
from privacy.ledger import SUBJECT_KINDS, ErasureLedger, install_subject_hash, ledger_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identifier:
    """Where one identifier of a record sits: in the raw table (a column, or a key of its JSON column) and in
    the landing record (a JSON pointer)."""

    kind: str
    pointer: str
    column: str | None = None
    """Raw column holding it; None when the raw table keeps it only inside a drift column."""
    json_key: str | None = None
    """Set when `column` is a JSON column and the identifier is this key of it."""

    def raw_sql(self, alias: str) -> str:
        if self.json_key is None:
            return f'{alias}."{self.column}"'
        return f"json_extract_string({alias}.\"{self.column}\", '$.{self.json_key}')"


IDENTIFIERS: dict[str, tuple[Identifier, ...]] = {
    "contacts": (
        Identifier("crm_contact_id", "/id", "id"),
        Identifier("email", "/properties/email", "email"),
        Identifier("phone", "/properties/phone", "phone"),
        Identifier("phone", "/properties/mobilephone", "mobilephone"),
    ),
    "customers": (
        Identifier("shop_customer_id", "/id", "id"),
        Identifier("email", "/email", "email"),
        Identifier("phone", "/phone", "phone"),
        Identifier("phone", "/default_address/phone", "default_address__phone"),
    ),
    "orders": (
        Identifier("shop_customer_id", "/customer/id", "customer__id"),
        Identifier("email", "/email", "email"),
        Identifier("phone", "/phone", "phone"),
        Identifier("email", "/customer/email"),
        Identifier("email", "/contact_email"),
    ),
    "checkouts": (
        Identifier("shop_customer_id", "/customer/id", "customer__id"),
        Identifier("email", "/email", "email"),
        Identifier("email", "/customer/email"),
    ),
    "events": (
        Identifier("anonymous_id", "/anonymousId", "anonymous_id"),
        Identifier("user_id", "/userId", "user_id"),
        Identifier("email", "/traits/email", "traits", "email"),
        Identifier("email", "/properties/email", "properties", "email"),
        Identifier("email", "/context/traits/email"),
    ),
}
"""Per raw table (contract section 2), the identifiers a person can be recognised by."""

CHILD_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "orders": (
        ("orders__line_items", "order_id"),
        ("orders__discount_codes", "order_id"),
        ("orders__refunds", "order_id"),
    ),
    "checkouts": (("checkouts__line_items", "checkout_id"),),
}
"""Child tables (table, parent key column) deleted with their parent row."""

MODEL_COLUMNS: dict[str, str] = {
    "customer_id": "customer_id",
    "anonymous_id": "anonymous_id",
    "user_id": "user_id",
    "email": "email",
    "traits_email": "email",
    "phone_e164": "phone",
    "mobile_phone_e164": "phone",
    "contact_id": "crm_contact_id",
    "shop_customer_id": "shop_customer_id",
}
"""dbt table column -> identifier kind: a row of a model with any of these matching the ledger is deleted."""

SOURCE_SYSTEM_KINDS = {
    "crm": ("crm_contact_id",),
    "shop": ("shop_customer_id",),
    "analytics": ("anonymous_id", "user_id"),
}
"""`source_system` of the identity map -> the kinds its `source_id` is recorded under."""

DBT_SCHEMAS = ("staging", "intermediate", "marts", "snapshots")
"""Schemas of dbt tables (staging too: its models are tables, see dbt_project.yml)."""
TOKEN_KINDS = ("email", "phone", "crm_contact_id", "shop_customer_id", "anonymous_id", "user_id")
_TOKENS_SQL = (
    "list_concat("
    r"""regexp_extract_all({text}, '"((?:[^"\\]|\\.)*)"', 1), """
    r"""regexp_extract_all({text}, '[^\s"'',;:<>(){{}}\[\]]+@[^\s"'',;:<>(){{}}\[\]]+'), """
    r"""regexp_extract_all({text}, '\+?[0-9][0-9 ().-]{{5,}}[0-9]'))"""
)
"""Candidate identifiers inside a line that may not be JSON (truncated, broken): quoted strings, things that look
like emails, runs of digits that look like ids or phones."""


# ------------------------------------------------------------------------------------------------ the ledger


@dataclass(frozen=True)
class LedgerSnapshot:
    salt: str
    entries: list[tuple[str, str, str]]
    """(subject_hash, subject_kind, request_id)."""


def ledger_snapshot(settings: Settings | None = None) -> LedgerSnapshot | None:
    """The ledger's hashes now, or None when no erasure was ever requested (then nothing is created)."""
    if not ledger_path(settings).exists():
        return None
    ledger = ErasureLedger(settings)
    entries = ledger.entries()
    return LedgerSnapshot(salt=ledger.salt, entries=entries) if entries else None


def install_ledger(con: duckdb.DuckDBPyConnection, snapshot: LedgerSnapshot) -> None:
    """`erased_subjects(subject_hash, subject_kind, request_id)` and the hash macros, in `con` only."""
    install_subject_hash(con, snapshot.salt)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE erased_subjects "
        "(subject_hash VARCHAR, subject_kind VARCHAR, request_id VARCHAR, PRIMARY KEY (subject_hash, subject_kind))"
    )
    con.executemany("INSERT OR IGNORE INTO erased_subjects VALUES (?, ?, ?)", snapshot.entries)


def _subjects_list(pairs: list[tuple[str, str]]) -> str:
    """SQL list of {k, h} structs: (kind, value SQL) pairs hashed."""
    return "[" + ", ".join(f"{{'k': '{kind}', 'h': subject_hash_{kind}({value})}}" for kind, value in pairs) + "]"


def _token_subjects(text_sql: str) -> str:
    """SQL: the {k, h} structs of every candidate token of a text, hashed under every token kind."""
    tokens = _TOKENS_SQL.format(text=text_sql)
    hashed = ", ".join(f"{{'k': '{kind}', 'h': subject_hash_{kind}(t)}}" for kind in TOKEN_KINDS)
    return f"flatten(list_transform({tokens}, t -> [{hashed}]))"


# ------------------------------------------------------------------------------------------- landing reader


def drop_erased_lines(con: duckdb.DuckDBPyConnection, table: str, settings: Settings | None = None) -> int:
    """Mark the lines of erased people in the landing reader's batch as non-records; returns how many.

    Works on the reader's `src` view (rid, txt) and `nonrecord` table (rid, reason): an erased line gets a NULL
    reason there, like a blank line, so it becomes neither a row nor a quarantine entry and its text is kept
    nowhere. JSON lines are matched on the identifiers of `IDENTIFIERS[table]`; lines that are not JSON (which
    would otherwise be quarantined with their text) on every token that could be an identifier.
    """
    identifiers = IDENTIFIERS.get(table)
    snapshot = ledger_snapshot(settings) if identifiers else None
    if snapshot is None:
        return 0
    install_ledger(con, snapshot)
    pointers = [i.pointer for i in identifiers]
    pairs = [(i.kind, f"v[{n}]") for n, i in enumerate(identifiers, start=1)]
    pointer_list = "[" + ", ".join(f"'{p}'" for p in pointers) + "]"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE erased_lines AS
        SELECT DISTINCT rid FROM (
            SELECT rid, unnest(CASE WHEN v IS NULL OR not_a_record THEN {_token_subjects("txt")}
                                    ELSE {_subjects_list(pairs)} END) AS s
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


def erase_from_warehouse(warehouse: Path, settings: Settings | None = None) -> ErasureReport:
    """Delete every row of every erased person from the warehouse, in one transaction (see module docstring).

    Idempotent: a second pass finds nothing more to delete. Without a ledger it does not open the warehouse.
    """
    report = ErasureReport()
    snapshot = ledger_snapshot(settings)
    if snapshot is None or not warehouse.exists():
        return report
    report.requests = len({request for _, _, request in snapshot.entries})
    with duckdb.connect(str(warehouse)) as con:
        install_ledger(con, snapshot)
        tables = _tables(con)
        raw_roots = [
            (s, t) for s, t in tables if s.startswith("raw_") and not s.endswith("_staging") and t in IDENTIFIERS
        ]
        _expand_by_rows(con, raw_roots)
        _expand_by_identity_cluster(con, tables)
        _expand_by_rows(con, raw_roots)
        known = {(h, k) for h, k, _ in snapshot.entries}
        found = con.execute("SELECT subject_hash, subject_kind, request_id FROM erased_subjects").fetchall()
        new = [row for row in found if (row[0], row[1]) not in known]
        report.subjects_added = ErasureLedger(settings).record_hashes(new)
        report.subjects_known = len(found)
        con.execute("BEGIN TRANSACTION")
        for schema, table in tables:
            deleted = _delete(con, schema, table, tables)
            if deleted:
                report.rows_deleted[f"{schema}.{table}"] = deleted
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    log.info(
        "erasure: %d requests, %d identifiers, %d rows deleted from %d tables",
        report.requests, report.subjects_known, report.total_deleted, len(report.rows_deleted),
    )  # fmt: skip
    return report


def _tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND NOT temporary ORDER BY ALL"
    ).fetchall()


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = ? AND table_name = ?",
            [schema, table],
        ).fetchall()
    }


def _raw_pairs(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    """(kind, SQL over row alias `t`) of the identifiers the raw table has columns for."""
    columns = _columns(con, schema, table)
    return [(i.kind, i.raw_sql("t")) for i in IDENTIFIERS[table] if i.column is not None and i.column in columns]


def _matched_rows_sql(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str | None:
    """SQL of (row_id, request_id) of the rows of a raw root table that match the erased subjects."""
    pairs = _raw_pairs(con, schema, table)
    if not pairs:
        return None
    return f"""
        SELECT row_id, min(e.request_id) AS request_id FROM (
            SELECT t.rowid AS row_id, unnest({_subjects_list(pairs)}) AS s FROM "{schema}"."{table}" t
        ) JOIN erased_subjects e ON e.subject_kind = s.k AND e.subject_hash = s.h
        GROUP BY row_id
    """


def _expand_by_rows(con: duckdb.DuckDBPyConnection, raw_roots: list[tuple[str, str]]) -> None:
    """Every identifier of a matching raw row becomes an erased subject (a contact found by email: its id and
    phones; an order found by email: its customer id)."""
    for schema, table in raw_roots:
        matched = _matched_rows_sql(con, schema, table)
        if matched is None:
            continue
        pairs = _raw_pairs(con, schema, table)
        con.execute(f"""
            INSERT OR IGNORE INTO erased_subjects
            SELECT DISTINCT s.h, s.k, m.request_id FROM (
                SELECT t.rowid AS row_id, unnest({_subjects_list(pairs)}) AS s FROM "{schema}"."{table}" t
            ) JOIN ({matched}) m USING (row_id)
            WHERE s.h IS NOT NULL
        """)


IDENTITY_TABLES = (("marts", "customer_identity_map"), ("intermediate", "int_identity_records_assigned"))
"""Where a record's customer is read from: the published map, else the stateful assignment it comes from."""


def _record_subjects(alias: str) -> str:
    """SQL: the {k, h} structs of an identity map row: its source record's id and its customer id."""
    by_system = [
        f"CASE WHEN {alias}.source_system = '{system}' THEN {_subjects_list([(kind, f'{alias}.source_id')])} END"
        for system, kinds in SOURCE_SYSTEM_KINDS.items()
        for kind in kinds
    ]
    customer = _subjects_list([("customer_id", f"{alias}.customer_id")])
    return f"list_filter(flatten([{', '.join(by_system)}, {customer}]), x -> x IS NOT NULL)"


def _expand_by_identity_cluster(con: duckdb.DuckDBPyConnection, tables: list[tuple[str, str]]) -> None:
    """Every record of the customer a matched record belongs to (the identity map) becomes erased too."""
    source = next((f'"{s}"."{t}"' for s, t in IDENTITY_TABLES if (s, t) in tables), None)
    if source is None:
        return
    by_profile_email = ""
    if ("marts", "customer_profiles") in tables:
        by_profile_email = """
            UNION ALL
            SELECT p.customer_id, e.request_id FROM marts.customer_profiles p
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


def _delete(con: duckdb.DuckDBPyConnection, schema: str, table: str, tables: list[tuple[str, str]]) -> int:
    """Delete the erased rows of one table; returns how many."""
    if table.startswith("_dlt_"):
        return 0
    if schema.startswith("raw_"):
        if table == "quarantine":
            return _delete_where(
                con,
                schema,
                table,
                f"""rowid IN (
                SELECT row_id FROM (SELECT rowid AS row_id, unnest({_token_subjects("raw_line")}) AS s
                                    FROM "{schema}"."quarantine")
                SEMI JOIN erased_subjects e ON e.subject_kind = s.k AND e.subject_hash = s.h)""",
            )
        if table not in IDENTIFIERS:
            return 0
        matched = _matched_rows_sql(con, schema, table)
        if matched is None:
            return 0
        deleted = 0
        for child, parent_key in CHILD_TABLES.get(table, ()):
            if (schema, child) in tables:
                deleted += _delete_where(
                    con,
                    schema,
                    child,
                    f"""{parent_key} IN (
                    SELECT t.id FROM "{schema}"."{table}" t WHERE t.rowid IN (SELECT row_id FROM ({matched})))""",
                )
        return deleted + _delete_where(con, schema, table, f"rowid IN (SELECT row_id FROM ({matched}))")
    if schema not in DBT_SCHEMAS:
        return 0
    columns = _columns(con, schema, table)
    conditions = [_hash_in_ledger(kind, f'"{column}"') for column, kind in MODEL_COLUMNS.items() if column in columns]
    if {"source_system", "source_id"} <= columns:
        conditions += [
            f"(source_system = '{system}' AND {_hash_in_ledger(kind, 'source_id')})"
            for system, kinds in SOURCE_SYSTEM_KINDS.items()
            for kind in kinds
        ]
    if not conditions:
        return 0
    return _delete_where(con, schema, table, " OR ".join(conditions))


def _hash_in_ledger(kind: str, value_sql: str) -> str:
    ledger = f"SELECT subject_hash FROM erased_subjects WHERE subject_kind = '{kind}'"
    return f"subject_hash_{kind}({value_sql}) IN ({ledger})"


def _delete_where(con: duckdb.DuckDBPyConnection, schema: str, table: str, condition: str) -> int:
    (deleted,) = con.execute(f'DELETE FROM "{schema}"."{table}" WHERE {condition}').fetchone()
    return deleted


# ------------------------------------------------------------------------------------------- serving copy


def resolve_subjects(serving: Path, kind: str, value: str) -> list[tuple[str, str]]:
    """(kind, value) of every identifier the serving copy knows for the person `kind`/`value` names, itself
    included: the customer(s) it belongs to, their source records' ids, emails and phones. Read-only."""
    if kind not in ("email", "customer_id"):
        raise ValueError("a person is looked up by email or customer_id")
    subjects = {(kind, value.strip().lower() if kind == "email" else value.strip())}
    if not serving.exists():
        return sorted(subjects)
    with duckdb.connect(str(serving), read_only=True) as con:
        tables = {(s, t) for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
        customers: set[str] = set()
        if kind == "customer_id":
            customers.add(value.strip())
        else:
            for schema, table in (("marts", "customer_profiles"), ("marts", "dim_customers")):
                if (schema, table) in tables:
                    customers.update(
                        c for (c,) in con.execute(
                            f"SELECT DISTINCT customer_id FROM {schema}.{table} WHERE lower(trim(email)) = ?",
                            [value.strip().lower()],
                        ).fetchall()
                    )  # fmt: skip
        if not customers:
            return sorted(subjects)
        ids = list(customers)
        subjects.update(("customer_id", c) for c in ids)
        if ("marts", "customer_identity_map") in tables:
            for system, source_id in con.execute(
                "SELECT source_system, source_id FROM marts.customer_identity_map WHERE customer_id IN "
                "(SELECT unnest(?))",
                [ids],
            ).fetchall():
                subjects.update((k, source_id) for k in SOURCE_SYSTEM_KINDS.get(system, ()))
        if ("marts", "dim_customers") in tables:
            for email, phone in con.execute(
                "SELECT email, phone_e164 FROM marts.dim_customers WHERE customer_id IN (SELECT unnest(?))", [ids]
            ).fetchall():
                subjects.update(s for s in (("email", email), ("phone", phone)) if s[1])
        if ("marts", "customer_profiles") in tables:
            for (email,) in con.execute(
                "SELECT email FROM marts.customer_profiles WHERE customer_id IN (SELECT unnest(?))", [ids]
            ).fetchall():
                if email:
                    subjects.add(("email", email))
    return sorted(s for s in subjects if s[0] in SUBJECT_KINDS and s[1] and s[1].strip())


def count_by_kind(subjects: list[tuple[str, str]]) -> dict[str, int]:
    return dict(sorted(Counter(kind for kind, _ in subjects).items()))
