"""The PostgreSQL serving target: the consumer schemas in a database BI tools connect to, access enforced by GRANTs.

Optional (SERVING_URL); the embedded DuckDB serving copy stays the default and the source of this target. The
publish reads `bi` and `activation` from the serving copy just published, after its erasure guard ran, so this
target never holds a row the copy does not; `marts`, with identifiers in clear, never leaves DuckDB.

A publish loads each schema into a staging schema (`bi__new`, `activation__new`) with COPY, then swaps them in
one transaction: drop the old schema, rename the new one, grant its reader role. A reader's query sees the old
tables or the new ones, never a mix, an empty table or an error (docs/serving.md: READ COMMITTED readers).

Two NOLOGIN group roles read it, each only its own schema: `bi_reader` the masked `bi`, `activation_reader` the
consented `activation` profiles. The publish creates them if missing, revokes from PUBLIC what would let them see
or create anything else (the `public` schema, temporary tables), and refuses to swap when a role could still use
another schema. People log in as members of these roles (docs/serving.md).
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import duckdb
import psycopg
import pyarrow.csv
from psycopg import errors, sql

from core.settings import Settings

logger = logging.getLogger(__name__)
_QUOTED = re.compile(r'"[^"]*"')

READER_ROLES = {"bi": "bi_reader", "activation": "activation_reader"}
"""Each published schema and the one role that may read it."""
STAGING_SUFFIX = "__new"
PUBLISH_LOCK = "email-warehouse serving publish"
"""Name of the advisory lock that keeps two publishes to one database from sharing staging schemas."""
BATCH_ROWS = 100_000
"""Rows per COPY chunk: bounds the memory one batch of CSV text takes."""
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")
CONNECT_TIMEOUT_S = 30
SOURCE = "serving_copy"
"""The name the DuckDB serving copy is attached under while it is read."""

# DuckDB type id -> PostgreSQL type. Unsigned integers and HUGEINT take the next type that holds every value.
_SCALAR_TYPES = {
    "boolean": "boolean",
    "tinyint": "smallint",
    "smallint": "smallint",
    "integer": "integer",
    "bigint": "bigint",
    "utinyint": "smallint",
    "usmallint": "integer",
    "uinteger": "bigint",
    "ubigint": "numeric(20, 0)",
    "hugeint": "numeric(39, 0)",
    "uhugeint": "numeric(39, 0)",
    "bignum": "numeric",
    "float": "real",
    "double": "double precision",
    "varchar": "text",
    "enum": "text",
    "blob": "bytea",
    "bit": "varbit",
    "uuid": "uuid",
    "date": "date",
    "time": "time",
    "time_ns": "time",
    "time with time zone": "timetz",
    "timestamp": "timestamp",
    "timestamp_s": "timestamp",
    "timestamp_ms": "timestamp",
    "timestamp_ns": "timestamp",
    "timestamp with time zone": "timestamptz",
    "interval": "interval",
}
_DOCUMENT_TYPES = ("struct", "map", "union")
"""Held as jsonb, as are lists of them and lists of lists (PostgreSQL arrays are rectangular and flat-typed)."""


@dataclass(frozen=True)
class PostgresPublished:
    target: str
    """The database, as its URL without the password: safe to log and show."""
    row_counts: dict[str, int]
    """Rows per `bi.*` / `activation.*` table, as loaded by COPY."""


class ServingTargetError(RuntimeError):
    """The PostgreSQL publish failed; the message never holds the URL's password, and the previous tables stay."""


def redact_url(url: str) -> str:
    """`url` with its password (in the user part or a `password=` parameter) replaced by `***`, for logs and
    errors; a URL too malformed to parse is shown as its scheme alone."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname or ""
            netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        query = urlencode([(k, "***" if k == "password" else v) for k, v in parse_qsl(parts.query, True)], safe="*")
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    except ValueError:
        return url.split("://", 1)[0] + "://***"


def _scrub(text: str, url: str) -> str:
    """`text` without any form of the URL's password (as given, or percent-decoded)."""
    try:
        parts = urlsplit(url)
        given = [parts.password, *(v for k, v in parse_qsl(parts.query, True) if k == "password")]
    except ValueError:
        given = [url]  # unparseable: the whole URL is the secret
    for secret in sorted({form for value in given if value for form in (value, unquote(value))}, key=len)[::-1]:
        text = text.replace(secret, "***")
    return text


def _describe(error: psycopg.Error) -> str:
    """The server's error without the values it quotes: a row that fails the load may hold an email. Where it
    failed (`COPY profiles, line 12, column email`) is kept; errors without diagnostics (connecting) in full."""
    primary = error.diag.message_primary
    if primary is None:
        return str(error)
    where = (error.diag.context or "").split("\n", 1)[0].split(": ", 1)[0]
    masked = _QUOTED.sub("«value»", primary)
    return f"{masked} ({error.diag.sqlstate})" + (f", at {where}" if where else "")


def publish_serving_target(settings: Settings, serving_copy: Path) -> PostgresPublished | None:
    """The serving asset's hook: publish `serving_copy` to SERVING_URL when one is configured, else nothing."""
    if not settings.serving_url:
        return None
    return publish_postgres(serving_copy, settings.serving_url)


def publish_postgres(
    serving_copy: Path,
    url: str,
    *,
    batch_rows: int = BATCH_ROWS,
    swap_timeout_s: float = 60.0,
) -> PostgresPublished:
    """Replace the `bi` and `activation` schemas of the database at `url` by those of the DuckDB `serving_copy`.

    Loads staging schemas, then swaps them in one transaction, retried for up to `swap_timeout_s` while readers
    hold the old tables: a reader's query delays a publish but is never cancelled by it, and waits for a swap
    only while the swap runs. Any failure leaves the previous tables in place and raises ServingTargetError,
    whose message holds neither the password nor the URL with it.
    """
    target = redact_url(url)
    failure: ServingTargetError | None = None
    try:
        row_counts = _publish(serving_copy, url, batch_rows, swap_timeout_s)
    except psycopg.Error as error:
        # Raised below, outside this handler: the driver's exception (whose text may quote the connection
        # string) must not travel along as the new error's __context__.
        failure = ServingTargetError(f"publishing the serving copy to {target} failed: {_scrub(_describe(error), url)}")
    except ServingTargetError as error:
        failure = ServingTargetError(_scrub(str(error), url))
    if failure is not None:
        raise failure
    logger.info("Published %d tables to %s", len(row_counts), target)
    return PostgresPublished(target=target, row_counts=row_counts)


def _publish(serving_copy: Path, url: str, batch_rows: int, swap_timeout_s: float) -> dict[str, int]:
    schemas = tuple(READER_ROLES)
    options = {"application_name": "email-warehouse publish"}
    if "connect_timeout" not in url:  # libpq's default waits as long as TCP does
        options["connect_timeout"] = CONNECT_TIMEOUT_S
    # Attached to a new in-memory database, not connected to: DuckDB hands a process that still has the path open
    # its cached instance, the file the publish has just replaced.
    with (
        duckdb.connect(":memory:") as source,
        psycopg.connect(url, autocommit=True, **options) as connection,
    ):
        source.execute(f"ATTACH {_duck_string(str(serving_copy))} AS {SOURCE} (READ_ONLY)")
        source.execute("SET TimeZone = 'UTC'")  # timestamptz values leave DuckDB with a +00 offset
        # Held until the connection closes: a second publisher waits here instead of dropping our staging schemas.
        connection.execute("SELECT pg_advisory_lock(hashtext(%s))", [PUBLISH_LOCK])
        ensure_reader_roles(connection)
        row_counts: dict[str, int] = {}
        for schema in schemas:
            row_counts |= _load_staging_schema(source, connection, schema, batch_rows)
        _swap_in(connection, schemas, swap_timeout_s)
    return row_counts


def ensure_reader_roles(connection: psycopg.Connection) -> None:
    """Create the reader roles if missing and take from PUBLIC what would let them see or create anything
    besides their schema (the `public` schema, temporary tables); fail if they still could.

    Needs a user that owns the database and has CREATEROLE (or roles created beforehand, docs/serving.md): the
    REVOKEs are on the whole database, which is why it must be one for serving only.
    """
    with connection.transaction():
        for role in READER_ROLES.values():
            if connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone() is None:
                connection.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
        database = sql.Identifier(connection.info.dbname)
        if connection.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'public'").fetchone():
            connection.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        connection.execute(sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(database))
        connection.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                database, sql.SQL(", ").join(sql.Identifier(role) for role in READER_ROLES.values())
            )
        )
        check_reader_access(connection, granted=False)


def check_reader_access(connection: psycopg.Connection, *, granted: bool) -> None:
    """Raise ServingTargetError unless each reader role can use its own schema (once `granted`) and nothing else:
    no other schema, no CREATE or TEMPORARY in the database, no superuser or row-security bypass."""
    problems = []
    for schema, role in READER_ROLES.items():
        usable = [
            name
            for (name,) in connection.execute(
                "SELECT nspname FROM pg_namespace WHERE has_schema_privilege(%s, oid, 'USAGE') "
                "AND nspname NOT IN (%s, %s) AND nspname NOT LIKE 'pg\\_%%' ORDER BY nspname",
                [role, *SYSTEM_SCHEMAS],
            ).fetchall()
        ]
        if usable != [schema] and (granted or usable):  # before the swap: the last publish's grant, or none
            problems.append(f"{role} can use schemas {usable}, not only {schema!r}")
        (create, temporary, superuser, bypass) = connection.execute(
            "SELECT has_database_privilege(%s, current_database(), 'CREATE'), "
            "has_database_privilege(%s, current_database(), 'TEMPORARY'), rolsuper, rolbypassrls "
            "FROM pg_roles WHERE rolname = %s",
            [role, role, role],
        ).fetchone()
        if create or temporary or superuser or bypass:
            problems.append(f"{role} may create schemas or temporary tables, or is a superuser")
    if problems:
        raise ServingTargetError(
            "the serving database exposes more than each reader's schema (it must be a database for serving only, "
            "owned by the publishing user: docs/serving.md): " + "; ".join(problems)
        )


def _load_staging_schema(
    source: duckdb.DuckDBPyConnection, connection: psycopg.Connection, schema: str, batch_rows: int
) -> dict[str, int]:
    """Every table of `schema` in the serving copy, loaded into `<schema>__new` (recreated empty first) in one
    committed transaction; readers have no grant on it. A schema the copy lacks is staged empty."""
    staging = sql.Identifier(schema + STAGING_SUFFIX)
    counts = {}
    with connection.transaction():
        connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(staging))
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(staging))
        for table in _source_tables(source, schema):
            source_table = f"{SOURCE}.{_duck(schema)}.{_duck(table)}"
            described = source.table(source_table)
            columns = list(zip(described.columns, described.types, strict=True))
            relation = sql.SQL("{}.{}").format(staging, sql.Identifier(table))
            definitions = (sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(postgres_type(t))) for n, t in columns)
            connection.execute(sql.SQL("CREATE TABLE {} ({})").format(relation, sql.SQL(", ").join(definitions)))
            values = ", ".join(text_expression(_duck(name), kind) for name, kind in columns)
            text = source.sql(f"SELECT {values} FROM {source_table}")
            counts[f"{schema}.{table}"] = _copy(connection, relation, text.fetch_record_batch(batch_rows))
            connection.execute(sql.SQL("ANALYZE {}").format(relation))
    return counts


def _copy(connection: psycopg.Connection, relation: sql.Composable, batches: Iterable) -> int:
    """COPY the CSV text of `batches` (every column already PostgreSQL's text input) into `relation`."""
    options = pyarrow.csv.WriteOptions(include_header=False)  # strings quoted, nulls empty: COPY's CSV
    with connection.cursor() as cursor:
        with cursor.copy(sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(relation)) as copy:
            for batch in batches:
                buffer = io.BytesIO()
                pyarrow.csv.write_csv(batch, buffer, options)
                copy.write(buffer.getbuffer())
        return cursor.rowcount


def _swap_in(connection: psycopg.Connection, schemas: Sequence[str], timeout_s: float) -> None:
    """In one transaction: drop each old schema, rename its staging schema in, grant its reader.

    The transaction first takes every old table's exclusive lock at once, NOWAIT, and starts over a moment later
    when a reader holds one. Waiting instead would hold some tables while waiting for others: a reader that reads
    two tables in the other order would deadlock with it, and PostgreSQL may cancel the reader's query. Retried
    for `timeout_s`; then ServingTargetError, and the previous tables stay.
    """
    deadline, pause = time.monotonic() + timeout_s, 0.02
    while True:
        try:
            with connection.transaction():
                _lock_tables_of(connection, schemas)
                for schema in schemas:
                    live, role = sql.Identifier(schema), sql.Identifier(READER_ROLES[schema])
                    connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(live))
                    connection.execute(
                        sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(schema + STAGING_SUFFIX), live)
                    )
                    connection.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(live))
                    connection.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM PUBLIC").format(live))
                    connection.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(live, role))
                    connection.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(live, role))
                check_reader_access(connection, granted=True)
            return
        except (errors.LockNotAvailable, errors.DeadlockDetected):
            if time.monotonic() + pause > deadline:
                raise ServingTargetError(
                    f"readers held the serving tables for {timeout_s:g} s without a pause: the new tables were not "
                    "swapped in, the previous ones stay"
                ) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


def _lock_tables_of(connection: psycopg.Connection, schemas: Sequence[str]) -> None:
    """ACCESS EXCLUSIVE on every relation of `schemas`, all or none (LockNotAvailable)."""
    relations = connection.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1, 2",
        [list(schemas)],
    ).fetchall()
    if relations:
        names = sql.SQL(", ").join(sql.Identifier(schema, name) for schema, name in relations)
        connection.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE NOWAIT").format(names))


def _source_tables(source: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    return [
        name
        for (name,) in source.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? ORDER BY table_name",
            [SOURCE, schema],
        ).fetchall()
    ]


def postgres_type(kind: duckdb.DuckDBPyType) -> str:
    """The PostgreSQL type of a DuckDB column: the same values, or jsonb for nested values, text for the rest."""
    if str(kind) == "JSON":
        return "jsonb"
    if kind.id == "decimal":
        precision, scale = (value for _, value in kind.children)
        return f"numeric({precision}, {scale})"
    if kind.id in ("list", "array"):
        element = kind.children[0][1]
        return "jsonb" if _is_document(element) else f"{postgres_type(element)}[]"
    if kind.id in _DOCUMENT_TYPES:
        return "jsonb"
    return _SCALAR_TYPES.get(kind.id, "text")


def text_expression(column: str, kind: duckdb.DuckDBPyType) -> str:
    """DuckDB SQL giving `column`'s values as PostgreSQL's text input of `postgres_type(kind)` (NULL stays NULL).

    Text loses NUL characters, which PostgreSQL's text cannot hold (replaced by U+FFFD).
    """
    if kind.id in ("list", "array") and not _is_document(kind.children[0][1]):
        element = text_expression("element", kind.children[0][1])
        quoted = f"""'"' || replace(replace({element}, '\\', '\\\\'), '"', '\\"') || '"'"""
        items = f"array_to_string(list_transform({column}, lambda element: coalesce({quoted}, 'NULL')), ',')"
        return f"CASE WHEN {column} IS NULL THEN NULL ELSE '{{' || coalesce({items}, '') || '}}' END"
    if postgres_type(kind) == "jsonb":
        return f"replace(CAST(to_json({column}) AS VARCHAR), '\\u0000', '\\ufffd')"
    if kind.id == "blob":
        return f"'\\x' || hex({column})"
    if kind.id in ("varchar", "enum") and str(kind) != "JSON":
        return f"replace(CAST({column} AS VARCHAR), chr(0), chr(65533))"
    return f"CAST({column} AS VARCHAR)"


def _is_document(kind: duckdb.DuckDBPyType) -> bool:
    return kind.id in (*_DOCUMENT_TYPES, "list", "array") or str(kind) == "JSON"


def _duck(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _duck_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
