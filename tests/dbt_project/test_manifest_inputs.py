"""`warehouse run` parses the dbt project only when what a parse reads changed (`manifest_inputs`): the project's
files, the environment variables they read, the warehouse; not dbt's own output or the secret salt."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.settings import get_settings
from orchestration.resources import manifest_inputs


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.sql").write_text("select 1 as a\n")
    (tmp_path / "dbt_project.yml").write_text("vars:\n  prefixes: \"{{ env_var('WAREHOUSE_IP_PREFIXES', '') }}\"\n")
    (tmp_path / "profiles.yml").write_text("salt: \"{{ env_var('DBT_ENV_SECRET_ERASURE_SALT', '') }}\"\n")
    (tmp_path / "target").mkdir()
    return tmp_path


def _inputs(project: Path, warehouse: str = "/w/warehouse.duckdb") -> str:
    return manifest_inputs(get_settings({"WAREHOUSE_PATH": warehouse}), project_dir=project)


def test_the_same_project_has_the_same_inputs_whatever_dbt_wrote(project: Path) -> None:
    before = _inputs(project)
    (project / "target" / "manifest.json").write_text("{}")
    (project / "logs").mkdir()
    (project / "logs" / "dbt.log").write_text("parsed")
    assert _inputs(project) == before


def test_a_changed_or_new_model_changes_the_inputs(project: Path) -> None:
    before = _inputs(project)
    model = project / "models" / "a.sql"
    model.write_text("select 2 as a\n")
    os.utime(model, ns=(1, 1))
    changed = _inputs(project)
    (project / "models" / "b.sql").write_text("select 1 as b\n")
    assert len({before, changed, _inputs(project)}) == 3


def test_a_variable_the_project_reads_or_another_warehouse_changes_the_inputs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _inputs(project)
    assert _inputs(project, "/elsewhere/warehouse.duckdb") != before
    monkeypatch.setenv("WAREHOUSE_IP_PREFIXES", "10.")
    assert _inputs(project) != before


def test_the_secret_salt_and_unread_variables_leave_the_inputs_alone(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _inputs(project)
    monkeypatch.setenv("DBT_ENV_SECRET_ERASURE_SALT", "another salt")
    monkeypatch.setenv("SOMETHING_ELSE", "x")
    assert _inputs(project) == before
