"""Cleaning measured against the generator's ground truth (landing/_truth) at demo scale: the values staging
flags as invalid, the orders it flags as tests, and the anonymous ids intermediate flags as non-human."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

BOT_PRECISION_FLOOR = 0.98  # issue 4's bar for identity pairs, applied to bot flags too
BOT_RECALL_FLOOR = 0.95


def _truth(landing_dir: Path, name: str) -> list[dict[str, str]]:
    with (landing_dir / "_truth" / name).open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _query(warehouse: Path, sql: str) -> set[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return set(con.execute(sql).fetchall())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("field", "truth_reason", "staged_reason"),
    [
        ("email", "invalid_email", "invalid email"),
        ("date_of_birth", "impossible_date_of_birth", "impossible date of birth"),
        ("date_of_birth", "placeholder_date_of_birth", "placeholder date of birth"),
    ],
)
def test_staging_flags_exactly_the_invalid_crm_values_of_the_ground_truth(
    built_warehouse, field: str, truth_reason: str, staged_reason: str
) -> None:
    expected = {
        row["source_id"]
        for row in _truth(built_warehouse.landing_dir, "invalid.csv")
        if row["source_system"] == "crm" and row["field"] == field and row["reason"] == truth_reason
    }
    flagged = _query(
        built_warehouse.warehouse_path,
        f"select contact_id from staging.stg_crm__contacts where invalid_reason like '%{staged_reason}%'",
    )
    assert expected, "the demo data should contain this kind of dirt"
    assert {contact_id for (contact_id,) in flagged} == expected


@pytest.mark.slow
def test_every_date_of_birth_the_generator_wrote_parses_unless_the_truth_lists_it(built_warehouse) -> None:
    """The free-text dates (slashes in the country's order, month names, two-digit years) are read by their
    parts: a contact's date of birth is flagged only when the truth says it is impossible or a placeholder."""
    expected = {
        row["source_id"]
        for row in _truth(built_warehouse.landing_dir, "invalid.csv")
        if row["source_system"] == "crm" and row["field"] == "date_of_birth"
    }
    flagged = _query(
        built_warehouse.warehouse_path,
        "select contact_id from staging.stg_crm__contacts where invalid_reason like '%date of birth%'",
    )
    assert {contact_id for (contact_id,) in flagged} == expected


@pytest.mark.slow
def test_staging_flags_exactly_the_test_orders_of_the_ground_truth(built_warehouse) -> None:
    expected = {
        row["source_id"]
        for row in _truth(built_warehouse.landing_dir, "invalid.csv")
        if row["source_system"] == "shop" and row["reason"] == "test_order"
    }
    flagged = _query(
        built_warehouse.warehouse_path, "select order_id from staging.stg_shop__orders where is_test"
    )
    assert expected, "the demo data should contain test orders"
    assert {str(order_id) for (order_id,) in flagged} == expected


@pytest.mark.slow
def test_bot_flags_reach_the_precision_and_recall_floor(built_warehouse) -> None:
    truth = {
        row["anonymous_id"]: row["is_bot"] == "true"
        for row in _truth(built_warehouse.landing_dir, "bots.csv")
    }
    flagged = {
        anonymous_id
        for (anonymous_id,) in _query(
            built_warehouse.warehouse_path,
            "select distinct anonymous_id from intermediate.int_events_bot_flagged where non_human_reason is not null",
        )
    }
    bots = {anonymous_id for anonymous_id, is_bot in truth.items() if is_bot}
    true_positives = len(flagged & bots)
    precision = true_positives / len(flagged) if flagged else 0.0
    recall = true_positives / len(bots)
    print(
        f"\nBot and test traffic: {len(bots):,} true, {len(flagged):,} flagged, "
        f"precision {precision:.4f}, recall {recall:.4f}"
    )
    assert precision >= BOT_PRECISION_FLOOR and recall >= BOT_RECALL_FLOOR, (precision, recall)
