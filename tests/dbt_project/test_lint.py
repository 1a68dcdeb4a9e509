"""The dbt project's SQL meets the style in .sqlfluff: every model and singular test is rendered by dbt and
linted, and none has a violation. `make test` is the one CI command, so the lint runs here as well as in
`make lint`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the dbt templater parses the whole project and compiles every model

ROOT = Path(__file__).resolve().parents[2]
LINTED = ["dbt_project/models", "dbt_project/tests"]


def _nodes_to_lint() -> set[str]:
    """Models and singular tests (.sql files dbt compiles), minus what .sqlfluffignore names."""
    ignored = [
        line.strip().rstrip("/")
        for line in (ROOT / ".sqlfluffignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    files = {str(path.relative_to(ROOT)) for folder in LINTED for path in (ROOT / folder).rglob("*.sql")}
    return {name for name in files if not any(name.startswith(prefix + "/") for prefix in ignored)}


@pytest.fixture(scope="module")
def lint_report(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """sqlfluff's JSON report, from a separate process: dbt keeps global state (flags, adapters) per process.
    The templater opens the profile's warehouse, so it gets an empty one of its own, and dbt writes its
    parse files to a private target directory instead of dbt_project/target."""
    scratch = tmp_path_factory.mktemp("sqlfluff")
    env = {
        **os.environ,
        "WAREHOUSE_PATH": str(scratch / "lint.duckdb"),
        "DBT_TARGET_PATH": str(scratch / "target"),
        "DBT_LOG_PATH": str(scratch / "logs"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "sqlfluff", "lint", *LINTED, "--format", "json", "--nocolor"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.stdout.strip(), f"sqlfluff printed no report:\n{result.stderr[-4000:]}"
    return json.loads(result.stdout)


def test_every_model_and_singular_test_is_linted(lint_report: list[dict]) -> None:
    linted = {entry["filepath"] for entry in lint_report}
    assert linted == _nodes_to_lint(), "sqlfluff skipped files (a dbt compile error, or a new ignore)"


def test_the_sql_has_no_lint_violations(lint_report: list[dict]) -> None:
    violations = [
        f"{entry['filepath']}:{violation['start_line_no']}: {violation['code']} {violation['description']}"
        for entry in lint_report
        for violation in entry["violations"]
    ]
    assert not violations, "sqlfluff lint (fix with `sqlfluff fix <file>`):\n" + "\n".join(violations)
