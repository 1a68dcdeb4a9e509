"""The Mailchimp source in the asset graph: its raw tables are dlt assets keyed as the dbt sources over them,
with the settings' freshness window and its raw suites as warning checks. Built from the asset factories, not
the whole Definitions (which parse the dbt project)."""

import dagster as dg
import pytest
import yaml

from core.settings import DBT_PROJECT_DIR, Settings, get_settings
from orchestration.assets.dbt import WarehouseDbtTranslator
from orchestration.assets.ingestion import build_raw_assets
from orchestration.checks import RAW_SUITES, build_checks

SOURCES_YAML = DBT_PROJECT_DIR / "models" / "staging" / "mailchimp" / "_mailchimp__sources.yml"
SUITES = {
    ("members", "email_format_rate"),
    ("members", "known_member_statuses"),
    ("email_activity", "no_future_timestamps"),
}


def _source_keys() -> set[dg.AssetKey]:
    """The asset keys the dbt translator gives the Mailchimp sources."""
    [source] = yaml.safe_load(SOURCES_YAML.read_text())["sources"]
    translator = WarehouseDbtTranslator()
    return {
        translator.get_asset_key({"resource_type": "source", "source_name": source["name"], "name": table["name"]})
        for table in source["tables"]
    }


def test_each_raw_table_is_a_dlt_asset_keyed_as_its_dbt_source_with_the_settings_freshness(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRESHNESS_MAILCHIMP_MINUTES", "90")
    assets = build_raw_assets("mailchimp", get_settings())

    assert set(assets.keys) == _source_keys()
    for spec in assets.specs:
        assert spec.group_name == "mailchimp" and "dlt" in spec.kinds
        assert spec.freshness_policy.fail_window.to_timedelta().total_seconds() == 90 * 60


def test_the_raw_suites_of_the_mailchimp_tables_are_warning_checks() -> None:
    suites = [suite for suite in RAW_SUITES if suite.asset[0] == "raw_mailchimp"]
    specs = [spec for checks in build_checks(suites) for spec in checks.check_specs]

    assert {(spec.asset_key.path[-1], spec.name) for spec in specs} == SUITES
    assert {spec.asset_key for spec in specs} <= _source_keys()
    assert not any(spec.blocking for spec in specs)
