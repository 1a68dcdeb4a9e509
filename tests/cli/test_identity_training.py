"""Training the identity match model without labels (cli/identity_training.py).

EM must recover the m probabilities that generated synthetic comparison vectors, be deterministic, and write
seeds that dbt loads; `warehouse identity train` retrains on a warehouse and rewrites them.
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from cli import identity_training as training
from cli.identity_training import LEVELS, ComparisonVectors, Parameters

TRUE_M = {
    "first_name": {"exact": 0.85, "nickname": 0.03, "close": 0.05, "similar": 0.03, "different": 0.04},
    "last_name": {"exact": 0.88, "close": 0.06, "similar": 0.03, "different": 0.03},
    "date_of_birth": {"exact": 0.9, "day_month_swapped": 0.01, "one_digit_off": 0.05, "same_year": 0.01,
                      "different": 0.03},
    "phone": {"exact": 0.8, "one_edit": 0.1, "different": 0.1},
    "address": {"exact": 0.7, "close": 0.15, "different": 0.15},
    "postal_code": {"exact": 0.9, "one_edit": 0.05, "different": 0.05},
    "city": {"exact": 0.9, "close": 0.05, "different": 0.05},
}
TRUE_U = {
    "first_name": {"exact": 0.01, "nickname": 0.002, "close": 0.003, "similar": 0.03, "different": 0.955},
    "last_name": {"exact": 0.005, "close": 0.002, "similar": 0.03, "different": 0.963},
    "date_of_birth": {"exact": 0.0003, "day_month_swapped": 0.0001, "one_digit_off": 0.002, "same_year": 0.02,
                      "different": 0.9776},
    "phone": {"exact": 0.0005, "one_edit": 0.0005, "different": 0.999},
    "address": {"exact": 0.001, "close": 0.001, "different": 0.998},
    "postal_code": {"exact": 0.01, "one_edit": 0.01, "different": 0.98},
    "city": {"exact": 0.05, "close": 0.01, "different": 0.94},
}


def synthetic_vectors(pairs: int, match_share: float, null_share: float, seed: int) -> ComparisonVectors:
    """Comparison vectors drawn from TRUE_M (matches) and TRUE_U (non-matches), some fields missing."""
    rng = np.random.default_rng(seed)
    comparisons = tuple(LEVELS)
    is_match = rng.random(pairs) < match_share
    columns = []
    for comparison in comparisons:
        levels = list(LEVELS[comparison])
        m = [TRUE_M[comparison][level] for level in levels]
        u = [TRUE_U[comparison][level] for level in levels]
        drawn = np.where(is_match, rng.choice(len(levels), pairs, p=m), rng.choice(len(levels), pairs, p=u))
        names = np.array(levels, dtype=object)[drawn]
        names[rng.random(pairs) < null_share] = training.NULL_LEVEL
        columns.append(names)
    counts = Counter(zip(*columns, strict=True))
    ordered = sorted(counts)
    return ComparisonVectors(comparisons, tuple(ordered), tuple(counts[v] for v in ordered))


def test_em_recovers_known_m_and_the_prior_from_unlabelled_pairs() -> None:
    vectors = synthetic_vectors(pairs=60_000, match_share=0.2, null_share=0.1, seed=1)

    parameters = training.expectation_maximisation(vectors, TRUE_U)

    assert parameters.converged
    assert parameters.prior == pytest.approx(0.2, abs=0.01)
    for comparison, levels in TRUE_M.items():
        for level, m in levels.items():
            assert parameters.m[comparison][level] == pytest.approx(m, abs=0.015), (comparison, level)


def test_u_is_each_levels_share_of_the_random_pairs_that_have_the_field() -> None:
    random_pairs = synthetic_vectors(pairs=200_000, match_share=0.0, null_share=0.3, seed=2)

    u = training.estimate_u(random_pairs)

    for comparison, levels in TRUE_U.items():
        assert sum(u[comparison].values()) == pytest.approx(1.0)
        for level, expected in levels.items():
            assert u[comparison][level] == pytest.approx(expected, abs=0.003), (comparison, level)


def test_training_is_deterministic() -> None:
    vectors = synthetic_vectors(pairs=20_000, match_share=0.1, null_share=0.2, seed=3)

    first = training.expectation_maximisation(vectors, TRUE_U)
    second = training.expectation_maximisation(vectors, TRUE_U)

    assert training.parameters_csv(first) == training.parameters_csv(second)
    assert first.prior == second.prior


def test_a_stronger_level_never_weighs_less_than_a_weaker_one() -> None:
    # nicknames never seen in training (m at the floor) would otherwise weigh far below "different"
    m = {"exact": 0.8, "nickname": 1e-6, "close": 0.1, "similar": 0.05, "different": 0.05}
    u = {"exact": 0.01, "nickname": 0.001, "close": 0.002, "similar": 0.03, "different": 0.957}

    raised = training.monotone(m, u, LEVELS["first_name"])

    ratios = [raised[level] / u[level] for level in LEVELS["first_name"]]
    assert sum(raised.values()) == pytest.approx(1.0)
    assert raised["nickname"] / u["nickname"] >= raised["close"] / u["close"] * 0.99
    assert all(ratios[i] >= ratios[i + 1] * 0.99 for i in range(1, len(ratios) - 1))


def _parameters() -> Parameters:
    return Parameters(m=TRUE_M, u=TRUE_U, prior=0.05, iterations=7, converged=True)


def test_write_seeds_versions_the_parameters(tmp_path: Path) -> None:
    shutil.copy(training.TRAINING_SEED, tmp_path / training.TRAINING_SEED.name)
    before = training.current_version(tmp_path / training.TRAINING_SEED.name)
    sizes = {"records": 10, "blocked_pairs": 20, "random_pairs": 30}

    version = training.write_seeds(_parameters(), sizes, "synthetic", seeds_dir=tmp_path)

    assert version == before + 1
    with (tmp_path / training.PARAMETERS_SEED.name).open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert {(row["comparison"], row["level"]) for row in rows} == {(c, lv) for c in LEVELS for lv in LEVELS[c]}
    with (tmp_path / training.TRAINING_SEED.name).open(newline="") as f:
        (meta,) = list(csv.DictReader(f))
    assert (meta["training_data"], meta["blocked_pairs"]) == ("synthetic", "20")
    assert meta["prior_match_probability"] == "0.05"


def test_the_checked_in_parameters_cover_every_level_and_say_where_they_come_from() -> None:
    with training.PARAMETERS_SEED.open(newline="") as f:
        rows = list(csv.DictReader(f))
    with training.TRAINING_SEED.open(newline="") as f:
        (meta,) = list(csv.DictReader(f))

    assert {(row["comparison"], row["level"]) for row in rows} == {(c, lv) for c in LEVELS for lv in LEVELS[c]}
    assert all(0 < float(row["m_probability"]) <= 1 and 0 < float(row["u_probability"]) <= 1 for row in rows)
    assert "FEBRL2" in meta["training_data"]
    assert 0 < float(meta["prior_match_probability"]) < 1
