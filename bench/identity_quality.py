"""Identity resolution measured on data nobody tuned it for, through the real pipeline, beside Splink 5.

`python -m bench.identity_quality [--datasets febrl1,households] [--out bench/results.json]
[--details-dir bench/results] [--work-dir bench/work/identity]`

For each data set: write its landing files (with `_truth/identity.csv`), load them with the real dlt sources,
`dbt build` the identity models and what they need, read `marts.customer_identity_map` and score it pairwise
against the truth (bench.pairwise); then run Splink on the same standardized records read from the warehouse
(bench.splink_reference) and score it the same way. Data sets:

- `generator`: the demo generator at the tests' demo scale (2,000 customers, 60 days, seed 42), its truth files;
- `febrl1`, `febrl2`, `febrl4`: FEBRL's public data sets as HubSpot contacts without emails (bench.febrl);
- `households`: different people at one address (bench.households); false merges must be zero.

Writes `identity_quality.<dataset>` and `identity_quality_splink.<dataset>` (precision, recall, f1, pair counts,
seconds) into the results file, keeping every other key, and `<details-dir>/identity_<dataset>.json`: the
false merges and missed pairs of both, with the standardized values of each record, for analysis.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from bench import febrl, households
from bench.pairwise import PairCounts, Record, false_merges, missed_pairs, read_map, read_truth, score
from core.settings import PROJECT_ROOT, Settings, environment_under, get_settings

DATASETS = ("generator", "febrl1", "febrl2", "febrl4", "households")
PRODUCT_KEY = "identity_quality"
SPLINK_KEY = "identity_quality_splink"
RESULT_KEYS = (PRODUCT_KEY, SPLINK_KEY)
"""Top-level keys of bench/results.json this module owns (the others are scales and the collector run)."""

GENERATOR_CUSTOMERS = 2_000
GENERATOR_DAYS = 60
GENERATOR_SEED = 42
GENERATOR_AS_OF = datetime(2026, 11, 23, 12, 0)
"""The tests' demo scale (tests/conftest.py): the generator's quality bar is stated for this size."""

DBT_SELECTION = ["--select", "+customer_identity_map", "--indirect-selection", "cautious"]
"""The identity map and everything it is built from, with the tests whose models are all selected."""
ERRORS_LISTED = 500
"""False merges and missed pairs listed per side in a details file (the counts are always complete)."""

BENCH_DIR = PROJECT_ROOT / "bench"
_DBT_FAILURE = re.compile(r"\b(?:Failure|Error) in (?:test|unit_test|model|seed|snapshot) [^\n]*")


@dataclass
class Side:
    """One matcher's result on one data set."""

    counts: PairCounts
    seconds: float
    clusters: dict[Record, str]
    extra: dict[str, Any] = field(default_factory=dict)
    scored_records: int | None = None
    """Truth records scored, when fewer than the data set's (Splink on the generator: CRM and shop only)."""
    same_records_as_splink: PairCounts | None = None
    """The product's counts over the records Splink scored, when those are fewer than the data set's."""

    def figures(self) -> dict[str, Any]:
        figures: dict[str, Any] = {**_figures(self.counts), "seconds": round(self.seconds, 1)}
        if self.scored_records is not None:
            figures["scored_records"] = self.scored_records
        if self.same_records_as_splink is not None:
            figures["same_records_as_splink"] = _figures(self.same_records_as_splink)
        return figures


def _figures(c: PairCounts) -> dict[str, Any]:
    return {
        "precision": round(c.precision, 6),
        "recall": round(c.recall, 6),
        "f1": round(c.f1, 6),
        "true_pairs": c.true_pairs,
        "predicted_pairs": c.predicted_pairs,
        "correct_pairs": c.correct_pairs,
        "false_merges": c.false_merges,
    }


@dataclass
class Measurement:
    dataset: str
    records: int
    truth: dict[Record, str]
    warehouse_path: Path
    product: Side
    splink: Side | None
    steps_s: dict[str, float]
    dbt_failures: list[str]
    """What failed in the `dbt build` with tests; when any did, the figures are of models built without tests."""


@contextmanager
def product_environment(values: Mapping[str, str]) -> Iterator[Settings]:
    """The process environment set to `values` for the duration; returns the product's settings read from it."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield get_settings()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def write_landing(dataset: str, landing_dir: Path) -> dict[Record, str]:
    """The data set's landing files and truth under `landing_dir`; returns the truth."""
    if dataset == "generator":
        from demo_data.generator import GeneratorConfig, generate

        config = GeneratorConfig(
            customers=GENERATOR_CUSTOMERS, days=GENERATOR_DAYS, seed=GENERATOR_SEED, as_of=GENERATOR_AS_OF
        )
        generate(config, landing_dir)
        return read_truth(landing_dir)
    if dataset == "households":
        return households.write_landing(landing_dir)
    if dataset in febrl.DATASETS:
        return febrl.write_landing(dataset, landing_dir)
    raise ValueError(f"unknown data set {dataset!r}: expected one of {', '.join(DATASETS)}")


def deployment_settings(dataset: str) -> dict[str, str]:
    """The generator's data is the demo shop's (its staff network and test-order address); the public sets
    come from no shop, so they run with none of those settings, as a new deployment would."""
    if dataset != "generator":
        return {}
    from scripts.demo_settings import demo_settings

    return demo_settings()


def dbt_failures(output: str) -> list[str]:
    """The nodes dbt reports as failed or errored in its summary (`Failure in test x`, `Error in model y`)."""
    return sorted({match.group(0).strip() for match in _DBT_FAILURE.finditer(output)})


def measure(
    dataset: str,
    work_dir: Path,
    with_splink: bool = True,
    log: Callable[[str], None] = print,
) -> Measurement:
    """Landing -> load -> dbt build -> the identity map scored; then Splink on the same records."""
    from core.dbt_cli import DbtError, run_dbt
    from ingestion.pipelines import SYSTEMS, load

    root = work_dir / dataset
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    steps: dict[str, float] = {}
    with product_environment({**environment_under(root), **deployment_settings(dataset)}) as settings:
        started = time.perf_counter()
        truth = write_landing(dataset, settings.landing_dir)
        steps["landing_s"] = time.perf_counter() - started
        log(f"[{dataset}] {len(truth):,} records written in {steps['landing_s']:.1f} s; loading")
        started = time.perf_counter()
        load(SYSTEMS, settings)
        steps["load_s"] = time.perf_counter() - started
        log(f"[{dataset}] loaded in {steps['load_s']:.1f} s; dbt build")
        started = time.perf_counter()
        result = run_dbt(["build", *DBT_SELECTION], settings, target_path=root / "dbt_target", check=False)
        failures = dbt_failures(result.output) if not result.success else []
        if failures:
            # a failing test skips the models after it: build them without tests, and say so in the details
            log(f"[{dataset}] dbt build failed ({'; '.join(failures)}); building the models without tests")
            result = run_dbt(
                ["build", *DBT_SELECTION, "--exclude", "resource_type:test", "resource_type:unit_test"],
                settings,
                target_path=root / "dbt_target",
                check=False,
            )
        steps["dbt_build_s"] = time.perf_counter() - started
        try:
            predicted = read_map(settings.warehouse_path)
        except duckdb.Error as error:
            raise DbtError(f"dbt build made no identity map for {dataset}:\n{result.output[-4000:]}") from error
    product = Side(score(predicted, truth), steps["load_s"] + steps["dbt_build_s"], predicted)
    log(
        f"[{dataset}] product: precision {product.counts.precision:.4f} recall {product.counts.recall:.4f} "
        f"f1 {product.counts.f1:.4f} ({product.counts.false_merges:,} false merges) in {steps['dbt_build_s']:.1f} s"
        + (f"; dbt reported {len(failures)} failures" if failures else "")
    )
    splink_side = None
    if with_splink:
        from bench import splink_reference

        started = time.perf_counter()
        reference = splink_reference.run(settings.warehouse_path)
        seen = {record: person for record, person in truth.items() if record in reference.clusters}
        splink_side = Side(
            score(reference.clusters, seen),
            time.perf_counter() - started,
            reference.clusters,
            {"links": reference.links, "threshold": splink_reference.THRESHOLD, "model": reference.parameters},
            scored_records=len(seen),
        )
        if len(seen) < len(truth):
            # Splink sees CRM and shop records only: the product's figures on those same records, beside
            product.same_records_as_splink = score(predicted, seen)
        log(
            f"[{dataset}] Splink: precision {splink_side.counts.precision:.4f} recall "
            f"{splink_side.counts.recall:.4f} f1 {splink_side.counts.f1:.4f} in {splink_side.seconds:.1f} s"
        )
    return Measurement(dataset, len(truth), truth, settings.warehouse_path, product, splink_side, steps, failures)


def standardized_values(warehouse_path: Path, records: set[Record]) -> dict[Record, dict[str, Any]]:
    """The values the identity models compare, per record (int_identity_records_standardized)."""
    if not records:
        return {}
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        relation = con.sql("select * from intermediate.int_identity_records_standardized")
        columns = relation.columns
        rows = relation.fetchall()
    values = {}
    for row in rows:
        named = dict(zip(columns, row, strict=True))
        system, _, source_id = str(named["record_key"]).partition(":")
        if (system, source_id) in records:
            values[(system, source_id)] = {k: v for k, v in named.items() if v is not None and k != "record_key"}
    return values


def _scored(side: Side, truth: Mapping[Record, str]) -> Mapping[Record, str]:
    """The truth records a side was scored over."""
    if side.scored_records is None or side.scored_records == len(truth):
        return truth
    return {record: person for record, person in truth.items() if record in side.clusters}


def details(measurement: Measurement) -> dict[str, Any]:
    """The details file: figures, step times, and the errors of each side with the records' values."""
    truth = measurement.truth
    sides = {"product": measurement.product, "splink": measurement.splink}
    errors = {
        name: {
            "false_merges": false_merges(side.clusters, truth, ERRORS_LISTED),
            "missed_pairs": missed_pairs(side.clusters, _scored(side, truth), ERRORS_LISTED),
        }
        for name, side in sides.items()
        if side is not None
    }
    listed = {record for lists in errors.values() for pairs in lists.values() for pair in pairs for record in pair}
    values = standardized_values(measurement.warehouse_path, listed)

    def described(pair: tuple[Record, Record]) -> dict[str, Any]:
        return {
            f"{side}": {"record": ":".join(record), "person": truth[record], **values.get(record, {})}
            for side, record in zip(("left", "right"), pair, strict=True)
        }

    return {
        "dataset": measurement.dataset,
        "records": measurement.records,
        "steps_s": {name: round(seconds, 1) for name, seconds in measurement.steps_s.items()},
        "dbt_failures": measurement.dbt_failures,
        **{
            name: {
                **side.figures(),
                **{k: v for k, v in side.extra.items()},
                "false_merges_listed": [described(pair) for pair in errors[name]["false_merges"]],
                "missed_pairs_listed": [described(pair) for pair in errors[name]["missed_pairs"]],
            }
            for name, side in sides.items()
            if side is not None
        },
    }


def merge_into_results(path: Path, measurements: list[Measurement]) -> dict[str, Any]:
    """Each measured data set replaces its own figures under the two keys; every other key is kept."""
    results: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    for measurement in measurements:
        product = results.setdefault(PRODUCT_KEY, {})
        product[measurement.dataset] = {"records": measurement.records, **measurement.product.figures()}
        if measurement.splink is not None:
            results.setdefault(SPLINK_KEY, {})[measurement.dataset] = {
                "records": measurement.records,
                **measurement.splink.figures(),
            }
    for key in RESULT_KEYS:
        if key in results:
            results[key] = {name: results[key][name] for name in DATASETS if name in results[key]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    return results


def run(
    datasets: list[str],
    work_dir: Path,
    details_dir: Path,
    out: Path,
    with_splink: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Measure `datasets`, write their details files and merge their figures into `out`; returns the results."""
    details_dir.mkdir(parents=True, exist_ok=True)
    measurements = []
    for dataset in datasets:
        measurement = measure(dataset, work_dir.resolve(), with_splink, log)
        path = details_dir / f"identity_{dataset}.json"
        path.write_text(json.dumps(details(measurement), indent=2, default=str) + "\n")
        measurements.append(measurement)
    return merge_into_results(out, measurements)


def parse_datasets(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in DATASETS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown data set(s) {', '.join(unknown)}: expected {', '.join(DATASETS)}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.identity_quality", description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=parse_datasets, default=list(DATASETS), help=",".join(DATASETS))
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results.json", help="results file (merged)")
    parser.add_argument("--details-dir", type=Path, default=BENCH_DIR / "results", help="identity_<dataset>.json")
    parser.add_argument("--work-dir", type=Path, default=BENCH_DIR / "work" / "identity", help="one folder a set")
    parser.add_argument("--no-splink", action="store_true", help="measure the product only")
    args = parser.parse_args(argv)
    results = run(args.datasets, args.work_dir, args.details_dir, args.out, not args.no_splink)
    from bench.report import identity_lines

    print("\n".join(identity_lines(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
