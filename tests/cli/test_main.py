"""The `warehouse` command: every subcommand documented; a busy warehouse explained (`sql` and `show`: test_serving)."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.main import app
from core.settings import Settings

runner = CliRunner()


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("generate", "load", "run", "show", "sql", "metrics", "collect", "sync", "erase", "ui"):
        assert command in result.output


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
