"""customer_id survives rebuilds: records added between two dbt runs never re-key existing customers.

Raw tables are the contract's (tests/dbt_project/test_raw_rows.py), with rows written by hand so that
each case is one visible row: a new record that becomes the smallest member of an existing cluster (a
stateless "hash of the smallest member" would re-key that customer), a record joining another customer through
the match model (same name, phone and postal code, another email), and a new person.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from core.dbt_cli import run_dbt
from core.settings import Settings
from tests.dbt_project.test_raw_rows import LOAD_1, LOAD_2, create_empty_raw_tables

_AT = "2026-10-01 10:00:00+00"

# (id, email, first name, last name, phone, zip, country, date of birth)
FIRST_CONTACTS = [
    ("20", "ann.lee@example.com", "Ann", "Lee", None, "94105", "US", "1980-03-04"),
    ("30", "cy.day@example.com", "Cy", "Day", "+1 415 555 0130", "10001", "US", "1971-05-06"),
]
FIRST_CUSTOMERS = [(700, "ann.lee@example.com", "Ann", "Lee", None, "94105", "US")]
FIRST_EVENTS = [("m1", "anon-1", "700", None)]  # (message id, anonymousId, userId, traits.email)

LATER_CONTACTS = [
    # sorts before crm:20: becomes the smallest member of Ann's cluster
    ("10", "ann.lee@example.com", "Annie", "Lee", None, "94105", "US", None),
    ("40", "di.fox@example.com", "Di", "Fox", None, "60601", "US", "1990-01-01"),
]
LATER_CUSTOMERS = [(800, "cy.work@example.com", "Cy", "Day", "(415) 555-0130", "10001", "US")]
LATER_EVENTS = [("m2", "anon-2", None, "di.fox@example.com")]


def _create_raw_tables(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        create_empty_raw_tables(con)


def _append(
    warehouse: Path, contacts: list[tuple], customers: list[tuple], events: list[tuple], load_id: str
) -> None:
    """Insert as a dlt load would: every load has a new, larger load id (the incremental models' watermark)."""
    with duckdb.connect(str(warehouse)) as con:
        for contact_id, email, first, last, phone, zip_code, country, born in contacts:
            con.execute(
                "insert into raw_crm.contacts (id, email, firstname, lastname, phone, zip, country,"
                " date_of_birth, created_at, updated_at, archived, _dlt_load_id)"
                " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false, ?)",
                [contact_id, email, first, last, phone, zip_code, country, born, _AT, _AT, load_id],
            )
        for customer_id, email, first, last, phone, zip_code, country in customers:
            con.execute(
                "insert into raw_shop.customers (id, email, first_name, last_name, phone,"
                " default_address__zip, default_address__country_code, created_at, updated_at, _dlt_load_id)"
                " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [customer_id, email, first, last, phone, zip_code, country, _AT, _AT, load_id],
            )
        for message_id, anonymous_id, user_id, email in events:
            con.execute(
                "insert into raw_analytics.events (message_id, type, anonymous_id, user_id, timestamp,"
                " received_at, traits, _dlt_load_id) values (?, 'identify', ?, ?, ?, ?, ?, ?)",
                [message_id, anonymous_id, user_id, _AT, _AT, json.dumps({"email": email}), load_id],
            )


def _build_identity(settings: Settings, target: Path, *, seed: bool = False) -> dict[tuple[str, str], str]:
    """Run the identity models (with `seed`, first the seeds they read, in the same dbt invocation) and read the
    map."""
    command = ["build", "--resource-type", "seed", "--resource-type", "model"] if seed else ["run"]
    run_dbt([*command, "--select", "+customer_identity_map"], settings, target_path=target)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.sql("select source_system, source_id, customer_id from marts.customer_identity_map").fetchall()
    return {(system, source_id): customer_id for system, source_id, customer_id in rows}


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, dict]:
    """The map after a first build, after records were added, and after a rebuild with nothing new."""
    root = tmp_path_factory.mktemp("identity_stability")
    settings = Settings(
        landing_dir=root / "landing",
        warehouse_path=root / "warehouse.duckdb",
        serving_path=root / "serving.duckdb",
        pipelines_dir=root / ".dlt",
    )
    _create_raw_tables(settings.warehouse_path)
    _append(settings.warehouse_path, FIRST_CONTACTS, FIRST_CUSTOMERS, FIRST_EVENTS, LOAD_1)
    first = _build_identity(settings, root / "target", seed=True)
    _append(settings.warehouse_path, LATER_CONTACTS, LATER_CUSTOMERS, LATER_EVENTS, LOAD_2)
    second = _build_identity(settings, root / "target")
    third = _build_identity(settings, root / "target")
    return first, second, third


def test_first_build_resolves_the_handwritten_people(two_builds) -> None:
    first, _, _ = two_builds

    assert first[("crm", "20")] == first[("shop", "700")] == first[("analytics", "anon-1")]
    assert first[("crm", "30")] != first[("crm", "20")]


def test_existing_records_keep_their_customer_id_after_records_are_added(two_builds) -> None:
    first, second, _ = two_builds

    assert {record: second[record] for record in first} == first


def test_a_new_smallest_member_inherits_the_customer_id_instead_of_minting_one(two_builds) -> None:
    first, second, _ = two_builds

    assert second[("crm", "10")] == first[("crm", "20")]


def test_a_record_joining_through_the_match_model_takes_that_customers_id(two_builds) -> None:
    first, second, _ = two_builds

    assert second[("shop", "800")] == first[("crm", "30")]


def test_a_new_person_gets_a_new_customer_id(two_builds) -> None:
    first, second, _ = two_builds

    assert second[("crm", "40")] == second[("analytics", "anon-2")]
    assert second[("crm", "40")] not in set(first.values())


def test_a_rebuild_with_nothing_new_changes_nothing(two_builds) -> None:
    _, second, third = two_builds

    assert third == second
