"""The serving models (dbt_project/models/serving/): `bi` hashes declared personal data exactly as the erasure
ledger does, `activation` holds only people who may be mailed, and the contracts and tests stop what must not
leave the warehouse."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from core.dbt_cli import run_dbt
from core.settings import Settings, get_settings
from privacy.ledger import subject_hash
from tests.conftest import settings_for
from tests.serving.marts import Built, build_serving_models, create_marts

pytestmark = pytest.mark.slow  # dbt builds

SALT = "pepper'with quote"
TRICKY = {
    "email": "\u00a0\u00c9mile.Zo\u00e9@Exemple.FR\u3000",
    "phone": "+1 (555) 010-2345 ",
    "anonymous_id": " 3f6c1c1e-0b8e-4d7a-9a43-4b1d2a6e1f00 ",
    "user_id": "user-42\t",
}
"""Identifiers as the ledger's test cases write them: edge whitespace of every kind, case, phone punctuation."""

MARTS = {
    "dim_customers": [
        {"customer_key": "k1", "customer_id": "cus_1", "email": TRICKY["email"], "first_name": " Émile ",
         "last_name": "Zoé", "phone_e164": TRICKY["phone"], "date_of_birth": date(1990, 1, 31)},
    ],
    "dim_locations": [{"location_key": "l1", "country_code": "FR", "city": "Lyon", "postal_code": "69001"}],
    "fct_sessions": [{"session_key": "s1", "anonymous_id": TRICKY["anonymous_id"]}],
    "fct_events": [{"message_id": "m1", "anonymous_id": TRICKY["anonymous_id"], "user_id": TRICKY["user_id"]}],
    "customer_identity_map": [
        {"source_system": "crm", "source_id": "1001", "customer_id": "cus_1", "match_rule": "email", "match_score": 1},
    ],
    "customer_profiles": [
        {"customer_id": "cus_1", "email": " Emile@Exemple.fr ", "email_consent": True, "email_consent_source": "crm",
         "orders_count": 0, "lifetime_value": 0, "rfm_segment": "No Orders"},
        {"customer_id": "cus_2", "email": "no.consent@example.com", "email_consent": False, "orders_count": 0,
         "lifetime_value": 0, "rfm_segment": "No Orders"},
        {"customer_id": "cus_3", "email": "two@@example.com", "email_consent": True, "orders_count": 0,
         "lifetime_value": 0, "rfm_segment": "No Orders"},
        {"customer_id": "cus_4", "email": None, "email_consent": True, "orders_count": 0, "lifetime_value": 0,
         "rfm_segment": "No Orders"},
        {"customer_id": "cus_5", "email": "ok@example.com", "email_consent": True, "email_consent_source": "shop",
         "orders_count": 1, "lifetime_value": 5, "rfm_segment": "New"},
    ],
    "customer_segments": [
        {"customer_id": "cus_1", "segment_name": "never_ordered", "reason": "no order yet"},
        {"customer_id": "cus_2", "segment_name": "unsubscribed", "reason": "may not receive marketing email"},
        {"customer_id": "cus_5", "segment_name": "champions", "reason": "RFM segment Champions"},
    ],
}  # fmt: skip


def _settings(root: Path, env: pytest.MonkeyPatch) -> Settings:
    for name, value in {**settings_for(root), "ERASURE_SALT": SALT}.items():
        env.setenv(name, value)
    return get_settings()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """The serving models and their tests built on small contract-shaped marts."""
    root = tmp_path_factory.mktemp("serving_models")
    with pytest.MonkeyPatch.context() as env:
        settings = _settings(root, env)
        create_marts(settings.warehouse_path, MARTS)
        yield Built(settings, build_serving_models(settings, root / "dbt_target", check=False))


def test_the_serving_models_and_their_tests_pass(built: Built) -> None:
    assert built.result.success, built.result.output[-3000:]
    assert " ERROR=0 " in built.result.output and " WARN=0 " in built.result.output, built.result.output[-3000:]


@pytest.mark.parametrize(
    ("table", "column", "kind"),
    [
        ("dim_customers", "email", "email"),
        ("dim_customers", "phone_e164", "phone"),
        ("fct_sessions", "anonymous_id", "anonymous_id"),
        ("fct_events", "anonymous_id", "anonymous_id"),
        ("fct_events", "user_id", "user_id"),
    ],
)
def test_bi_hashes_identifiers_exactly_like_the_erasure_ledger(
    built: Built, table: str, column: str, kind: str
) -> None:
    ((hashed,),) = built.query(f"SELECT {column} FROM bi.{table}")

    assert hashed == subject_hash(kind, TRICKY[kind], SALT)


@pytest.mark.parametrize(
    ("table", "column", "kind", "value"),
    [
        ("dim_customers", "first_name", "name", "Émile"),
        ("dim_customers", "last_name", "name", "Zoé"),
        ("dim_customers", "date_of_birth", "date_of_birth", "1990-01-31"),
        ("dim_locations", "postal_code", "postal_code", "69001"),
        ("customer_identity_map", "source_id", "source_id", "1001"),
    ],
)
def test_bi_hashes_other_personal_data_by_its_declared_kind(
    built: Built, table: str, column: str, kind: str, value: str
) -> None:
    ((hashed,),) = built.query(f"SELECT {column} FROM bi.{table}")

    assert hashed == hashlib.sha256(f"{SALT}\x1f{kind}\x1f{value}".encode()).hexdigest()


def test_bi_keeps_every_other_column_and_the_customer_id(built: Built) -> None:
    assert built.query("SELECT customer_key, customer_id FROM bi.dim_customers") == [("k1", "cus_1")]
    assert built.query("SELECT country_code, city FROM bi.dim_locations") == [("FR", "Lyon")]
    (marts,), (bi,) = built.query(
        "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'marts' "
        "UNION ALL SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'bi'"
    )
    assert marts == bi, "bi has every column of every mart"


def test_activation_holds_only_consented_people_with_a_valid_email_normalized(built: Built) -> None:
    profiles = built.query("SELECT customer_id, email, email_consent FROM activation.profiles ORDER BY 1")
    segments = built.query("SELECT customer_id, email, segment FROM activation.segments ORDER BY 1")

    assert profiles == [("cus_1", "emile@exemple.fr", True), ("cus_5", "ok@example.com", True)]
    assert segments == [("cus_1", "emile@exemple.fr", "never_ordered"), ("cus_5", "ok@example.com", "champions")]


def test_a_new_mart_column_or_an_email_nobody_declared_stops_the_bi_build(tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as env:
        settings = _settings(tmp_path, env)
        create_marts(
            settings.warehouse_path, {**MARTS, "dim_products": [{"product_key": "p1", "vendor": "a@b.example"}]}
        )
        with duckdb.connect(str(settings.warehouse_path)) as con:
            con.execute("ALTER TABLE marts.dim_customers ADD COLUMN mobile_phone VARCHAR DEFAULT '+15550100'")

        result = run_dbt(
            ["build", "--select", "bi_dim_customers", "bi_dim_products"],
            settings,
            target_path=tmp_path / "dbt_target",
            check=False,
        )

    assert not result.success
    assert "Error in model bi_dim_customers" in result.output, result.output[-3000:]
    assert "missing in contract" in result.output and "mobile_phone" in result.output, result.output[-3000:]
    assert "Failure in test no_clear_identifiers_bi_dim_products_" in result.output, result.output[-3000:]
