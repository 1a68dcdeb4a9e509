"""Privacy building blocks on small hand-made data: hashing, the landing filter, the CLI, the serving schemas."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import duckdb
import pytest
from typer.testing import CliRunner

from cli.main import app
from core.settings import Settings
from privacy.erasure import drop_erased_lines, resolve_subjects
from privacy.ledger import ErasureLedger, install_subject_hash, subject_hash
from privacy.registry import PiiColumn, PiiRegistry, registry_from_manifest
from serving.publish import publish_marts, publish_serving
from tests.serving.marts import build_serving_models, create_marts

ACTIVATION_PROFILE_COLUMNS = [
    "customer_id", "email", "first_name", "last_name", "country_code", "email_consent", "consent_source",
    "consent_updated_at", "rfm_segment", "r_score", "f_score", "m_score", "lifetime_value", "orders_count",
    "last_order_at", "favourite_category", "updated_at",
]  # fmt: skip
"""docs/contracts.md section 4, in order."""
ACTIVATION_SEGMENT_COLUMNS = ["customer_id", "email", "segment", "reason", "since"]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("email", " Jane.Doe@Example.COM\t"),
        ("email", "\u00a0\u00c9mile.Zo\u00e9@exemple.fr\u3000"),
        ("phone", "+1 (555) 010-2345 "),
        ("phone", "030/123 45-67"),
        ("crm_contact_id", "1001"),
        ("shop_customer_id", "7000000000001"),
        ("anonymous_id", " 3f6c1c1e-0b8e-4d7a-9a43-4b1d2a6e1f00 "),
        ("user_id", "user-42"),
        ("customer_id", "cus_0123456789abcdef0123456789abcdef"),
    ],
)
def test_duckdb_hashes_identifiers_exactly_like_subject_hash(kind: str, value: str) -> None:
    salt = "pepper'with quote"
    with duckdb.connect() as con:
        install_subject_hash(con, salt)
        (in_sql,) = con.execute(f"SELECT subject_hash_{kind}(?)", [value]).fetchone()

    assert in_sql == subject_hash(kind, value, salt)


def test_blank_identifiers_hash_to_null_and_match_nobody() -> None:
    with duckdb.connect() as con:
        install_subject_hash(con, "salt")
        hashes = con.execute("SELECT subject_hash_email(NULL), subject_hash_email(' \t'), subject_hash_phone('n/a')")

        assert hashes.fetchone() == (None, None, None)


def test_the_ledger_file_holds_hashes_never_the_identifiers(isolated_env: Settings) -> None:
    ledger = ErasureLedger(isolated_env)
    ledger.record([("email", "Someone.Private@Example.com"), ("phone", "+44 20 7946 0958")])

    stored = ledger.path.read_bytes()
    assert b"someone.private" not in stored.lower() and b"7946" not in stored
    assert ledger.is_erased("email", "  someone.private@example.COM ")
    assert ledger.is_erased("phone", "+44 (20) 7946-0958")


def _landing_batch(con: duckdb.DuckDBPyConnection, lines: list[str | None]) -> None:
    """The two relations of the landing reader that `drop_erased_lines` works on (see ingestion.landing.classify)."""
    con.execute("CREATE TEMP TABLE lines (rid BIGINT, file_idx INTEGER, line_no BIGINT, txt VARCHAR)")
    con.executemany("INSERT INTO lines VALUES (?, 0, ?, ?)", [(i, i + 1, t) for i, t in enumerate(lines)])
    con.execute("CREATE TEMP VIEW src AS SELECT * FROM lines")
    con.execute("""
        CREATE TEMP TABLE nonrecord AS
        SELECT rid, CASE WHEN rid = 5 THEN 'not a JSON object' ELSE 'not valid JSON' END AS reason
        FROM lines WHERE rid IN (3, 4, 5)
    """)


def test_landing_lines_of_an_erased_person_become_non_records_without_their_text(isolated_env: Settings) -> None:
    ErasureLedger(isolated_env).record([("email", "gone@example.com"), ("crm_contact_id", "2002")])
    lines = [
        '{"id": "1001", "properties": {"email": "kept@example.com"}}',
        '{"id": "1002", "properties": {"email": " GONE@example.com "}}',
        '{"id": "2002", "properties": {"email": null}}',
        '{"id": "1003", "properties": {"email": "gone@example.com", "firstname": "Trunc',
        "not json at all, mentions nobody",
        '["a JSON array is no record", "gone@example.com"]',
    ]
    with duckdb.connect() as con:
        _landing_batch(con, lines)

        erased = drop_erased_lines(con, "contacts", isolated_env)

        assert erased == 4
        assert sorted(con.execute("SELECT rid, reason FROM nonrecord").fetchall()) == [
            (1, None), (2, None), (3, None), (4, "not valid JSON"), (5, None),
        ]  # fmt: skip


def test_without_a_ledger_the_landing_filter_reads_nothing_and_creates_nothing(isolated_env: Settings) -> None:
    with duckdb.connect() as con:
        _landing_batch(con, ['{"id": "1001", "properties": {"email": "a@example.com"}}'])
        assert drop_erased_lines(con, "contacts", isolated_env) == 0
    assert not any(isolated_env.data_dir.glob("*privacy*")) and not any(isolated_env.data_dir.glob(".erasure_salt"))


SMALL_MARTS = {
    "customer_profiles": [
        {"customer_id": "cus_1", "email": "ann@example.com", "first_name": "Ann", "last_name": "Lee",
         "country_code": "DE", "email_consent": True, "email_consent_source": "shop",
         "email_consent_at": datetime(2026, 1, 1), "orders_count": 2, "lifetime_value": Decimal("90.50"),
         "last_order_at": datetime(2026, 2, 1), "recency_days": 1, "r_score": 5, "f_score": 3, "m_score": 4,
         "rfm_segment": "Champions", "favourite_category": "shoes", "last_seen_at": datetime(2026, 2, 3)},
        {"customer_id": "cus_2", "email": "bob@example.com", "first_name": "Bob", "last_name": "Ray",
         "country_code": "FR", "email_consent": False, "email_consent_source": "crm",
         "email_consent_at": datetime(2026, 1, 2), "orders_count": 0, "lifetime_value": 0, "rfm_segment": "No Orders"},
        {"customer_id": "cus_3", "email": "not-an-email", "first_name": "Cy", "last_name": "Fox",
         "country_code": "US", "email_consent": True, "email_consent_source": "shop",
         "email_consent_at": datetime(2026, 1, 3), "orders_count": 0, "lifetime_value": 0, "rfm_segment": "No Orders"},
        {"customer_id": "cus_4", "email": "dee@example.com", "first_name": "Dee", "last_name": "Kim",
         "country_code": "US", "email_consent": True, "email_consent_source": "shop",
         "email_consent_at": datetime(2026, 1, 4), "orders_count": 0, "lifetime_value": 0, "rfm_segment": "No Orders"},
    ],
    "customer_segments": [
        {"customer_id": "cus_1", "segment_name": "VIP", "reason": "top decile", "member_since": datetime(2026, 2, 1)},
        {"customer_id": "cus_2", "segment_name": "VIP", "reason": "top decile"},
        {"customer_id": "cus_4", "segment_name": "New", "reason": "first order"},
    ],
    "customer_identity_map": [
        {"source_system": "crm", "source_id": "1001", "customer_id": "cus_4", "match_rule": "email", "match_score": 1},
        {"source_system": "shop", "source_id": "7000000000004", "customer_id": "cus_4", "match_rule": "email",
         "match_score": 1},
        {"source_system": "analytics", "source_id": "anon-4", "customer_id": "cus_4",
         "match_rule": "segment_anonymous_id", "match_score": 1},
    ],
    "dim_customers": [
        {"customer_key": "k4", "customer_id": "cus_4", "email": "dee@example.com", "first_name": "Dee",
         "last_name": "Kim", "phone_e164": "+15550100004", "date_of_birth": date(1990, 1, 1)},
    ],
}  # fmt: skip
"""Marts shaped like the real ones (their contracts), four customers: consented, not consented, invalid email,
consented; the fourth with the identifiers the CLI resolves."""


def _small_warehouse(settings: Settings, serving_models: bool = False) -> PiiRegistry:
    """The small marts, and with `serving_models` the `bi` and `activation` dbt models built on them; the
    personal-data registry of that build (none without it)."""
    create_marts(settings.warehouse_path, SMALL_MARTS)
    if not serving_models:
        return PiiRegistry(())
    target = settings.warehouse_path.with_name("dbt_target")
    build_serving_models(settings, target)
    return registry_from_manifest(json.loads((target / "manifest.json").read_text()))


def test_activation_holds_exactly_the_contract_columns_of_consented_valid_non_erased_people(
    isolated_env: Settings,
) -> None:
    registry = _small_warehouse(isolated_env, serving_models=True)
    ErasureLedger(isolated_env).record([("customer_id", "cus_4")])

    published = publish_serving(isolated_env.warehouse_path, isolated_env.serving_path, isolated_env, registry)

    assert published.consumer_row_counts["activation.profiles"] == 1
    with duckdb.connect(str(isolated_env.serving_path), read_only=True) as con:
        profiles = con.execute("SELECT * FROM activation.profiles")
        assert [d[0] for d in profiles.description] == ACTIVATION_PROFILE_COLUMNS
        assert [(r[0], r[5]) for r in profiles.fetchall()] == [("cus_1", True)]
        segments = con.execute("SELECT * FROM activation.segments")
        assert [d[0] for d in segments.description] == ACTIVATION_SEGMENT_COLUMNS
        assert segments.fetchall() == [("cus_1", "ann@example.com", "VIP", "top decile", con.execute(
            "SELECT TIMESTAMP '2026-02-01'").fetchone()[0])]  # fmt: skip


def test_bi_replaces_direct_identifiers_by_the_ledgers_stable_hashes(isolated_env: Settings) -> None:
    registry = _small_warehouse(isolated_env, serving_models=True)
    salt = ErasureLedger(isolated_env).salt

    publish_serving(isolated_env.warehouse_path, isolated_env.serving_path, isolated_env, registry)

    with duckdb.connect(str(isolated_env.serving_path), read_only=True) as con:
        bi = con.execute("SELECT * FROM bi.dim_customers").fetchone()
        columns = [d[0] for d in con.description]
        row = dict(zip(columns, bi, strict=True))
        assert row["customer_id"] == "cus_4", "the warehouse's pseudonym stays: BI joins on it"
        assert row["email"] == subject_hash("email", "dee@example.com", salt)
        assert row["phone_e164"] == subject_hash("phone", "+15550100004", salt)
        assert {row["first_name"], row["last_name"], row["date_of_birth"]}.isdisjoint({"Dee", "Kim", "1990-01-01"})
        hashed_profiles = con.execute("SELECT count(DISTINCT email), count(*) FROM bi.customer_profiles").fetchone()
        assert hashed_profiles == (4, 4), "distinct people stay distinct: counts still work"
        assert (
            con.execute("SELECT count(*) FROM bi.customer_profiles p JOIN bi.dim_customers d USING (email)").fetchone()[
                0
            ]
            == 1
        ), "hashes are stable across tables: joins still work"
        rows = con.execute("SELECT * FROM bi.customer_profiles").fetchall()
    everything = " ".join(str(value) for row in rows for value in row)
    assert "@example.com" not in everything


def test_erase_by_email_records_every_identifier_the_serving_copy_knows(isolated_env: Settings) -> None:
    registry = _small_warehouse(isolated_env)
    publish_serving(isolated_env.warehouse_path, isolated_env.serving_path, isolated_env, registry)

    result = CliRunner().invoke(app, ["erase", "--email", " Dee@Example.com "])

    assert result.exit_code == 0, result.output
    assert "dee@example.com" not in result.output.lower()
    ledger = ErasureLedger(isolated_env)
    for kind, value in [
        ("email", "dee@example.com"), ("customer_id", "cus_4"), ("crm_contact_id", "1001"),
        ("shop_customer_id", "7000000000004"), ("anonymous_id", "anon-4"), ("phone", "+15550100004"),
    ]:  # fmt: skip
        assert ledger.is_erased(kind, value), kind
    assert not ledger.is_erased("customer_id", "cus_1")
    assert "Matched 1 customer and" in result.output


def test_erase_refuses_a_value_that_is_not_an_email_unless_forced(isolated_env: Settings) -> None:
    refused = CliRunner().invoke(app, ["erase", "--email", "dee(at)example.com"])

    assert refused.exit_code == 2 and "not a valid email" in refused.output
    assert not ErasureLedger(isolated_env).path.exists()
    forced = CliRunner().invoke(app, ["erase", "--email", "dee(at)example.com", "--force"])
    assert forced.exit_code == 0, forced.output
    assert ErasureLedger(isolated_env).is_erased("email", "dee(at)example.com")


def test_erase_of_an_email_nobody_has_says_that_only_its_hash_is_recorded(isolated_env: Settings) -> None:
    _small_warehouse(isolated_env)
    publish_marts(isolated_env.warehouse_path, isolated_env.serving_path)

    result = CliRunner().invoke(app, ["erase", "--email", "nobody@example.com"])

    assert result.exit_code == 0, result.output
    assert "No one in the serving copy" in " ".join(result.output.split())
    assert "Matched" not in result.output


def test_resolving_a_person_reads_every_identifier_the_registry_declares_in_a_mart(isolated_env: Settings) -> None:
    """A mart the resolver has never heard of: its declared columns widen the request, undeclared ones do not."""
    with duckdb.connect(str(isolated_env.warehouse_path)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.fct_visits AS SELECT * FROM (VALUES ('cus_1', 'Ann@Example.com', 'anon-1', 'u-9', 'x'),"
            " ('cus_2', 'bo@example.com', 'anon-2', 'u-8', 'y')) t(person, mail, visitor, account, note)"
        )
    publish_marts(isolated_env.warehouse_path, isolated_env.serving_path)
    registry = PiiRegistry(tuple(
        PiiColumn("marts", "fct_visits", column, kind)  # type: ignore[arg-type]
        for column, kind in (("person", "customer_id"), ("mail", "email"), ("visitor", "anonymous_id"))
    ))  # fmt: skip

    subjects = resolve_subjects(isolated_env.serving_path, "email", " ann@example.COM", registry)

    assert subjects == [
        ("anonymous_id", "anon-1"), ("customer_id", "cus_1"),
        ("email", "Ann@Example.com"), ("email", "ann@example.com"),
    ]  # fmt: skip


def test_erase_needs_exactly_one_identifier(isolated_env: Settings) -> None:
    assert CliRunner().invoke(app, ["erase"]).exit_code == 2
    assert CliRunner().invoke(app, ["erase", "--email", "a@b.co", "--customer-id", "cus_1"]).exit_code == 2
    assert not ErasureLedger(isolated_env).path.exists()


def test_resolving_a_customer_nobody_knows_records_just_that_id(isolated_env: Settings) -> None:
    assert resolve_subjects(isolated_env.serving_path, "customer_id", "cus_unknown", PiiRegistry(())) == [
        ("customer_id", "cus_unknown")
    ]
