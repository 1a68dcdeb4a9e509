"""`warehouse run`'s engine, piece by piece, without building the warehouse: dbt's lines become progress as they
come, materializations give rows and their change since the previous run, old run folders go, and the project's
instance settings reach the Dagster home."""

import io
import os
import time
from pathlib import Path

import dagster as dg
import pytest

from core.settings import Settings
from orchestration.headless import DAGSTER_YAML, TableRows, _report, ensure_dagster_home, latest_row_counts
from orchestration.progress import DbtProgressTee, ProgressEvent, dbt_progress, progress_events
from orchestration.resources import KEPT_RUNS, RECENT_RUN_SECONDS, keep_newest

# Lines as dagster-dbt re-prints them from dbt's structured log while `dbt build` runs.
DBT_LINES = [
    "Concurrency: 2 threads (target='duckdb')",
    "1 of 4 START sql table model staging.stg_crm__contacts ............................ [RUN]",
    "2 of 4 START seed file seeds.bot_user_agents ...................................... [RUN]",
    "2 of 4 OK loaded seed file seeds.bot_user_agents .................................. [INSERT 1504 in 0.17s]",
    "1 of 4 OK created sql table model staging.stg_crm__contacts ....................... [OK in 0.21s]",
    "3 of 4 PASS not_null_stg_crm__contacts_contact_id ................................. [PASS in 0.05s]",
    "4 of 4 WARN 2 accepted_values_stg_crm__contacts_country ........................... [WARN 2 in 0.04s]",
    "Finished running 1 seed, 1 table model, 2 data tests in 0 hours 0 minutes and 1.20 seconds (1.20s).",
]


def test_dbt_lines_become_progress_as_dbt_writes_them_counting_finished_nodes() -> None:
    seen: list[ProgressEvent] = []
    log = io.StringIO()
    tee = DbtProgressTee(log, seen.append)
    text = "".join(line + "\n" for line in DBT_LINES)
    tee.write(text[:100])  # a line split across writes is read once whole
    tee.write(text[100:])

    assert log.getvalue() == text, "everything still reaches the run's log"
    finished = [(e.done, e.total, e.status, e.node, e.name, e.seconds) for e in seen if e.status != "START"]
    assert finished == [
        (1, 4, "OK", "seed", "seeds.bot_user_agents", 0.17),
        (2, 4, "OK", "model", "staging.stg_crm__contacts", 0.21),
        (3, 4, "PASS", "test", "not_null_stg_crm__contacts_contact_id", 0.05),
        (4, 4, "WARN", "test", "accepted_values_stg_crm__contacts_country", 0.04),
    ]
    assert [e.name for e in seen if e.status == "START"] == ["staging.stg_crm__contacts", "seeds.bot_user_agents"]
    assert dbt_progress("Running with dbt=1.11.16") is None


@dg.asset(key=["raw_crm", "contacts"])
def contacts(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    rows = int(context.run.tags["rows"])
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, "rows_loaded": rows % 7})


@dg.asset(deps=[contacts], key=["marts", "no_row_count"])
def no_row_count() -> None:
    """An asset that does not say its rows: in the progress, not in the tables."""


def test_a_run_reports_rows_per_table_with_the_change_since_the_previous_materialization() -> None:
    with dg.instance_for_test() as instance:
        first = dg.materialize([contacts, no_row_count], instance=instance, tags={"rows": "10"})
        previous = latest_row_counts(instance, [contacts.key, no_row_count.key])
        second = dg.materialize([contacts, no_row_count], instance=instance, tags={"rows": "15"})
    assert first.success and second.success

    report = _report(second.all_events, second.run_id, True, Path("/nonexistent"), previous)
    said, finished = progress_events(second.all_events, steps=2)

    assert previous == {"raw_crm/contacts": 10}
    assert report.tables == [TableRows("raw_crm/contacts", rows=15, loaded=1, previous=10)]
    assert report.tables[0].change == 5
    assert report.materialized == ["raw_crm/contacts", "marts/no_row_count"]
    assert [(e.kind, e.name, e.status) for e in said if e.kind == "step"] == [
        ("step", "raw_crm__contacts", "started"),
        ("step", "raw_crm__contacts", "succeeded"),
        ("step", "marts__no_row_count", "started"),
        ("step", "marts__no_row_count", "succeeded"),
    ]
    assert [(e.name, e.rows, e.loaded) for e in said if e.kind == "asset"] == [
        ("raw_crm/contacts", 15, 1),
        ("marts/no_row_count", None, None),
    ]
    assert finished == 2


def test_only_the_newest_run_folders_and_logs_are_kept_and_recent_ones_are_spared(tmp_path: Path) -> None:
    now, old = time.time(), time.time() - RECENT_RUN_SECONDS - 60

    def folder(name: str, changed: float) -> Path:
        made = tmp_path / "runs" / name
        (made / "compiled").mkdir(parents=True)
        os.utime(made, (changed, changed))
        return made

    newest = [folder(f"new{number}", now + number) for number in range(KEPT_RUNS)]
    in_use = folder("another-warehouse-s-run", now - 60)  # beyond the newest, but a run may still use it
    stale = [folder(f"old{number}", old + number) for number in range(2)]
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "notes.txt").write_text("not a run log")
    os.utime(tmp_path / "logs" / "notes.txt", (old, old))

    gone = keep_newest(tmp_path / "runs", KEPT_RUNS, spared_seconds=RECENT_RUN_SECONDS)

    assert sorted(gone) == stale
    assert sorted((tmp_path / "runs").iterdir()) == sorted([*newest, in_use])
    assert keep_newest(tmp_path / "logs", 0, "run-*.log") == [] and (tmp_path / "logs" / "notes.txt").exists()
    assert keep_newest(tmp_path / "missing", KEPT_RUNS) == []


def test_the_dagster_home_gets_the_project_s_instance_settings_unless_its_copy_is_the_user_s_own(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(settings.data_dir / "dagster_home"))
    from core.settings import get_settings

    settings = get_settings()
    home = ensure_dagster_home(settings)
    copy = home / "dagster.yaml"
    assert copy.read_text() == DAGSTER_YAML.read_text()
    assert "nux:\n  enabled: false" in copy.read_text(), "no pop-up on the UI's first view"

    copy.write_text(DAGSTER_YAML.read_text().replace("max_concurrent_runs: 2", "max_concurrent_runs: 1"))
    ensure_dagster_home(settings)
    assert copy.read_text() == DAGSTER_YAML.read_text(), "an older copy of the project's file is replaced"

    own = "# my own instance settings\ntelemetry:\n  enabled: true\n"
    copy.write_text(own)
    ensure_dagster_home(settings)
    assert copy.read_text() == own
