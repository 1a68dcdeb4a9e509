"""The PostgreSQL serving target (serving/postgres.py) against a real server: it holds exactly the serving copy's
`bi` and `activation`, swaps them in atomically, each reader role reads its own schema and nothing else, and the
password in SERVING_URL is never shown."""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import threading
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import duckdb
import psycopg
import pytest
from psycopg import errors, sql

from core.settings import get_settings
from serving.postgres import READER_ROLES, ServingTargetError, publish_postgres, publish_serving_target, redact_url
from serving.publish import publish_schemas
from tests.serving.conftest import SUPERUSER_PASSWORD, PostgresServer
from tests.serving.marts import create_marts, mart_contracts

SCHEMAS = ("marts", "bi", "activation")
_names = itertools.count()

TYPE_ZOO = """
CREATE TABLE bi.type_zoo AS SELECT * FROM (VALUES
    (1, true, 2::TINYINT, 3::UBIGINT, 170141183460469231731687303715884105727::HUGEINT, 1.5::FLOAT, 'inf'::DOUBLE,
     12.34::DECIMAL(18, 2), 'quote " comma , newline
 backslash \\ done', '', DATE '2026-11-23', TIME '12:34:56', TIMESTAMP '2026-11-23 12:00:00.123456',
     TIMESTAMPTZ '2026-11-23 12:00:00+02', INTERVAL '1 day 2 hours', '\\xDE\\xAD'::BLOB,
     'e3b0c442-98fc-1c14-9afb-f4c8996fb924'::UUID, ['a"b', NULL, 'c\\d', ''], [1, 2], []::INTEGER[],
     [DATE '2026-01-01'], [[1], [2, 3]], {'n': 1, 's': 'x'}, MAP {'k': 1}, '{"a": [1, null]}'::JSON),
    (2, NULL, NULL, NULL, NULL, NULL, '-inf'::DOUBLE, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) AS t(id, flag, tiny, unsigned_big, huge, single, precise, amount, words, empty_text, day, clock, moment,
       instant, span, bytes, uuid, texts, numbers, no_numbers, days, nested, record, mapping, document)
"""
"""Every kind of DuckDB value a mart could hold, with the text that trips CSV and array literals up."""
ZOO_TYPES = {
    "id": "integer", "flag": "boolean", "tiny": "smallint", "unsigned_big": "numeric(20,0)",
    "huge": "numeric(39,0)", "single": "real", "precise": "double precision", "amount": "numeric(18,2)",
    "words": "text", "empty_text": "text", "day": "date", "clock": "time without time zone",
    "moment": "timestamp without time zone", "instant": "timestamp with time zone", "span": "interval",
    "bytes": "bytea", "uuid": "uuid", "texts": "text[]", "numbers": "integer[]", "no_numbers": "integer[]",
    "days": "date[]", "nested": "jsonb", "record": "jsonb", "mapping": "jsonb", "document": "jsonb",
}  # fmt: skip


def serving_copy(root: Path, version: int, rows: int) -> Path:
    """A serving copy published by `serving.publish` from marts shaped by their contracts: `bi` holds every mart
    (the contracts' types) and the type zoo, `activation.profiles` carries `version` in each of `rows + version`
    rows."""
    root.mkdir(parents=True, exist_ok=True)
    warehouse, serving = root / f"warehouse{version}.duckdb", root / f"serving{version}.duckdb"
    profile = {"customer_id": f"cus_{version}", "email": f"v{version}@example.com", "email_consent": True,
               "email_consent_at": datetime(2026, 11, version, 8, 30), "orders_count": version,
               "lifetime_value": Decimal("12.30") * version, "rfm_segment": "Champions"}  # fmt: skip
    order = {"order_key": f"o{version}", "order_id": version, "order_date": date(2026, 11, version),
             "rate_to_reporting": Decimal("1.0812345678"), "refunded_amount": Decimal("0.00")}  # fmt: skip
    create_marts(warehouse, {"customer_profiles": [profile], "fct_orders": [order]})
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("CREATE SCHEMA bi; CREATE SCHEMA activation")
        for mart in mart_contracts():
            connection.execute(f"CREATE TABLE bi.{mart} AS SELECT * FROM marts.{mart}")
        connection.execute(TYPE_ZOO)
        connection.execute(
            "CREATE TABLE activation.profiles AS SELECT 'cus_' || range AS customer_id, "
            f"'p' || range || '@example.com' AS email, {version} AS version FROM range({rows + version})"
        )
    publish_schemas(warehouse, serving, SCHEMAS)
    return serving


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Serving copies of versions 1, 2 and 3, with 5,000 and some activation profiles (built once: the tests
    only read them)."""
    root = tmp_path_factory.mktemp("serving_copies")
    return {version: serving_copy(root, version, rows=5_000) for version in (1, 2, 3)}


@pytest.fixture
def database(postgres_server: PostgresServer) -> Iterator[str]:
    """A new, empty database of the test server for one test: its SERVING_URL (the superuser's)."""
    name = f"serving_{next(_names)}"
    with psycopg.connect(postgres_server.url("postgres"), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield postgres_server.url(name)


def duckdb_rows(path: Path, schema: str, tables: Sequence[str]) -> dict[str, list[tuple]]:
    """table -> its rows in a serving copy, as psycopg returns PostgreSQL's (JSON parsed, as jsonb is), sorted."""
    rows = {}
    with duckdb.connect(str(path), read_only=True) as connection:
        connection.execute("SET TimeZone = 'UTC'")
        for table in tables:
            relation = connection.table(f'{schema}."{table}"')
            is_json = [str(kind) == "JSON" for kind in relation.types]
            rows[table] = sorted(
                (
                    tuple(
                        json.loads(v) if parse and v is not None else v for v, parse in zip(row, is_json, strict=True)
                    )
                    for row in relation.fetchall()
                ),
                key=str,
            )
    return rows


def postgres_rows(url: str, schema: str, tables: Sequence[str]) -> dict[str, list[tuple]]:
    """table -> its rows in the database at `url`, in the order `duckdb_rows` sorts them."""
    with psycopg.connect(url) as connection:
        connection.execute("SET TimeZone TO 'UTC'")
        query = sql.SQL("SELECT * FROM {}")
        return {
            table: sorted(connection.execute(query.format(sql.Identifier(schema, table))).fetchall(), key=str)
            for table in tables
        }


def postgres_tables(url: str) -> set[tuple[str, str]]:
    with psycopg.connect(url) as connection:
        return set(
            connection.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
            ).fetchall()
        )


def add_login(url: str, group: str) -> tuple[str, str]:
    """A login user in `group`, as docs/serving.md creates one; returns (user, password)."""
    user, password = f"{group}_user_{next(_names)}", "reader pw"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(user), sql.Literal(password), sql.Identifier(group)
            )
        )
    return user, password


def test_postgres_holds_the_serving_copys_bi_and_activation_after_each_publish(
    database: str, copies: dict[int, Path]
) -> None:
    for version in (1, 2):
        copy = copies[version]

        published = publish_postgres(copy, database)

        with duckdb.connect(str(copy), read_only=True) as connection:
            expected = set(connection.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('bi', 'activation')"
            ).fetchall())  # fmt: skip
        assert postgres_tables(database) == expected, "no marts, no staging schemas, nothing left of the last publish"
        for schema in READER_ROLES:
            tables = sorted(table for s, table in expected if s == schema)
            loaded, copied = postgres_rows(database, schema, tables), duckdb_rows(copy, schema, tables)
            for table in tables:
                assert loaded[table] == copied[table], f"{schema}.{table}"
                assert published.row_counts[f"{schema}.{table}"] == len(copied[table])
        assert len(published.row_counts) == len(expected)
    assert {row[2] for row in postgres_rows(database, "activation", ["profiles"])["profiles"]} == {2}


def test_a_process_that_still_holds_the_previous_copy_open_publishes_the_new_one(
    database: str, copies: dict[int, Path], tmp_path: Path
) -> None:
    serving = tmp_path / "serving.duckdb"
    shutil.copy(copies[1], serving)
    with duckdb.connect(str(serving), read_only=True):  # DuckDB would hand a new connection this open instance
        shutil.copy(copies[2], tmp_path / "next.duckdb")
        (tmp_path / "next.duckdb").replace(serving)  # as serving.publish swaps the copy in

        publish_postgres(serving, database)

    assert {row[2] for row in postgres_rows(database, "activation", ["profiles"])["profiles"]} == {2}


def test_duckdb_types_become_postgres_types_that_hold_the_same_values(database: str, copies: dict[int, Path]) -> None:
    publish_postgres(copies[1], database)

    with psycopg.connect(database) as connection:
        types = dict(
            connection.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = 'bi.type_zoo'::regclass AND attnum > 0"
            ).fetchall()
        )
        amount = connection.execute("SELECT lifetime_value FROM bi.customer_profiles").fetchone()[0]
    assert {name: kind.replace(", ", ",") for name, kind in types.items()} == ZOO_TYPES
    assert amount == Decimal("12.30")


def test_a_reader_sees_the_old_or_the_new_tables_never_an_error_or_a_mix(
    database: str, copies: dict[int, Path]
) -> None:
    publish_postgres(copies[1], database)
    reads: list[tuple] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        # A BI tool's pooled connection: one statement reading both schemas, again and again.
        with psycopg.connect(database, autocommit=True) as connection:
            while not stop.is_set():
                try:
                    reads.append(connection.execute(
                        "SELECT min(version), max(version), count(*), "
                        "(SELECT min(email_consent_at) FROM bi.customer_profiles) FROM activation.profiles"
                    ).fetchone())  # fmt: skip
                except psycopg.Error as error:
                    failures.append(error)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for version in (2, 3):
            publish_postgres(copies[version], database)
    finally:
        stop.set()
        reader.join(timeout=30)

    assert failures == []
    assert reads, "the reader never got a read in"
    for low, high, rows, consented_at in reads:
        assert low == high, "one version throughout a table"
        assert rows == 5_000 + low and consented_at.day == low, "both schemas of one version"
    assert reads[-1][0] == 3


def test_a_reader_holding_the_tables_delays_the_swap_and_is_never_cancelled(
    database: str, copies: dict[int, Path]
) -> None:
    publish_postgres(copies[1], database)
    with psycopg.connect(database) as reader:  # a transaction left open on a table, as a slow dashboard would
        reader.execute("SELECT count(*) FROM bi.customer_profiles").fetchone()

        with pytest.raises(ServingTargetError, match="previous ones stay"):
            publish_postgres(copies[2], database, swap_timeout_s=0.3)

        assert reader.execute("SELECT max(version) FROM activation.profiles").fetchone() == (1,)
    publish_postgres(copies[2], database)
    assert {row[2] for row in postgres_rows(database, "activation", ["profiles"])["profiles"]} == {2}


@pytest.mark.parametrize(("group", "own", "other"), [("bi_reader", "bi", "activation"),
                                                     ("activation_reader", "activation", "bi")])  # fmt: skip
def test_a_reader_login_reads_its_schema_and_nothing_else(
    database: str, postgres_server: PostgresServer, copies: dict[int, Path], group: str, own: str, other: str
) -> None:
    publish_postgres(copies[1], database)
    with psycopg.connect(database, autocommit=True) as admin:
        admin.execute("CREATE SCHEMA private; CREATE TABLE private.secret (x int); CREATE TABLE public.secret (x int)")
    user, password = add_login(database, group)
    table = {"bi": "customer_profiles", "activation": "profiles"}
    denied = [
        f"SELECT * FROM {other}.{table[other]}",
        "SELECT * FROM private.secret",
        "SELECT * FROM public.secret",
        "CREATE TABLE public.mine (x int)",
        f"CREATE TABLE {own}.mine (x int)",
        "CREATE TEMPORARY TABLE mine (x int)",
        "CREATE SCHEMA mine",
        f"DELETE FROM {own}.{table[own]}",
    ]

    with psycopg.connect(postgres_server.url(database.rsplit("/", 1)[1], user, password), autocommit=True) as reader:
        assert reader.execute(f"SELECT count(*) FROM {own}.{table[own]}").fetchone()[0] >= 1
        for statement in denied:
            with pytest.raises(errors.InsufficientPrivilege):
                reader.execute(statement)


def test_a_failed_publish_leaves_the_previous_tables_and_grants(
    database: str, copies: dict[int, Path], tmp_path: Path
) -> None:
    publish_postgres(copies[1], database)
    broken = Path(shutil.copy(copies[2], tmp_path / "broken.duckdb"))
    with duckdb.connect(str(broken)) as connection:  # a date PostgreSQL cannot hold (its dates start in 4713 BC)
        connection.execute("CREATE TABLE activation.zz_ancient AS SELECT DATE '5000-01-01 (BC)' AS day")

    with pytest.raises(ServingTargetError, match="date out of range") as failed:
        publish_postgres(broken, database)

    assert "COPY zz_ancient, line 1, column day" in str(failed.value) and "5000" not in str(failed.value), (
        "where the load failed, never the value (it may be an email)"
    )

    assert {row[2] for row in postgres_rows(database, "activation", ["profiles"])["profiles"]} == {1}
    user, password = add_login(database, "activation_reader")
    reader_url = database.replace(f"postgres:{quote(SUPERUSER_PASSWORD, safe='')}", f"{user}:{quote(password)}")
    assert len(postgres_rows(reader_url, "activation", ["profiles"])["profiles"]) == 5_001


def test_the_serving_asset_hook_publishes_only_when_serving_url_is_set(database: str, copies: dict[int, Path]) -> None:
    assert publish_serving_target(get_settings({}), copies[1]) is None
    assert postgres_tables(database) == set()

    published = publish_serving_target(get_settings({"SERVING_URL": database}), copies[1])

    assert published is not None and published.row_counts["activation.profiles"] == 5_001
    assert ("bi", "customer_profiles") in postgres_tables(database)


def test_the_password_of_serving_url_is_never_shown(
    database: str, postgres_server: PostgresServer, copies: dict[int, Path], caplog: pytest.LogCaptureFixture
) -> None:
    copy = copies[1]
    secrets = (SUPERUSER_PASSWORD, quote(SUPERUSER_PASSWORD, safe=""))
    caplog.set_level(logging.DEBUG)

    published = publish_postgres(copy, database)
    wrong = database.replace(quote(SUPERUSER_PASSWORD, safe=""), quote(SUPERUSER_PASSWORD[::-1], safe=""))
    with pytest.raises(ServingTargetError) as refused:
        publish_postgres(copy, wrong)
    with pytest.raises(ServingTargetError) as malformed:
        publish_postgres(copy, database.replace("@127", "%zz@127"))  # libpq quotes a bad URL in its error
    name = database.rsplit("/", 1)[1]
    in_parameter = f"postgresql://postgres@{postgres_server.host}:{postgres_server.port}/{name}?password={secrets[1]}"
    as_parameter = publish_postgres(copy, in_parameter)
    settings = get_settings({"SERVING_URL": database})
    with pytest.raises(ValueError) as not_postgres:
        get_settings({"SERVING_URL": database.replace("postgresql", "mysql")})

    assert "***@127.0.0.1" in published.target and set(READER_ROLES) <= {k.split(".")[0] for k in published.row_counts}
    assert "password authentication failed" in str(refused.value)
    assert settings.serving_url == database
    assert as_parameter.target.endswith("?password=***")
    shown = [caplog.text, published.target, as_parameter.target, repr(settings), str(not_postgres.value)]
    shown += [redact_url(wrong)]
    for failure in (refused, malformed):
        shown += [str(failure.value), repr(failure.value), failure.getrepr(style="long", chain=True).__str__()]
        assert failure.value.__context__ is None and failure.value.__cause__ is None
    for text in shown:
        for secret in (*secrets, SUPERUSER_PASSWORD[::-1], quote(SUPERUSER_PASSWORD[::-1], safe="")):
            assert secret not in text
