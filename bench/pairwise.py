"""Pairwise scoring of an identity map against a true clustering: the one definition tests and bench share.

An identity map is a clustering of source records (`marts.customer_identity_map`: record -> customer_id); the
truth is another (record -> person). The measure is pairwise: of the record pairs the map puts under one
customer_id, the share that are one person (precision); of the pairs that are one person, the share the map puts
together (recall); F1 their harmonic mean. Counts are kept per pair of source systems, so a shortfall says which
kind of link is missing or wrong. Counting is linear in the number of records (pairs are counted per cluster);
only the listing of errors (`false_merges`, `missed_pairs`) enumerates pairs, and it stops at a limit.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import duckdb

Record = tuple[str, str]
"""(source_system, source_id), as in customer_identity_map and _truth/identity.csv."""
SystemPair = tuple[str, str]


@dataclass(frozen=True)
class PairCounts:
    """Record pairs that are one person (true), put together (predicted), and both (correct)."""

    true_pairs: int = 0
    predicted_pairs: int = 0
    correct_pairs: int = 0

    @property
    def precision(self) -> float:
        """1.0 when nothing was put together: no pair was wrongly merged."""
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        """1.0 when there is nothing to find."""
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        precision, recall = self.precision, self.recall
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    @property
    def false_merges(self) -> int:
        """Pairs of different people put under one customer."""
        return self.predicted_pairs - self.correct_pairs

    def __add__(self, other: PairCounts) -> PairCounts:
        return PairCounts(
            self.true_pairs + other.true_pairs,
            self.predicted_pairs + other.predicted_pairs,
            self.correct_pairs + other.correct_pairs,
        )


def _pairs_by_system(groups: Iterable[Counter[str]]) -> Counter[SystemPair]:
    """Number of record pairs within each group, split by the (sorted) source systems of the two records."""
    pairs: Counter[SystemPair] = Counter()
    for systems in groups:
        names = sorted(systems)
        for i, left in enumerate(names):
            pairs[(left, left)] += systems[left] * (systems[left] - 1) // 2
            for right in names[i + 1 :]:
                pairs[(left, right)] += systems[left] * systems[right]
    return +pairs


def pairwise_counts(predicted: Mapping[Record, str], truth: Mapping[Record, str]) -> dict[SystemPair, PairCounts]:
    """Pair counts per pair of source systems, over the records of `truth`.

    `predicted` and `truth` map each record to its cluster (customer_id, person_id). A truth record missing
    from `predicted` is a cluster of its own; predicted records unknown to the truth are ignored.
    """
    true_groups: dict[str, Counter[str]] = {}
    predicted_groups: dict[object, Counter[str]] = {}
    correct_groups: dict[tuple[object, str], Counter[str]] = {}
    for record, person in truth.items():
        system = record[0]
        cluster: object = predicted.get(record, ("missing", record))
        true_groups.setdefault(person, Counter())[system] += 1
        predicted_groups.setdefault(cluster, Counter())[system] += 1
        correct_groups.setdefault((cluster, person), Counter())[system] += 1
    true_pairs = _pairs_by_system(true_groups.values())
    predicted_pairs = _pairs_by_system(predicted_groups.values())
    correct_pairs = _pairs_by_system(correct_groups.values())
    return {
        pair: PairCounts(true_pairs[pair], predicted_pairs[pair], correct_pairs[pair])
        for pair in sorted(set(true_pairs) | set(predicted_pairs))
    }


def total(counts: Mapping[SystemPair, PairCounts]) -> PairCounts:
    return sum(counts.values(), PairCounts())


def score(predicted: Mapping[Record, str], truth: Mapping[Record, str]) -> PairCounts:
    """The overall pair counts of `predicted` against `truth`."""
    return total(pairwise_counts(predicted, truth))


def report(counts: Mapping[SystemPair, PairCounts]) -> str:
    """A small table of the figures, overall and per pair of systems (what the README shows)."""
    lines = [f"{'pairs':<22}{'true':>9}{'predicted':>11}{'correct':>9}{'precision':>11}{'recall':>8}{'f1':>8}"]
    for name, c in [*((" - ".join(pair), c) for pair, c in counts.items()), ("all", total(counts))]:
        lines.append(
            f"{name:<22}{c.true_pairs:>9,}{c.predicted_pairs:>11,}{c.correct_pairs:>9,}"
            f"{c.precision:>11.4f}{c.recall:>8.4f}{c.f1:>8.4f}"
        )
    return "\n".join(lines)


def _groups(mapping: Mapping[Record, object]) -> list[list[Record]]:
    by_cluster: dict[object, list[Record]] = defaultdict(list)
    for record, cluster in mapping.items():
        by_cluster[cluster].append(record)
    return [sorted(records) for records in by_cluster.values() if len(records) > 1]


def false_merges(
    predicted: Mapping[Record, str], truth: Mapping[Record, str], limit: int = 1_000
) -> list[tuple[Record, Record]]:
    """Up to `limit` record pairs the map puts under one customer that are different people (truth records)."""
    known = {record: cluster for record, cluster in predicted.items() if record in truth}
    found: list[tuple[Record, Record]] = []
    for records in sorted(_groups(known)):
        for left, right in combinations(records, 2):
            if truth[left] != truth[right]:
                found.append((left, right))
                if len(found) >= limit:
                    return found
    return found


def missed_pairs(
    predicted: Mapping[Record, str], truth: Mapping[Record, str], limit: int = 1_000
) -> list[tuple[Record, Record]]:
    """Up to `limit` record pairs of one person that the map keeps under different customers."""
    found: list[tuple[Record, Record]] = []
    for records in sorted(_groups(truth)):
        for left, right in combinations(records, 2):
            if predicted.get(left, left) != predicted.get(right, right):
                found.append((left, right))
                if len(found) >= limit:
                    return found
    return found


def read_truth(landing_dir: Path) -> dict[Record, str]:
    """`_truth/identity.csv` of a landing folder (docs/contracts.md section 1): record -> person."""
    with (landing_dir / "_truth" / "identity.csv").open(newline="", encoding="utf-8") as f:
        return {(row["source_system"], row["source_id"]): row["person_id"] for row in csv.DictReader(f)}


def read_map(warehouse_path: Path) -> dict[Record, str]:
    """`marts.customer_identity_map` of a warehouse: record -> customer_id."""
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        rows = con.sql("select source_system, source_id, customer_id from marts.customer_identity_map").fetchall()
    return {(system, source_id): customer_id for system, source_id, customer_id in rows}
