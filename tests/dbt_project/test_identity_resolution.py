"""Identity resolution measured against the generator's ground truth.

`marts.customer_identity_map` is a clustering of source records; `_truth/identity.csv` is the true one. The
measure is pairwise: of the record pairs the map puts under one customer_id, the share that are one person
(precision); of the pairs that are one person, the share the map puts together (recall). Counts are kept per
pair of source systems, so a shortfall says which kind of link is missing or wrong. The generator's fuzzy-only
duplicates (`_truth/fuzzy_pairs.csv`: no shared email or phone, only a similar name with the date of birth
and/or the address) measure what the fuzzy rule alone contributes.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pytest

from bench.pairwise import PairCounts, Record, pairwise_counts, read_map, read_truth, report, total

MIN_PRECISION = 0.998
"""Issue 24's goal is 0.999; measured 1.0000 with the Fellegi-Sunter model (docs/identity.md)."""
MIN_RECALL = 0.985
"""Issue 24's goal is 0.98; measured 0.9890 (0.9949 over the 6,923 pairs without a Zendesk user). The helpdesk's
misses are 46 of 479 analytics-helpdesk pairs, exactly the pairs of visitors who wrote to support from an address
they never gave the site: nothing in the data links those devices to that user, so they stay apart."""
MIN_FUZZY_ONLY_RECALL = 0.8
"""Share of the generator's fuzzy-only pairs (_truth/fuzzy_pairs.csv) the map must join through fuzzy edges;
measured 0.86. The pairs missed are a name variant at one address with no date of birth or phone: the household
guard (John and Joan at one address are two people) keeps them apart by design."""


# --- the metric ------------------------------------------------------------------------------------------


def test_a_perfect_map_scores_one_on_both() -> None:
    truth = {("crm", "1"): "p1", ("shop", "7"): "p1", ("crm", "2"): "p2"}
    predicted = {("crm", "1"): "cus_a", ("shop", "7"): "cus_a", ("crm", "2"): "cus_b"}

    overall = total(pairwise_counts(predicted, truth))

    assert (overall.precision, overall.recall) == (1.0, 1.0)
    assert overall.true_pairs == 1


def test_merging_two_people_costs_precision_not_recall() -> None:
    truth = {("crm", "1"): "p1", ("crm", "2"): "p1", ("crm", "3"): "p2"}
    predicted = dict.fromkeys(truth, "cus_a")

    overall = total(pairwise_counts(predicted, truth))

    assert (overall.predicted_pairs, overall.correct_pairs) == (3, 1)
    assert overall.precision == pytest.approx(1 / 3)
    assert overall.recall == 1.0


def test_splitting_a_person_costs_recall_not_precision() -> None:
    truth = {("crm", "1"): "p1", ("shop", "7"): "p1", ("analytics", "a"): "p1"}
    predicted = {("crm", "1"): "cus_a", ("shop", "7"): "cus_a", ("analytics", "a"): "cus_b"}

    overall = total(pairwise_counts(predicted, truth))

    assert overall.precision == 1.0
    assert overall.recall == pytest.approx(1 / 3)


def test_a_record_missing_from_the_map_is_alone() -> None:
    truth = {("crm", "1"): "p1", ("shop", "7"): "p1"}

    overall = total(pairwise_counts({("crm", "1"): "cus_a"}, truth))

    assert (overall.true_pairs, overall.correct_pairs) == (1, 0)


def test_counts_name_the_kind_of_pair_that_is_missed() -> None:
    truth = {("crm", "1"): "p1", ("shop", "7"): "p1", ("analytics", "a"): "p1", ("analytics", "b"): "p1"}
    predicted = {
        ("crm", "1"): "cus_a",
        ("shop", "7"): "cus_b",
        ("analytics", "a"): "cus_b",
        ("analytics", "b"): "cus_b",
    }

    counts = pairwise_counts(predicted, truth)

    assert counts[("crm", "shop")] == PairCounts(true_pairs=1, predicted_pairs=0, correct_pairs=0)
    assert counts[("analytics", "crm")].recall == 0.0
    assert counts[("analytics", "shop")] == PairCounts(true_pairs=2, predicted_pairs=2, correct_pairs=2)
    assert counts[("analytics", "analytics")].recall == 1.0


# --- the map against the generator's truth (the whole chain: generate -> dlt -> dbt build) ---------------


def read_fuzzy_pairs(landing_dir: Path) -> list[tuple[Record, Record]]:
    """The record pairs the generator made linkable only by fuzzy matching (no shared email or phone)."""
    with (landing_dir / "_truth" / "fuzzy_pairs.csv").open(newline="", encoding="utf-8") as f:
        return [
            ((row["source_system"], row["source_id"]), (row["other_source_system"], row["other_source_id"]))
            for row in csv.DictReader(f)
        ]


def clusters_without_fuzzy_edges(warehouse_path: Path, records: Iterable[Record]) -> dict[Record, str]:
    """The clustering the deterministic edges of int_identity_edges alone give (union-find over record keys):
    what the map would be if the fuzzy rule were switched off."""
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        edges = con.sql(
            "select left_record_key, right_record_key from intermediate.int_identity_edges where match_rule <> 'fuzzy'"
        ).fetchall()
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.get(key, key) != key:
            parent[key] = parent.get(parent[key], parent[key])
            key = parent[key]
        return key

    for left, right in edges:
        left_root, right_root = root(left), root(right)
        if left_root != right_root:
            parent[max(left_root, right_root)] = min(left_root, right_root)
    return {record: root(f"{record[0]}:{record[1]}") for record in records}


@pytest.mark.slow
def test_identity_map_finds_the_true_people_at_demo_scale(built_warehouse) -> None:
    truth = read_truth(built_warehouse.landing_dir)
    predicted = read_map(built_warehouse.warehouse_path)

    counts = pairwise_counts(predicted, truth)
    overall = total(counts)
    print(f"\nIdentity resolution (pairwise), {len(truth):,} true records, {len(predicted):,} mapped:")
    print(report(counts))

    assert set(truth) <= set(predicted), "every true record has a row in customer_identity_map"
    assert overall.precision >= MIN_PRECISION, report(counts)
    assert overall.recall >= MIN_RECALL, report(counts)


@pytest.mark.slow
def test_clustering_converges_within_its_iteration_bound_on_demo_data(built_warehouse) -> None:
    with duckdb.connect(str(built_warehouse.warehouse_path), read_only=True) as con:
        records, still_moving = con.sql(
            "select count(*), count(*) filter (where changed_in_last_iteration) "
            "from intermediate.int_identity_records_clustered"
        ).fetchone()

    assert records > 0
    assert still_moving == 0


@pytest.mark.slow
def test_fuzzy_rule_links_the_duplicates_that_share_no_email_or_phone(built_warehouse) -> None:
    truth = read_truth(built_warehouse.landing_dir)
    fuzzy_pairs = read_fuzzy_pairs(built_warehouse.landing_dir)
    predicted = read_map(built_warehouse.warehouse_path)
    without_fuzzy = clusters_without_fuzzy_edges(built_warehouse.warehouse_path, predicted)

    overall = total(pairwise_counts(predicted, truth))
    overall_without_fuzzy = total(pairwise_counts(without_fuzzy, truth))
    found = [(a, b) for a, b in fuzzy_pairs if predicted.get(a, a) == predicted.get(b, b)]
    found_only_by_fuzzy = [(a, b) for a, b in found if without_fuzzy.get(a, a) != without_fuzzy.get(b, b)]
    print(
        f"\nFuzzy-only pairs: {len(fuzzy_pairs):,} true, {len(found):,} found "
        f"({len(found) / len(fuzzy_pairs):.4f}), {len(found_only_by_fuzzy):,} only through fuzzy edges; "
        f"recall {overall.recall:.4f} with the fuzzy rule, {overall_without_fuzzy.recall:.4f} without "
        f"(precision {overall.precision:.4f} / {overall_without_fuzzy.precision:.4f})"
    )

    assert overall.recall >= MIN_RECALL
    assert overall.precision >= MIN_PRECISION
    assert len(fuzzy_pairs) >= 50, "the demo generation makes fuzzy-only duplicates"
    assert len(found_only_by_fuzzy) >= MIN_FUZZY_ONLY_RECALL * len(fuzzy_pairs)
    assert overall_without_fuzzy.recall < overall.recall
