"""`warehouse run` as a log or CI sees it (stdout not a terminal): a plain line the moment each step, raw table
and dbt model is done, then the rows per raw table and per mart with the change since the previous run. The run
itself is a stand-in that replays a run's progress: the real one is built in tests/orchestration."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import orchestration.headless
from cli.main import app
from core.settings import Settings
from orchestration.headless import RunReport, TableRows
from orchestration.progress import DbtProgressTee, ProgressEvent

DBT_OUTPUT = (
    "1 of 3 START sql table model staging.stg_crm__contacts ...... [RUN]\n"
    "1 of 3 OK created sql table model staging.stg_crm__contacts .. [OK in 0.21s]\n"
    "2 of 3 PASS not_null_stg_crm__contacts_contact_id ............ [PASS in 0.05s]\n"
    "3 of 3 FAIL 1 unique_stg_crm__contacts_contact_id ............ [FAIL 1 in 0.04s]\n"
)


def _replayed_run(shown_while_running: list[str]):
    """A `run_graph` that reports a load, a dbt build and a publish, noting what stdout held before it returned."""

    def run_graph(job: str, *, settings: Settings, progress, notice) -> RunReport:
        def printed() -> str:
            return sys.stdout.buffer.getvalue().decode()  # CliRunner's stdout: what was printed so far

        progress(ProgressEvent("step", "load_raw_crm", "started", 0, 3))
        progress(ProgressEvent("asset", "raw_crm/contacts", "materialized", rows=1_500, loaded=120))
        progress(ProgressEvent("step", "load_raw_crm", "succeeded", 1, 3))
        shown_while_running.append(printed())
        DbtProgressTee(io.StringIO(), progress).write(DBT_OUTPUT)  # as dagster-dbt prints dbt's events
        progress(ProgressEvent("asset", "staging/stg_crm__contacts", "materialized", rows=1_400))
        progress(ProgressEvent("step", "dbt_models", "succeeded", 2, 3))
        progress(ProgressEvent("asset", "serving/marts", "materialized"))
        progress(ProgressEvent("step", "serving_marts", "succeeded", 3, 3))
        shown_while_running.append(printed())
        return RunReport(
            run_id="0123456789abcdef",
            success=True,
            materialized=["raw_crm/contacts", "staging/stg_crm__contacts", "serving/marts"],
            tables=[TableRows("raw_crm/contacts", 1_500, 120, 1_380), TableRows("staging/stg_crm__contacts", 1_400)],
            mart_rows={"customer_profiles": 841, "customer_segments": 2_010},
            previous_mart_rows={"customer_profiles": 830},
            serving_path=settings.serving_path,
            log_path=Path("/tmp/run.log"),
        )

    return run_graph


@pytest.fixture
def output(isolated_env: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    shown_while_running: list[str] = []
    monkeypatch.setattr(orchestration.headless, "run_graph", _replayed_run(shown_while_running))
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 0, result.output
    return [line for line in result.output.splitlines() if line.strip()], shown_while_running


def test_progress_lines_are_printed_as_the_run_goes_when_stdout_is_not_a_terminal(output) -> None:
    lines, shown_while_running = output
    progress = [line.split("] ", 1)[1] for line in lines if line.startswith("[")]

    assert progress == [
        "preparing dbt manifest",
        "load_raw_crm started",
        "raw_crm/contacts: 1,500 rows, 120 loaded",
        "load_raw_crm succeeded (1/3 steps)",
        "dbt 1/3 OK model staging.stg_crm__contacts in 0.2s",
        "dbt 3/3 FAIL test unique_stg_crm__contacts_contact_id in 0.0s",
        "dbt_models succeeded (2/3 steps)",
        "serving_marts succeeded (3/3 steps)",
    ], "one line per model, none for a passing test, none twice for a model dbt already reported"
    assert "raw_crm/contacts: 1,500 rows, 120 loaded" in shown_while_running[0], "printed before the run ended"
    assert "dbt 1/3 OK model" not in shown_while_running[0] and "dbt 1/3 OK model" in shown_while_running[1]


def test_the_summary_gives_rows_loaded_per_raw_table_and_rows_per_mart_with_the_change(output) -> None:
    lines, _ = output
    cells = [line.replace("│", " ").split() for line in lines]
    row = {cell[0]: cell[1:] for cell in cells if cell}

    assert row["raw_crm/contacts"] == ["120", "1,500", "+120"], "loaded, rows, change since the last load"
    assert "staging/stg_crm__contacts" not in row, "only raw tables: dbt models are in the marts' counts"
    assert row["customer_profiles"] == ["841", "+11"]
    assert row["customer_segments"] == ["2,010", "new"], "a mart the previous serving copy did not hold"
