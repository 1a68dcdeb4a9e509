"""The serving group: a read-only copy of the marts for BI tools, replaced atomically after checks passed.

BI tools cannot read the warehouse while dlt or dbt write it (DuckDB: one writer, and no readers from other
processes meanwhile). They read `SERVING_PATH` instead: a separate DuckDB file holding only the marts. Each
publish writes a complete new file beside it and renames it over the old one (`os.replace`, atomic on one
file system), so a reader sees the old marts or the new ones, never a mix and never an error: a connection
opened before the rename keeps reading the old file until it closes.

Besides `marts`, the copy has the two consumer schemas of docs/contracts.md section 4, written into the same new
file before the rename: `bi` (every mart, direct identifiers replaced by salted hashes) and `activation` (the
consented, reachable, non-erased profiles and their segments, for the ESP sync).
"""

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb

from core.settings import Settings, erasure_salt, get_settings
from orchestration.automation import DOWNSTREAM_CONDITION
from orchestration.resources import OWNERS, WAREHOUSE_POOL, WarehouseResource
from privacy.erasure import install_ledger, ledger_snapshot
from privacy.ledger import install_subject_hash

MARTS_SCHEMA = "marts"
BI_SCHEMA = "bi"
ACTIVATION_SCHEMA = "activation"

LEDGER_KIND_COLUMNS = {
    "email": "email",
    "traits_email": "email",
    "phone": "phone",
    "phone_e164": "phone",
    "mobile_phone_e164": "phone",
    "anonymous_id": "anonymous_id",
    "user_id": "user_id",
}
"""Identifier columns hashed in `bi` exactly as the erasure ledger hashes them (same salt and normalization)."""
OTHER_IDENTIFIER_COLUMNS = frozenset(
    {"first_name", "last_name", "full_name", "address", "address1", "address_line", "postal_code", "zip",
     "date_of_birth", "source_id", "ip", "browser_ip"}
)  # fmt: skip
"""Further direct identifiers (names, address, date of birth, source-system ids), hashed with the column name as
their kind. `customer_id` stays: it is the warehouse's own pseudonym, and what BI joins on."""
VALID_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
"""A sendable address for `activation.profiles`; staging already nulls the invalid ones, this is the last guard."""

ConsumerSchemas = Callable[[duckdb.DuckDBPyConnection], dict[str, int]]
"""Writes further schemas into the new serving file from its `marts`; returns rows per `schema.table`."""


@dataclass(frozen=True)
class Published:
    path: Path
    row_counts: dict[str, int]
    consumer_row_counts: dict[str, int] = field(default_factory=dict)
    """Rows per `bi.*` / `activation.*` table."""


def remove_abandoned_publishes(serving: Path) -> list[Path]:
    """Delete the half-written files of publishes whose process is gone (killed before its rename).

    Their names carry the publisher's pid (`.<serving name>.<pid>.publishing`, and DuckDB's `.wal` beside it);
    a live publisher's file is never touched. Returns the files removed.
    """
    removed = []
    for leftover in serving.parent.glob(f".{serving.name}.*.publishing*"):
        pid = leftover.name[len(serving.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _process_exists(int(pid)):
            leftover.unlink(missing_ok=True)
            removed.append(leftover)
    return removed


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def publish_marts(
    warehouse: Path, serving: Path, schema: str = MARTS_SCHEMA, consumers: ConsumerSchemas | None = None
) -> Published:
    """Copy every table of `schema` from the warehouse into a new file, then atomically replace `serving`.

    `consumers` adds schemas derived from the copied marts to the same file before the rename. The new file is
    fully written and closed (checkpointed, no WAL left) before the rename. A failure on the way leaves the
    previous serving file untouched.
    """
    serving.parent.mkdir(parents=True, exist_ok=True)
    staging_file = serving.with_name(f".{serving.name}.{os.getpid()}.publishing")
    staging_file.unlink(missing_ok=True)
    remove_abandoned_publishes(serving)
    row_counts: dict[str, int] = {}
    consumer_row_counts: dict[str, int] = {}
    try:
        connection = duckdb.connect(str(staging_file))
        try:
            connection.execute(f"ATTACH {sql_string(str(warehouse))} AS warehouse (READ_ONLY)")
            tables = [
                name
                for (name,) in connection.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = 'warehouse' "
                    "AND schema_name = ? ORDER BY table_name",
                    [schema],
                ).fetchall()
            ]
            connection.execute(f'CREATE SCHEMA "{schema}"')
            for table in tables:
                connection.execute(f'CREATE TABLE "{schema}"."{table}" AS SELECT * FROM warehouse."{schema}"."{table}"')
                row_counts[table] = connection.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
            connection.execute("DETACH warehouse")
            if consumers is not None:
                consumer_row_counts = consumers(connection)
            connection.execute("CHECKPOINT")
        finally:
            connection.close()
        os.replace(staging_file, serving)
    finally:
        staging_file.unlink(missing_ok=True)
    return Published(path=serving, row_counts=row_counts, consumer_row_counts=consumer_row_counts)


def publish_serving(warehouse: Path, serving: Path, settings: Settings | None = None) -> Published:
    """The serving copy of contract section 4: `marts`, `bi` and `activation`, published atomically."""
    salt = erasure_salt(settings or get_settings())
    snapshot = ledger_snapshot(settings)

    def consumers(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
        install_subject_hash(connection, salt)
        if snapshot is not None:
            install_ledger(connection, snapshot)
        counts = write_bi_schema(connection, salt)
        counts.update(write_activation_schema(connection, erasures=snapshot is not None))
        return counts

    return publish_marts(warehouse, serving, consumers=consumers)


def bi_expression(column: str, salt: str) -> str | None:
    """SQL hashing `column` for `bi`, or None when the column is no direct identifier."""
    name = column.lower()
    if name in LEDGER_KIND_COLUMNS:
        return f'subject_hash_{LEDGER_KIND_COLUMNS[name]}("{column}")'
    if name in OTHER_IDENTIFIER_COLUMNS or name.endswith(("_email", "_phone", "_first_name", "_last_name")):
        value = f"nullif(trim(CAST({_quoted(column)} AS VARCHAR)), '')"
        return f"sha256({sql_string(salt)} || chr(31) || {sql_string(name)} || chr(31) || {value})"
    return None


def sql_string(text: str) -> str:
    """`text` as a SQL string literal: a path from settings may hold a quote."""
    return "'" + text.replace("'", "''") + "'"


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def write_bi_schema(connection: duckdb.DuckDBPyConnection, salt: str) -> dict[str, int]:
    """`bi.<mart>` for every mart: same rows and columns, direct identifiers replaced by stable salted hashes."""
    connection.execute(f"CREATE SCHEMA {BI_SCHEMA}")
    counts: dict[str, int] = {}
    for (table,) in connection.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? ORDER BY 1", [MARTS_SCHEMA]
    ).fetchall():
        columns = [
            name
            for (name,) in connection.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                "ORDER BY column_index",
                [MARTS_SCHEMA, table],
            ).fetchall()
        ]
        selects = [f"{bi_expression(c, salt) or _quoted(c)} AS {_quoted(c)}" for c in columns]
        connection.execute(
            f'CREATE TABLE {BI_SCHEMA}."{table}" AS SELECT {", ".join(selects)} FROM {MARTS_SCHEMA}."{table}"'
        )
        counts[f"{BI_SCHEMA}.{table}"] = connection.execute(f'SELECT count(*) FROM {BI_SCHEMA}."{table}"').fetchone()[0]
    return counts


def write_activation_schema(connection: duckdb.DuckDBPyConnection, erasures: bool) -> dict[str, int]:
    """`activation.profiles` and `activation.segments` (contract section 4) from the marts, if they exist.

    Only customers with email consent, a valid email, and neither email nor customer id in the erasure ledger
    (`erasures`: the ledger is installed in `connection`): the ESP sync re-checks all three before it sends.
    """
    marts = {t for (t,) in connection.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = ?", [MARTS_SCHEMA]
    ).fetchall()}  # fmt: skip
    if not {"customer_profiles", "customer_segments"} <= marts:
        return {}
    not_erased = ""
    if erasures:
        not_erased = """
          AND subject_hash_email(email) NOT IN (SELECT subject_hash FROM erased_subjects WHERE subject_kind = 'email')
          AND subject_hash_customer_id(customer_id) NOT IN
              (SELECT subject_hash FROM erased_subjects WHERE subject_kind = 'customer_id')"""
    connection.execute(f"CREATE SCHEMA {ACTIVATION_SCHEMA}")
    connection.execute(f"""
        CREATE TABLE {ACTIVATION_SCHEMA}.profiles AS
        SELECT customer_id, email, first_name, last_name, country_code, email_consent,
               email_consent_source AS consent_source, email_consent_at AS consent_updated_at,
               rfm_segment, r_score, f_score, m_score, lifetime_value, orders_count, last_order_at,
               favourite_category,
               greatest(email_consent_at, last_order_at, last_seen_at, last_abandoned_checkout_at) AS updated_at
        FROM {MARTS_SCHEMA}.customer_profiles
        WHERE email_consent IS TRUE AND email IS NOT NULL AND regexp_full_match(email, '{VALID_EMAIL}'){not_erased}
        ORDER BY customer_id
    """)
    connection.execute(f"""
        CREATE TABLE {ACTIVATION_SCHEMA}.segments AS
        SELECT s.customer_id, p.email, s.segment_name AS segment, s.reason, s.member_since AS since
        FROM {MARTS_SCHEMA}.customer_segments s JOIN {ACTIVATION_SCHEMA}.profiles p USING (customer_id)
        ORDER BY s.customer_id, s.segment_name
    """)
    return {
        f"{ACTIVATION_SCHEMA}.{t}": connection.execute(f"SELECT count(*) FROM {ACTIVATION_SCHEMA}.{t}").fetchone()[0]
        for t in ("profiles", "segments")
    }


def build_serving_asset(mart_keys: Sequence[dg.AssetKey]) -> dg.AssetsDefinition:
    """The `serving/marts` asset: depends on every mart, so runs only after their blocking checks passed."""

    @dg.asset(
        key=["serving", "marts"],
        deps=list(mart_keys),
        group_name="serving",
        owners=OWNERS,
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
        # Not plain eager(): automation would then publish marts whose blocking check failed after the run that
        # built them stopped short of publishing.
        automation_condition=DOWNSTREAM_CONDITION,
        description=(
            "Read-only copy of the marts (SERVING_PATH) with a masked `bi` schema for BI tools and the consented "
            "`activation` profiles for the ESP, replaced atomically after the marts' blocking checks passed. "
            "See docs/serving.md for which to connect where."
        ),
    )
    def serving_marts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        published = publish_serving(warehouse.warehouse, warehouse.serving)
        context.log.info("Published %d marts to %s", len(published.row_counts), published.path)
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(published.path)),
                "tables": len(published.row_counts),
                "row_counts": dg.MetadataValue.json(published.row_counts),
                "consumer_row_counts": dg.MetadataValue.json(published.consumer_row_counts),
            }
        )

    return serving_marts
