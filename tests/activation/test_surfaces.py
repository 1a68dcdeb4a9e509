"""How people and Dagster reach the sync: `warehouse sync`, segment exports, the per-destination asset."""

from __future__ import annotations

import csv
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from activation.export import EXPORT_COLUMNS, export_segments
from cli.main import app
from core.settings import Settings
from orchestration.assets.activation import SERVING_KEY, build_sync_asset
from orchestration.resources import WarehouseResource
from privacy.ledger import ErasureLedger
from tests.fakes.mailchimp import FakeMailchimp, make_profile, make_segment, write_serving


def _publish_small_audience(settings: Settings) -> None:
    profiles = [
        make_profile(1),
        make_profile(2, first_name=None),
        make_profile(3, email_consent=False),
        make_profile(4),
        make_profile(5, email=None),
    ]
    segments = [
        make_segment(profiles[0], "VIP customers", "top decile"),
        make_segment(profiles[1], "VIP customers", "top decile"),
        make_segment(profiles[2], "VIP customers"),
        make_segment(profiles[3], "VIP customers"),
        make_segment(profiles[4], "VIP customers"),
        make_segment(profiles[0], "winback", "no order in 90 days"),
    ]
    write_serving(settings.serving_path, profiles, segments)


@pytest.fixture
def configured_esp(isolated_env: Settings, monkeypatch: pytest.MonkeyPatch) -> FakeMailchimp:
    with FakeMailchimp(api_key="cli-key", list_id="aud9") as fake:
        monkeypatch.setenv("DESTINATIONS__ESP__BASE_URL", fake.base_url)
        monkeypatch.setenv("DESTINATIONS__ESP__LIST_ID", fake.list_id)
        monkeypatch.setenv("DESTINATIONS__ESP__API_KEY", fake.api_key)
        yield fake


def test_export_files_hold_exactly_the_sendable_rows_of_each_segment(isolated_env: Settings, tmp_path: Path) -> None:
    _publish_small_audience(isolated_env)
    ErasureLedger(isolated_env).record([("email", "person4@example.com")])

    exports = export_segments(tmp_path / "out", isolated_env)

    assert {(e.segment, e.rows) for e in exports} == {("VIP customers", 2), ("winback", 1)}
    vip = next(e for e in exports if e.segment == "VIP customers")
    assert vip.csv_path.name == "vip_customers.csv" and vip.parquet_path.name == "vip_customers.parquet"
    with vip.csv_path.open(newline="") as handle:
        csv_rows = list(csv.DictReader(handle))
    parquet_rows = pq.read_table(vip.parquet_path).to_pylist()
    assert [r["email"] for r in csv_rows] == ["person1@example.com", "person2@example.com"]
    assert [r["email"] for r in parquet_rows] == ["person1@example.com", "person2@example.com"]
    assert list(csv_rows[0]) == list(EXPORT_COLUMNS) == list(parquet_rows[0])
    assert (parquet_rows[0]["reason"], parquet_rows[1]["first_name"]) == ("top decile", None)


def test_cli_sync_reads_the_destination_from_the_environment_and_prints_the_summary(
    isolated_env: Settings, configured_esp: FakeMailchimp
) -> None:
    _publish_small_audience(isolated_env)

    result = CliRunner().invoke(app, ["sync", "--mode", "mirror"])

    assert result.exit_code == 0, result.output
    assert configured_esp.subscribed() == {"person1@example.com", "person2@example.com", "person4@example.com"}
    for label in ("created", "updated", "archived", "deleted (erased)", "failed", "Left out, by reason"):
        assert label in result.output
    assert "cli-key" not in result.output


def test_cli_dry_run_needs_no_credentials_and_sends_nothing(isolated_env: Settings) -> None:
    _publish_small_audience(isolated_env)

    result = CliRunner().invoke(app, ["sync", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "nothing was sent" in result.output and "would be created" in result.output
    assert "@example.com" not in result.output


def test_cli_sync_without_configuration_names_the_variables_to_set(isolated_env: Settings) -> None:
    _publish_small_audience(isolated_env)

    result = CliRunner().invoke(app, ["sync", "--destination", "newsletter"])

    assert result.exit_code == 2
    assert "DESTINATIONS__NEWSLETTER__BASE_URL" in result.output


def test_cli_export_writes_segment_files(isolated_env: Settings, tmp_path: Path) -> None:
    _publish_small_audience(isolated_env)

    result = CliRunner().invoke(app, ["sync", "--export", str(tmp_path / "files")])

    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "files").iterdir()) == [
        "vip_customers.csv",
        "vip_customers.parquet",
        "winback.csv",
        "winback.parquet",
    ]


def test_sync_asset_sits_downstream_of_the_serving_copy_and_reports_counts(
    isolated_env: Settings, configured_esp: FakeMailchimp
) -> None:
    _publish_small_audience(isolated_env)
    asset = build_sync_asset("esp")

    result = dg.materialize([asset], resources={"warehouse": WarehouseResource()})

    assert asset.key == dg.AssetKey(["activation", "esp"])
    assert asset.group_names_by_key[asset.key] == "activation"
    assert SERVING_KEY in asset.asset_deps[asset.key]
    assert asset.automation_conditions_by_key[asset.key] is not None  # configured: syncs after each publish
    [materialization] = result.asset_materializations_for_node(asset.op.name)
    counts = {
        k: v.value for k, v in materialization.metadata.items() if k in ("added", "invalid", "skipped_no_consent")
    }
    assert counts == {"added": 3, "invalid": 1, "skipped_no_consent": 1}


def test_an_unconfigured_destination_asset_fails_with_what_to_set(isolated_env: Settings) -> None:
    _publish_small_audience(isolated_env)
    asset = build_sync_asset("esp")

    result = dg.materialize([asset], resources={"warehouse": WarehouseResource()}, raise_on_error=False)

    assert not result.success
    assert asset.key not in asset.automation_conditions_by_key  # not configured: never runs on its own
    assert "DESTINATIONS__ESP__API_KEY" in str(result.get_step_failure_events()[0].step_failure_data.error)
