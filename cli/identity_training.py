"""Train the identity match model's parameters without labels, and save them as versioned seeds.

The Fellegi-Sunter model (docs/identity.md) weighs each field's comparison level by log2(m / u):
- u = P(level | different people) is estimated from random record pairs (int_identity_pairs_sampled), which
  are almost all pairs of different people;
- m = P(level | same person) is estimated by expectation-maximisation over the blocked pairs
  (int_identity_pairs_compared), u held fixed, in sessions as Splink trains: the pairs of one kind of block,
  the fields that block agrees on left out (pairs sharing a postal code all agree on it, which says nothing
  about matches): the name-prefix block trains every field but the names, the date-of-birth block every
  field but the date of birth. A field trained in both sessions takes the mean of the two.
- the prior lambda, the share of blocked pairs that are one person, by EM over all blocked pairs, m and u
  held fixed.
Identical comparison vectors are counted once with their multiplicity, so an iteration costs the number of
distinct vectors (hundreds), not of pairs.

Training is deterministic (no sampling here: the random pairs are chosen in SQL by a hash) and explicit:
`warehouse identity train` builds the comparison tables, calls `train`, and rewrites the two seeds. The pipeline
only reads the seeds, so a run is repeatable until someone retrains.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np

from core.settings import PROJECT_ROOT

SEEDS_DIR = PROJECT_ROOT / "dbt_project" / "seeds" / "identity"
PARAMETERS_SEED = SEEDS_DIR / "identity_match_parameters.csv"
TRAINING_SEED = SEEDS_DIR / "identity_match_training.csv"
PARAMETERS_HEADER = ("comparison", "level", "m_probability", "u_probability")
TRAINING_HEADER = (
    "parameters_version", "trained_at", "training_data", "records", "blocked_pairs", "random_pairs",
    "em_iterations", "prior_match_probability",
)

NULL_LEVEL = "null"
LEVELS: dict[str, tuple[str, ...]] = {
    "first_name": ("exact", "nickname", "close", "similar", "different"),
    "last_name": ("exact", "close", "similar", "different"),
    "date_of_birth": ("exact", "day_month_swapped", "one_digit_off", "same_year", "different"),
    "phone": ("exact", "one_edit", "different"),
    "address": ("exact", "close", "different"),
    "postal_code": ("exact", "one_edit", "different"),
    "city": ("exact", "close", "different"),
}
"""Every comparison and its levels, strongest agreement first, as macros/identity/identity_comparisons.sql
writes them; 'null' (a field either record lacks) is no evidence and has no parameters."""

MINIMUM_PROBABILITY = 1e-6
"""No m or u is 0: a level never seen in training still has a finite weight."""
STARTING_M = {"exact": 0.8, "different": 0.02}
"""EM's starting m: most of a match's mass on exact, little on different, the rest spread evenly."""
STARTING_PRIOR = 0.1
SESSIONS: dict[str, tuple[str, ...]] = {
    "name_prefixes": ("first_name", "last_name"),
    "date_of_birth": ("date_of_birth",),
}
"""Training sessions: a block of int_identity_pairs_blocked -> the comparisons it fixes (not trained on it)."""


@dataclass(frozen=True)
class ComparisonVectors:
    """Distinct comparison vectors (one level per comparison, or 'null') and how many pairs have each."""

    comparisons: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    counts: tuple[int, ...]

    @property
    def pairs(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Parameters:
    """m and u per (comparison, level), the prior, and how EM went."""

    m: dict[str, dict[str, float]]
    u: dict[str, dict[str, float]]
    prior: float
    iterations: int
    converged: bool


def estimate_u(random_pairs: ComparisonVectors) -> dict[str, dict[str, float]]:
    """Each level's share among the random pairs that have the field (not 'null'), floored above 0."""
    u: dict[str, dict[str, float]] = {}
    for i, comparison in enumerate(random_pairs.comparisons):
        totals = dict.fromkeys(LEVELS[comparison], 0)
        for levels, count in zip(random_pairs.levels, random_pairs.counts, strict=True):
            if levels[i] != NULL_LEVEL:
                totals[levels[i]] += count
        known = sum(totals.values())
        u[comparison] = _normalized({level: (count / known if known else 0.0) for level, count in totals.items()})
    return u


def _normalized(probabilities: Mapping[str, float]) -> dict[str, float]:
    floored = {level: max(p, MINIMUM_PROBABILITY) for level, p in probabilities.items()}
    total = sum(floored.values())
    return {level: p / total for level, p in floored.items()}


def _starting_m(comparison: str) -> dict[str, float]:
    levels = LEVELS[comparison]
    rest = [level for level in levels if level not in STARTING_M]
    spread = (1.0 - sum(STARTING_M.values())) / len(rest) if rest else 0.0
    return _normalized({level: STARTING_M.get(level, spread) for level in levels})


def expectation_maximisation(
    blocked_pairs: ComparisonVectors,
    u: Mapping[str, Mapping[str, float]],
    *,
    max_iterations: int = 200,
    tolerance: float = 1e-7,
    fixed_m: Mapping[str, Mapping[str, float]] | None = None,
) -> Parameters:
    """m and the prior by EM over the blocked pairs, u fixed. Deterministic: same input, same output.

    E step: each vector's match probability under the current m, u and prior ('null' levels are left out of
    both likelihoods). M step: m of a level is the expected share of matches having it among the matches
    that have the field; the prior is the expected share of matches. Stops when no parameter moves more than
    `tolerance`, or after `max_iterations`. With `fixed_m`, m stays as given and only the prior is estimated.
    """
    comparisons = blocked_pairs.comparisons
    counts = np.asarray(blocked_pairs.counts, dtype=float)
    # one-hot level indicators per comparison: shape (vectors, levels)
    indicators = {
        comparison: np.array(
            [[levels[i] == level for level in LEVELS[comparison]] for levels in blocked_pairs.levels], dtype=float
        )
        for i, comparison in enumerate(comparisons)
    }
    u_vectors = {c: np.array([u[c][level] for level in LEVELS[c]]) for c in comparisons}
    starting = fixed_m or {c: _starting_m(c) for c in comparisons}
    m_vectors = {c: np.array([starting[c][level] for level in LEVELS[c]]) for c in comparisons}
    log_u = sum((indicators[c] @ np.log(u_vectors[c]) for c in comparisons), np.zeros(len(counts)))
    prior = STARTING_PRIOR
    converged, iteration = False, 0
    for iteration in range(1, max_iterations + 1):  # noqa: B007 - the last value is reported
        log_m = sum((indicators[c] @ np.log(m_vectors[c]) for c in comparisons), np.zeros(len(counts)))
        log_odds = np.log(prior) - np.log1p(-prior) + log_m - log_u
        match = counts / (1.0 + np.exp(-np.clip(log_odds, -700, 700)))
        new_m = dict(m_vectors)
        for c in comparisons if fixed_m is None else ():
            expected = match @ indicators[c]
            total = expected.sum()
            shares = expected / total if total > 0 else m_vectors[c]
            new_m[c] = np.array(list(_normalized(dict(zip(LEVELS[c], shares, strict=True))).values()))
        new_prior = float(np.clip(match.sum() / counts.sum(), MINIMUM_PROBABILITY, 1 - MINIMUM_PROBABILITY))
        change = max(abs(new_prior - prior), *(np.abs(new_m[c] - m_vectors[c]).max() for c in comparisons))
        m_vectors, prior = new_m, new_prior
        if change < tolerance:
            converged = True
            break
    return Parameters(
        m={c: dict(zip(LEVELS[c], map(float, m_vectors[c]), strict=True)) for c in comparisons},
        u={c: dict(u[c]) for c in comparisons},
        prior=prior,
        iterations=iteration,
        converged=converged,
    )


def monotone(m: Mapping[str, float], u: Mapping[str, float], levels: Sequence[str]) -> dict[str, float]:
    """m raised where a level would weigh less than a weaker one: levels are listed from the strongest agreement
    to 'different', and agreeing more is never less evidence of a match. Without this a level the training
    data never shows (nicknames in FEBRL) would get the floor m and a large negative weight.
    """
    raised = dict(m)
    best_weaker = 0.0
    for level in reversed(levels):
        ratio = raised[level] / u[level]
        if ratio < best_weaker:
            raised[level] = u[level] * best_weaker
        best_weaker = max(best_weaker, raised[level] / u[level])
    total = sum(raised.values())
    return {level: p / total for level, p in raised.items()}


def read_vectors(
    con: duckdb.DuckDBPyConnection, table: str, comparisons: Sequence[str] = tuple(LEVELS), block: str | None = None
) -> ComparisonVectors:
    """The distinct vectors of `comparisons` in a comparison-level table (only the pairs sharing `block`, when
    given) and their counts, in a stable order."""
    columns = ", ".join(f"{c}_level" for c in comparisons)
    where = f"where list_contains(string_split(blocks, ', '), '{block}')" if block else ""
    rows = con.sql(f"select {columns}, count(*) from {table} {where} group by all order by all").fetchall()
    return ComparisonVectors(comparisons, tuple(tuple(row[:-1]) for row in rows), tuple(row[-1] for row in rows))


def train(warehouse_path: Path) -> tuple[Parameters, dict[str, int]]:
    """Train on a warehouse whose int_identity_pairs_compared and int_identity_pairs_sampled are built."""
    blocked_table = "intermediate.int_identity_pairs_compared"
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        blocked = read_vectors(con, blocked_table)
        random_pairs = read_vectors(con, "intermediate.int_identity_pairs_sampled")
        (records,) = con.sql("select count(*) from intermediate.int_identity_records_standardized").fetchone()
        sessions = {
            block: read_vectors(con, blocked_table, [c for c in LEVELS if c not in fixed], block)
            for block, fixed in SESSIONS.items()
        }
    if not blocked.pairs or not random_pairs.pairs:
        raise ValueError("no compared pairs to train on: build the warehouse's identity models first")
    u = estimate_u(random_pairs)
    trained: dict[str, list[dict[str, float]]] = {c: [] for c in LEVELS}
    iterations = 0
    for vectors in sessions.values():
        if vectors.pairs:
            session = expectation_maximisation(vectors, u)
            iterations += session.iterations
            for comparison, m in session.m.items():
                trained[comparison].append(m)
    m = {
        c: _normalized({level: float(np.mean([s[level] for s in ms])) for level in LEVELS[c]}) if ms else _starting_m(c)
        for c, ms in trained.items()
    }
    m = {c: monotone(m[c], u[c], LEVELS[c]) for c in m}
    overall = expectation_maximisation(blocked, u, fixed_m=m)
    parameters = Parameters(m=m, u=overall.u, prior=overall.prior, iterations=iterations + overall.iterations,
                            converged=overall.converged)
    return parameters, {"records": int(records), "blocked_pairs": blocked.pairs, "random_pairs": random_pairs.pairs}


def parameters_csv(parameters: Parameters) -> str:
    """The parameters seed's text: sorted by comparison and level, six significant digits, '\\n' line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PARAMETERS_HEADER)
    for comparison in sorted(parameters.m):
        for level in sorted(parameters.m[comparison]):
            writer.writerow(
                (comparison, level, f"{parameters.m[comparison][level]:.6g}", f"{parameters.u[comparison][level]:.6g}")
            )
    return buffer.getvalue()


def current_version(training_seed: Path = TRAINING_SEED) -> int:
    """The version of the parameters now in the seed (0 when there is none)."""
    if not training_seed.exists():
        return 0
    with training_seed.open(newline="", encoding="utf-8") as f:
        versions = [int(row["parameters_version"]) for row in csv.DictReader(f)]
    return max(versions, default=0)


def write_seeds(
    parameters: Parameters,
    sizes: Mapping[str, int],
    training_data: str,
    *,
    seeds_dir: Path = SEEDS_DIR,
    trained_at: datetime | None = None,
) -> int:
    """Rewrite identity_match_parameters.csv and identity_match_training.csv; returns the new version."""
    version = current_version(seeds_dir / TRAINING_SEED.name) + 1
    (seeds_dir / PARAMETERS_SEED.name).write_text(parameters_csv(parameters), encoding="utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRAINING_HEADER)
    writer.writerow((
        version,
        (trained_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        training_data,
        sizes["records"],
        sizes["blocked_pairs"],
        sizes["random_pairs"],
        parameters.iterations,
        f"{parameters.prior:.6g}",
    ))
    (seeds_dir / TRAINING_SEED.name).write_text(buffer.getvalue(), encoding="utf-8")
    return version


def match_weights(parameters: Parameters) -> list[tuple[str, str, float]]:
    """(comparison, level, log2(m / u)) for every level: the weights a person reads after training."""
    rows: Sequence[tuple[str, str, float]] = [
        (c, level, float(np.log2(parameters.m[c][level] / parameters.u[c][level])))
        for c in parameters.m
        for level in LEVELS[c]
    ]
    return list(rows)
