"""`warehouse sql` and `warehouse show` read the BI artifact locked down: masked `bi` tables, nothing else."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner

from core.settings import Settings, erasure_salt
from serving.bi_artifact import publish_bi_artifact

runner = CliRunner()
CLEAR_EMAIL = "clear.person@example.com"
HASHED = "ab" * 32


def warehouse_app() -> typer.Typer:
    """The `warehouse` command as installed: the settings read by the group, before the command."""
    from cli.main import app

    return app


@pytest.fixture
def published(isolated_env: Settings) -> Settings:
    """A serving copy with a clear email in `marts` beside its hash in `bi`, and the BI artifact of it."""
    path = isolated_env.serving_path
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA marts; CREATE SCHEMA bi")
        connection.execute(
            f"CREATE TABLE marts.customer_profiles AS SELECT 'c1' AS customer_id, '{CLEAR_EMAIL}' AS email"
        )
        connection.execute(
            f"CREATE TABLE bi.customer_profiles AS SELECT 'c1' AS customer_id, '{HASHED}' AS email, "
            "'Champions' AS rfm_segment, 4 AS orders_count"
        )
        connection.execute("CREATE TABLE bi.customer_segments AS SELECT 'c1' AS customer_id, 'VIP' AS segment_name")
    publish_bi_artifact(path, isolated_env.bi_serving_path, delay_s=0)
    return isolated_env


def test_sql_reads_the_masked_bi_tables(published: Settings) -> None:
    result = runner.invoke(warehouse_app(), ["sql", "select rfm_segment, email from bi.customer_profiles"])

    assert result.exit_code == 0, result.output
    assert "Champions" in result.output and HASHED in result.output
    assert f"1 rows from {published.bi_serving_path}" in result.output.replace("\n", "")


def test_sql_cannot_reach_the_marts_of_the_serving_copy(published: Settings) -> None:
    result = runner.invoke(warehouse_app(), ["sql", "select email from marts.customer_profiles"])

    assert result.exit_code == 1
    assert CLEAR_EMAIL not in result.output


@pytest.mark.parametrize(
    "query",
    [
        "ATTACH '{serving}' AS full_copy",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_text('{salt}')",
        "SELECT * FROM read_parquet('{serving}')",
        "COPY (SELECT 1) TO '{out}'",
        "COPY (SELECT 1) TO '{snapshots}/planted.csv'",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "SELECT 1; SELECT 2",
    ],
)
def test_sql_refuses_to_reach_anything_but_the_bi_tables(published: Settings, tmp_path: Path, query: str) -> None:
    salt_file = published.ledger_path.with_name(".erasure_salt")
    erasure_salt(published)  # the salt file exists
    query = query.format(
        serving=published.serving_path,
        salt=salt_file,
        out=tmp_path / "out.csv",
        snapshots=published.bi_serving_path.with_name("serving_bi_snapshots"),
    )

    result = runner.invoke(warehouse_app(), ["sql", query])

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.csv").exists()
    assert not any(p.name == "planted.csv" for p in published.bi_serving_path.parent.rglob("*"))
    assert CLEAR_EMAIL not in result.output and salt_file.read_text() not in result.output


def test_show_describes_the_bi_tables_and_suggests_a_bi_query(published: Settings) -> None:
    result = runner.invoke(warehouse_app(), ["show"])

    assert result.exit_code == 0, result.output
    assert "customer_profiles" in result.output and "VIP" in result.output
    assert f"{HASHED[:12]}…" in result.output and HASHED not in result.output
    assert 'warehouse sql "select rfm_segment, count(*) from bi.customer_profiles' in result.output
    assert CLEAR_EMAIL not in result.output and "marts." not in result.output


def test_show_ends_with_the_connection_strings_of_both_serving_targets(
    published: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVING_URL", "postgresql://publisher:s3cret@db.example.com:5433/serving")

    result = runner.invoke(warehouse_app(), ["show"])

    assert result.exit_code == 0, result.output
    bi = published.bi_serving_path.resolve()
    assert f"duckdb -readonly {bi}" in result.output
    assert f"duckdb:///{bi}?access_mode=read_only" in result.output
    assert "postgresql+psycopg://<login>@db.example.com:5433/serving  (schema bi)" in result.output
    assert "s3cret" not in result.output and "publisher" not in result.output


def test_without_a_bi_artifact_both_say_what_to_run(isolated_env: Settings) -> None:
    for command in (["show"], ["sql", "select 1"]):
        result = runner.invoke(warehouse_app(), command)
        assert result.exit_code == 1
        assert "warehouse run" in result.output
    assert not os.path.exists(isolated_env.bi_serving_path)


@pytest.mark.parametrize(
    "statement",
    ["ATTACH '{serving}' AS full_copy", "COPY (SELECT 1) TO '{out}'", "SET enable_external_access = true"],
)
def test_the_locked_down_connection_refuses_them_itself(published: Settings, tmp_path: Path, statement: str) -> None:
    """Not only `warehouse sql`'s SELECT-only rule: DuckDB refuses too."""
    from serving.bi_artifact import read_only_bi

    with read_only_bi(published.bi_serving_path) as connection, pytest.raises(duckdb.Error):
        connection.execute(statement.format(serving=published.serving_path, out=tmp_path / "out.csv"))
    assert not (tmp_path / "out.csv").exists()
