"""dbt run with settings (`run_dbt`, Dagster's dbt resource) builds the profile's production target on the
warehouse the settings name, with the erasure salt; the profile's default, `dev`, is only for dbt by hand."""

from __future__ import annotations

from pathlib import Path

from core.dbt_cli import PROD_TARGET, run_dbt
from core.settings import get_settings


def test_run_dbt_connects_the_prod_target_to_the_settings_warehouse_with_the_salt(tmp_path: Path) -> None:
    settings = get_settings({"WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"), "ERASURE_SALT": "a-salt"})

    output = run_dbt(["debug", "--log-path", str(tmp_path / "logs")], settings).output

    assert f"path: {settings.warehouse_path}\n" in output
    assert "attach: None" in output, "the dev target attaches the warehouse; prod opens it"
    assert "'VARIABLE erasure_salt': '*****'" in output, "the salt reaches the profile, masked in dbt's output"
    assert "a-salt" not in output
    assert settings.warehouse_path.exists()


def test_dagster_s_dbt_runs_the_prod_target() -> None:
    from orchestration.resources import build_resources, dbt_project

    assert build_resources()["dbt"].target == PROD_TARGET
    assert dbt_project.target == PROD_TARGET
