"""Data nobody here wrote keeps flowing: absent systems, vendor examples, odd values, the README's increment.

Each test runs the real `warehouse run` (the command, in this process, on its own landing directory and DuckDB
files) and reads what it built: the exit code, every check's verdict from the Dagster instance, the marts of the
serving copy and the flags in staging.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from conftest import settings_for
from typer.testing import CliRunner

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures"
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


def warehouse_run(root: Path, *args: str) -> Run:
    """`warehouse <args>` (default `run`) with every path of the product inside `root`."""
    from orchestration.cli import app

    with pytest.MonkeyPatch.context() as env:
        for name, value in settings_for(root).items():
            env.setenv(name, value)
        args = args or ("run",)
        result = CliRunner().invoke(app, list(args))
        checks = []
        if args[0] == "run":
            with dg.DagsterInstance.get() as instance:
                checks = _check_verdicts(instance)
    return Run(root=root, exit_code=result.exit_code, output=result.output, checks=checks)


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


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small landing directory of all three systems, written by the generator; tests copy from it."""
    from demo_data.generator import GeneratorConfig, generate

    landing = tmp_path_factory.mktemp("generated") / "landing"
    as_of = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0) - timedelta(hours=1)
    generate(GeneratorConfig(customers=120, days=5, seed=23, as_of=as_of), landing)
    return landing


def _landing_with(generated: Path, root: Path, systems: tuple[str, ...]) -> None:
    landing = root / "landing"
    landing.mkdir(parents=True)
    for system in systems:
        shutil.copytree(generated / system, landing / system)


@pytest.mark.parametrize("present", [("crm",), ("shop",), ("analytics",), ()], ids=["crm", "shop", "analytics", "none"])
def test_a_deployment_with_only_some_systems_builds_every_mart_it_can(
    generated: Path, tmp_path: Path, present: tuple[str, ...]
) -> None:
    _landing_with(generated, tmp_path, present)

    run = warehouse_run(tmp_path)

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
def vendor_and_odd_values_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """The README's commands (a base, then `--increment 1`, neither with `--as-of`), Shopify's published examples
    and the odd-values corpus in one landing directory, then `warehouse run`."""
    root = tmp_path_factory.mktemp("vendor_and_odd_values")
    landing = root / "landing"
    for args in (["--customers", "120", "--days", "5", "--seed", "29"], ["--seed", "29", "--increment", "1"]):
        generated = warehouse_run(root, "generate", *args)
        assert generated.exit_code == 0, generated.output
    for name, entity in VENDOR_FILES.items():
        shutil.copyfile(FIXTURES / "shopify" / name, landing / "shop" / entity / f"shopify-published-{name}")
    shutil.copytree(
        FIXTURES / "odd_values", landing, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.md", "*.csv")
    )
    yield warehouse_run(root)


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
