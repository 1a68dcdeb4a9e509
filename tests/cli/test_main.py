"""The `warehouse` command: every subcommand documented, and `sql` reads the serving copy read-only."""

from __future__ import annotations

import duckdb
from typer.testing import CliRunner

from cli.main import app
from core.settings import Settings

runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("generate", "load", "run", "show", "sql", "collect", "sync", "erase", "ui"):
        assert command in result.output


def test_sql_prints_rows_of_the_serving_copy(isolated_env: Settings) -> None:
    isolated_env.serving_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(isolated_env.serving_path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.customer_profiles as select 'Champions' as rfm_segment, 3 as n")
    result = runner.invoke(app, ["sql", "select rfm_segment, n from marts.customer_profiles"])
    assert result.exit_code == 0, result.output
    assert "Champions" in result.output
    assert "1 rows from" in result.output


def test_sql_reports_a_bad_query_without_a_traceback(isolated_env: Settings) -> None:
    isolated_env.serving_path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(isolated_env.serving_path)).close()
    result = runner.invoke(app, ["sql", "select missing_column"])
    assert result.exit_code == 1
    assert "Query failed" in result.output
    assert "Traceback" not in result.output


def test_sql_without_a_serving_copy_says_what_to_run(isolated_env: Settings) -> None:
    result = runner.invoke(app, ["sql", "select 1"])
    assert result.exit_code == 1
    assert "warehouse run" in result.output


def test_load_while_another_process_writes_the_warehouse_says_so(isolated_env: Settings) -> None:
    """DuckDB allows one writing process per file: a second load gets told who holds it, not a traceback."""
    import subprocess
    import sys

    isolated_env.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('open', flush=True); sys.stdin.read()",
            str(isolated_env.warehouse_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        result = runner.invoke(app, ["load", "--system", "crm"])
    finally:
        holder.communicate(input="", timeout=30)
    said = " ".join(result.output.split())  # rich wraps long lines
    assert result.exit_code == 1, result.output
    assert "Not loaded" in said and "in use by another process" in said
    assert f"PID {holder.pid}" in said  # DuckDB names the process that holds the lock
    assert "Traceback" not in said


def test_generate_gzip_writes_compressed_parts_that_load(isolated_env: Settings) -> None:
    from ingestion.pipelines import load

    result = runner.invoke(app, ["generate", "--customers", "30", "--days", "3", "--gzip"])
    assert result.exit_code == 0, result.output
    parts = sorted(isolated_env.landing_dir.glob("*/*/*-b0000-p0000.jsonl*"))
    assert parts and all(p.name.endswith(".jsonl.gz") for p in parts)

    summary = load(["crm"], isolated_env)
    assert summary.table("crm", "contacts").loaded > 0
