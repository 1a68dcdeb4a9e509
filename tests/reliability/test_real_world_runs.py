"""Data nobody here wrote keeps flowing: absent systems, vendor examples, odd values, the README's increment.

Each deployment is run by the real `warehouse run` command, on its own landing directory and DuckDB files, and
the tests read what it built: the exit code, every check's verdict from its Dagster instance, the marts of the
serving copy and the flags in staging.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.conftest import settings_for

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parents[1] / "fixtures"
SYSTEMS = ("crm", "shop", "analytics")
FACTS_BY_SYSTEM = {
    "crm": (),
    "shop": ("fct_orders", "fct_order_lines", "dim_products"),
    "analytics": ("fct_events", "fct_sessions"),
}


@dataclass(frozen=True)
class CheckVerdict:
    name: str
    passed: bool
    severity: str
    status: str | None


@dataclass(frozen=True)
class Run:
    root: Path
    exit_code: int
    output: str
    checks: list[CheckVerdict]

    def marts(self) -> dict[str, int]:
        from orchestration.headless import mart_row_counts

        return mart_row_counts(self.root / "serving.duckdb")

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.root / "warehouse.duckdb"), read_only=True) as connection:
            return connection.execute(sql).fetchall()

    def blocking_failures(self) -> list[str]:
        return [check.name for check in self.checks if not check.passed and check.severity == "ERROR"]


WAREHOUSE = Path(sys.executable).with_name("warehouse")
RUN_TIMEOUT = 1200


def _environment(root: Path) -> dict[str, str]:
    return {**os.environ, **settings_for(root), "PYTHONWARNINGS": "ignore"}


def warehouse(root: Path, *args: str) -> subprocess.CompletedProcess:
    """`warehouse <args>` as a user types it, with every path of the product inside `root`."""
    return subprocess.run(
        [str(WAREHOUSE), *args], env=_environment(root), capture_output=True, text=True, timeout=RUN_TIMEOUT
    )


def warehouse_runs(roots: dict[str, Path]) -> dict[str, Run]:
    """`warehouse run` in every root at once, as separate deployments from one checkout would: each is its own
    process on its own files (two cores serve five mostly single-threaded runs nearly twice as fast)."""
    started = {
        name: subprocess.Popen(
            [str(WAREHOUSE), "run"], env=_environment(root), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for name, root in roots.items()
    }
    outputs = {name: process.communicate(timeout=RUN_TIMEOUT)[0] for name, process in started.items()}
    runs = {}
    for name, root in roots.items():
        with pytest.MonkeyPatch.context() as env:
            env.setenv("DAGSTER_HOME", str(root / "dagster_home"))
            with dg.DagsterInstance.get() as instance:
                checks = _check_verdicts(instance)
        runs[name] = Run(root=root, exit_code=started[name].returncode, output=outputs[name], checks=checks)
    return runs


def _check_verdicts(instance: dg.DagsterInstance) -> list[CheckVerdict]:
    (run,) = instance.get_runs(limit=1)
    records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    verdicts = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.asset_check_evaluation_data
        status = evaluation.metadata.get("status")
        verdicts.append(
            CheckVerdict(
                name=f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}",
                passed=evaluation.passed,
                severity=evaluation.severity.value,
                status=None if status is None else status.value,
            )
        )
    return verdicts


PARTIAL = {"crm": ("crm",), "shop": ("shop",), "analytics": ("analytics",), "none": ()}
"""Deployments with some systems only: CRM-only, shop-only, analytics-only, nothing delivered yet."""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Five deployments, each run once with `warehouse run`: the four of PARTIAL, copied from one generated
    landing directory, and `vendor_and_odd_values`: the README's commands (a base, then `--increment 1`, neither
    with `--as-of`), Shopify's published examples and the odd-values corpus in one landing directory."""
    from demo_data.generator import GeneratorConfig, generate

    base = tmp_path_factory.mktemp("real_world")
    generated = base / "generated"
    as_of = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0) - timedelta(hours=1)
    generate(GeneratorConfig(customers=120, days=5, seed=23, as_of=as_of), generated)
    roots = {name: base / name for name in [*PARTIAL, "vendor_and_odd_values"]}
    for name, systems in PARTIAL.items():
        (roots[name] / "landing").mkdir(parents=True)
        for system in systems:
            shutil.copytree(generated / system, roots[name] / "landing" / system)

    root = roots["vendor_and_odd_values"]
    for args in (["--customers", "120", "--days", "5", "--seed", "29"], ["--seed", "29", "--increment", "1"]):
        generated_batch = warehouse(root, "generate", *args)
        assert generated_batch.returncode == 0, generated_batch.stdout + generated_batch.stderr
    for name, entity in VENDOR_FILES.items():
        shutil.copyfile(FIXTURES / "shopify" / name, root / "landing" / "shop" / entity / f"shopify-published-{name}")
    odd_values = FIXTURES / "odd_values"
    shutil.copytree(odd_values, root / "landing", dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.md", "*.csv"))
    return warehouse_runs(roots)


@pytest.mark.parametrize("deployment", list(PARTIAL))
def test_a_deployment_with_only_some_systems_builds_every_mart_it_can(runs: dict[str, Run], deployment: str) -> None:
    run, present = runs[deployment], PARTIAL[deployment]

    assert run.exit_code == 0, run.output
    assert run.blocking_failures() == [], run.output
    absent = [system for system in SYSTEMS if system not in present]
    for check in run.checks:
        if any(check.name.startswith(f"raw_{system}/") for system in absent):
            assert check.status == "no data yet", check
    marts = run.marts()
    for system in SYSTEMS:
        for mart in FACTS_BY_SYSTEM[system]:
            assert (marts[mart] > 0) == (system in present), (mart, marts)
    # A profile is a CRM contact's or a shop customer's; Segment alone gives identities (devices, user ids).
    assert (marts["customer_profiles"] > 0) == bool({"crm", "shop"} & set(present)), marts
    assert (marts["customer_identity_map"] > 0) == bool(present), marts
    assert marts["customer_identity_map"] == sum(
        count for (count,) in run.query("SELECT count(*) FROM intermediate.int_identity_records_unioned")
    )
    assert marts["dim_date"] > 0


VENDOR_FILES = {  # Shopify's published examples, copied into the shop's landing folders
    "orders.json": "orders",
    "customer.json": "customers",
    "customers_search.json": "customers",
    "products.json": "products",
    "checkouts.json": "checkouts",
}
KEYS = {  # how each model of expected.csv names its rows
    "stg_crm__contacts": ("staging", "contact_id"),
    "fct_orders": ("marts", "cast(order_id AS VARCHAR)"),
    "stg_analytics__events": ("staging", "message_id"),
}


@pytest.fixture(scope="module")
def vendor_and_odd_values_run(runs: dict[str, Run]) -> Run:
    return runs["vendor_and_odd_values"]


def test_the_readme_s_increment_vendor_examples_and_odd_values_run_through(vendor_and_odd_values_run: Run) -> None:
    run = vendor_and_odd_values_run

    assert run.exit_code == 0, run.output
    assert run.blocking_failures() == [], run.output
    verdicts = {check.name: check for check in run.checks}
    assert verdicts["raw_analytics/events:no_future_timestamps"].passed
    assert verdicts["raw_shop/orders:no_future_timestamps"].passed


def test_shopify_s_published_examples_reach_the_marts(vendor_and_odd_values_run: Run) -> None:
    run = vendor_and_odd_values_run
    orders = json.loads((FIXTURES / "shopify" / "orders.json").read_text())["orders"]
    products = json.loads((FIXTURES / "shopify" / "products.json").read_text())  # a bare list
    customers = json.loads((FIXTURES / "shopify" / "customers_search.json").read_text())["customers"]

    for order in orders:  # the 2008 order of Shopify's docs: converted, with the quality of its rate named
        ((status, rate),) = run.query(
            f"SELECT fx_rate_status, total_reporting FROM marts.fct_orders WHERE order_id = {order['id']}"
        )
        assert status in ("exact", "nearest_earlier") and rate is not None
    dim_products = {pid for (pid,) in run.query("SELECT product_id FROM marts.dim_products")}
    assert {product["id"] for product in products} <= dim_products
    mapped = {source_id for (source_id,) in run.query(
        "SELECT source_id FROM marts.customer_identity_map WHERE source_system = 'shop'"
    )}  # fmt: skip
    assert {str(customer["id"]) for customer in customers} <= mapped
    quarantined = run.query("SELECT count(*) FROM raw_shop.quarantine WHERE source_file LIKE '%shopify-published%'")
    assert quarantined == [(0,)]


def test_every_odd_value_arrives_flagged_with_its_reason_and_nothing_is_lost(vendor_and_odd_values_run: Run) -> None:
    run = vendor_and_odd_values_run
    with (FIXTURES / "odd_values" / "expected.csv").open(newline="", encoding="utf-8") as file:
        expected = list(csv.DictReader(file))

    found = {}
    for row in expected:
        schema, key = KEYS[row["model"]]
        values = run.query(f"SELECT {row['column']} FROM {schema}.{row['model']} WHERE {key} = '{row['id']}'")
        found[(row["model"], row["id"])] = values
    assert {k: v for k, v in found.items() if len(v) != 1} == {}, "every odd record arrives, once"
    assert {(row["model"], row["id"]): found[(row["model"], row["id"])][0][0] for row in expected} == {
        (row["model"], row["id"]): row["expected"] or None for row in expected
    }
    for system in SYSTEMS:
        quarantined = run.query(f"SELECT count(*) FROM raw_{system}.quarantine WHERE source_file LIKE '%odd-values%'")
        assert quarantined == [(0,)], system
