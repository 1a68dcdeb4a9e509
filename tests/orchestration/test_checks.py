"""Quality checks on a warehouse as a new deployment has it: tables not created yet, empty, or a segment gone."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.checks import MART_SUITES, RAW_SUITES, build_check, segment_size_ratios, validate
from orchestration.resources import WarehouseResource


@pytest.fixture
def warehouse(tmp_path: Path) -> WarehouseResource:
    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    return WarehouseResource(warehouse_path=str(path), serving_path=str(tmp_path / "serving.duckdb"))


def _suite(suites, asset: str, name: str):
    return next(s for s in suites if "/".join(s.asset) == asset and s.name == name)


def test_a_raw_suite_on_a_table_not_created_yet_reports_no_data_yet(warehouse: WarehouseResource) -> None:
    suite = _suite(RAW_SUITES, "raw_shop/orders", "non_negative_prices")

    result = build_check(suite)(warehouse=warehouse)

    assert result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert result.metadata["status"].value == "no data yet"
    assert "does not exist" in result.description


def test_a_raw_suite_on_an_empty_table_reports_no_data_yet(warehouse: WarehouseResource) -> None:
    suite = _suite(RAW_SUITES, "raw_crm/contacts", "email_format_rate")
    with duckdb.connect(str(warehouse.warehouse)) as connection:
        connection.execute("CREATE SCHEMA raw_crm; CREATE TABLE raw_crm.contacts (id VARCHAR, email VARCHAR)")

    result = build_check(suite)(warehouse=warehouse)

    assert result.passed
    assert result.metadata["status"].value == "no data yet"


def test_a_blocking_suite_whose_mart_is_missing_fails_and_says_so(warehouse: WarehouseResource) -> None:
    suite = _suite(MART_SUITES, "marts/customer_profiles", "one_profile_per_customer")

    result = build_check(suite)(warehouse=warehouse)

    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.description.startswith("table missing")


def test_a_segment_that_vanished_since_the_last_publish_fails_the_size_check() -> None:
    suite = _suite(MART_SUITES, "marts/customer_segments", "segment_sizes_within_bounds")
    previous = pd.DataFrame({"segment": ["Cart Abandoners", "Champions"], "previous_customers": [40, 50]})
    current = pd.DataFrame({"segment": ["Champions", "Brand New"], "customers": [55, 9]})

    ratios = segment_size_ratios(current, previous)
    result = validate(suite, ratios, personal=frozenset())

    assert sorted(ratios["segment"]) == ["Cart Abandoners", "Champions"], "a new segment has no baseline"
    assert ratios.set_index("segment")["customers"].to_dict() == {"Cart Abandoners": 0, "Champions": 55}
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.description == "expect_column_values_to_be_between(ratio): 1 of 2 rows"


def test_segments_within_half_to_double_of_the_last_publish_pass() -> None:
    suite = _suite(MART_SUITES, "marts/customer_segments", "segment_sizes_within_bounds")
    previous = pd.DataFrame({"segment": ["Champions"], "previous_customers": [50]})
    current = pd.DataFrame({"segment": ["Champions"], "customers": [90]})

    assert validate(suite, segment_size_ratios(current, previous), personal=frozenset()).passed


def test_raw_emails_are_judged_by_staging_s_rule_and_failing_rows_masked_as_the_yaml_declares(
    warehouse: WarehouseResource,
) -> None:
    suite = _suite(RAW_SUITES, "raw_crm/contacts", "email_format_rate")
    emails = [f" Person{n}@Example.com " for n in range(8)] + ["f.@example.com", "e@example.com."]
    with duckdb.connect(str(warehouse.warehouse)) as connection:
        connection.execute("CREATE SCHEMA raw_crm; CREATE TABLE raw_crm.contacts (id VARCHAR, email VARCHAR)")
        connection.executemany(
            "INSERT INTO raw_crm.contacts VALUES (?, ?)", [[f"c{n}", e] for n, e in enumerate(emails)]
        )

    result = build_check(suite)(warehouse=warehouse)

    (label,) = result.metadata["failing_rows_sample"].value
    sample = result.metadata["failing_rows_sample"].value[label]
    assert not result.passed and result.description == f"{label}: 2 of 10 rows", "trimmed and lower-cased first"
    assert len(sample) == 2 and all(set(row) == {"id", "email"} for row in sample)
    assert not any(value in str(sample) for value in ("c8", "c9", "f.@example.com", "e@example.com.")), sample


def test_a_column_is_masked_when_the_yaml_declares_it_personal_anywhere(settings) -> None:
    from orchestration.checks import personal_columns

    personal = personal_columns(settings)

    assert {"email", "customer_id", "first_name", "phone_e164", "source_id", "anonymous_id", "id"} <= personal
    assert not {"email_consent", "segment_name", "r_score", "country_code", "message_id"} & personal


def test_source_freshness_of_a_table_not_created_or_empty_is_no_data_yet(warehouse: WarehouseResource) -> None:
    from orchestration.assets.dbt import build_source_freshness_check, load_manifest

    manifest = load_manifest(warehouse.settings)
    source = next(s for s in manifest["sources"].values() if s["unique_id"].endswith("analytics.events"))
    check = build_source_freshness_check(source)

    missing = check(warehouse=warehouse)
    with duckdb.connect(str(warehouse.warehouse)) as connection:
        connection.execute("CREATE SCHEMA raw_analytics; CREATE TABLE raw_analytics.events (_dlt_load_id VARCHAR)")
    empty = check(warehouse=warehouse)

    for result in (missing, empty):
        assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
        assert result.metadata["status"].value == "no data yet"


def test_child_tables_are_judged_by_their_parent_s_freshness(warehouse: WarehouseResource) -> None:
    from orchestration.assets.dbt import build_source_freshness_checks, load_manifest

    checks = build_source_freshness_checks(load_manifest(warehouse.settings))
    names = {
        check.check_specs_by_output_name[name].name for check in checks for name in check.check_specs_by_output_name
    }

    assert "source_freshness_orders" in names
    assert not {name for name in names if "__" in name}, "refunds, discount codes, lines, variants: the parent's"


def test_a_suite_over_a_big_table_reads_only_counts_and_a_few_rows_and_counts_every_failure(
    warehouse: WarehouseResource, monkeypatch: pytest.MonkeyPatch
) -> None:
    import orchestration.checks as checks

    suite = _suite(RAW_SUITES, "raw_analytics/events", "no_future_timestamps")
    with duckdb.connect(str(warehouse.warehouse)) as connection:
        connection.execute("""
            CREATE SCHEMA raw_analytics;
            CREATE TABLE raw_analytics.events AS
            SELECT 'm' || i AS message_id,
                   now() - INTERVAL 1 DAY + CASE WHEN i % 5000 = 0 THEN INTERVAL 2 DAY ELSE INTERVAL 0 DAY END
                       AS received_at
            FROM range(300000) AS t(i)
        """)
    read: list[int] = []
    fetch = checks.fetch
    monkeypatch.setattr(
        checks, "fetch", lambda connection, sql: read.append(len(frame := fetch(connection, sql))) or frame
    )

    result = build_check(suite)(warehouse=warehouse)

    assert max(read) <= checks.SAMPLE_ROWS < 300000 and sum(read) <= 1 + checks.SAMPLE_ROWS, read
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert result.description == "expect_column_values_to_be_in_set(is_future): 60 of 300000 rows"
    assert result.metadata["rows"].value == 300000
    (sample,) = result.metadata["failing_rows_sample"].value.values()
    assert len(sample) == checks.SAMPLE_ROWS and all(row["is_future"] is True for row in sample)


def test_duckdb_counts_what_gx_s_pandas_path_counts_for_each_kind_of_expectation() -> None:
    import great_expectations as gx

    from orchestration.checks import Suite, evaluate

    frame = pd.DataFrame(
        {
            "key": ["a", "b", "b", None, "c", "c", "c", "d"],
            "score": [1, 5, 6, 0, None, 3, 5, 2],
            "code": ["DE", "de", "FRA", None, "US", "GB", "X1", "NL"],
            "flag": [False, True, None, False, False, True, False, False],
            "rate": [0.1, 0.5, 0.5, None, 0.2, 0.7, 0.5, 0.3],
        }
    )

    def expectations(e):
        return [
            e.ExpectColumnValuesToBeUnique(column="key"),
            e.ExpectColumnValuesToNotBeNull(column="key", mostly=0.875),
            e.ExpectColumnValuesToBeBetween(column="score", min_value=1, max_value=5),
            e.ExpectColumnValuesToBeBetween(column="rate", min_value=0.1, max_value=0.5, strict_max=True, mostly=0.5),
            e.ExpectColumnValuesToMatchRegex(column="code", regex=r"^[A-Z]{2}$", mostly=0.6),
            e.ExpectColumnValuesToBeInSet(column="flag", value_set=[False]),
        ]

    suite = Suite(name="kinds", asset=["t"], sql="", expectations=expectations, description="")
    connection = duckdb.connect()
    connection.register("kinds", frame)
    ours = evaluate(suite, connection, "SELECT * FROM kinds", personal=frozenset()).metadata["results"].value

    context = gx.get_context(mode="ephemeral")
    batch = context.data_sources.add_pandas("p").add_dataframe_asset("a").add_batch_definition_whole_dataframe("w")
    gx_suite = context.suites.add(gx.ExpectationSuite(name="kinds", expectations=expectations(gx.expectations)))
    outcome = context.validation_definitions.add(gx.ValidationDefinition(name="kinds", data=batch, suite=gx_suite)).run(
        batch_parameters={"dataframe": frame}
    )
    theirs = {
        f"{r.expectation_config.type}({r.expectation_config.kwargs['column']})": (
            r.success,
            r.result["unexpected_count"],
        )
        for r in outcome.results
    }

    assert len(ours) == 6
    assert {label: (r["success"], r["unexpected"]) for label, r in ours.items()} == theirs
    assert ours["expect_column_values_to_be_between(score)"]["observed"] == {"min": 0.0, "max": 6.0}


def test_an_expectation_without_a_duckdb_translation_is_refused() -> None:
    import great_expectations as gx

    from orchestration.check_queries import rule

    for suite in RAW_SUITES + MART_SUITES:
        for expectation in suite.expectations(gx.expectations):
            rule(expectation)
    with pytest.raises(ValueError, match="no DuckDB translation"):
        rule(gx.expectations.ExpectColumnValueLengthsToBeBetween(column="email", min_value=3))
