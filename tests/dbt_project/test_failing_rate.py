"""Raw and staging tests warn on a few failing rows and fail the build above max_failing_row_rate of the table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from core.dbt_cli import run_dbt
from core.settings import get_settings
from tests.dbt_project.test_raw_rows import LOAD_1, create_empty_raw_tables

SOURCE_TEST = "source_not_null_crm_contacts_id"
ROW_COUNT_TEST = "row_count_change_stg_crm__contacts_source_crm_contacts_"


def _contacts(warehouse: Path, with_id: int, without_id: int) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from raw_crm.contacts")
        con.execute(
            "insert into raw_crm.contacts (id, email, updated_at, _dlt_load_id, _dlt_id) "
            "select case when i < ? then 'c' || i end, 'p' || i || '@example.com', "
            "timestamp '2026-11-20 10:00:00', ?, 'row-' || i from range(?) as r(i)",
            [with_id, LOAD_1, with_id + without_id],
        )


def _statuses(target: Path) -> dict[str, str]:
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {result["unique_id"].split(".")[2]: result["status"] for result in results}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """One warehouse and one dbt target for the module, so that dbt parses the project once (the tests run one
    after the other and each writes the contacts it needs)."""
    root = tmp_path_factory.mktemp("failing_rate")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WAREHOUSE_PATH", str(root / "warehouse.duckdb"))
        with duckdb.connect(str(root / "warehouse.duckdb")) as con:
            create_empty_raw_tables(con)
        yield root / "warehouse.duckdb", root / "target"


@pytest.mark.parametrize(
    ("without_id", "status"),
    [(1, "warn"), (3, "warn"), (4, "fail")],
    ids=["one_in_300", "exactly_one_percent", "over_one_percent"],
)
def test_a_source_test_warns_below_one_percent_of_failing_rows_and_fails_above(
    project: tuple[Path, Path], without_id: int, status: str
) -> None:
    warehouse, target = project
    _contacts(warehouse, with_id=300 - without_id, without_id=without_id)

    run_dbt(["test", "--select", SOURCE_TEST], get_settings(), target_path=target, check=False)

    assert _statuses(target)[SOURCE_TEST] == status


def test_the_share_is_a_var(project: tuple[Path, Path]) -> None:
    """In a target of its own: dbt's partial parse holds one set of vars, and the module's target keeps the
    parse without them for the tests after this one."""
    warehouse, module_target = project
    target = module_target.with_name("target_with_vars")
    _contacts(warehouse, with_id=290, without_id=10)

    selection = ["--select", SOURCE_TEST]
    run_dbt(
        ["test", *selection, "--vars", "{max_failing_row_rate: 0.05}"], get_settings(), target_path=target, check=False
    )

    assert _statuses(target)[SOURCE_TEST] == "warn", "10 of 300 is within 5%"


def test_a_whole_table_test_keeps_dbt_s_rule(project: tuple[Path, Path]) -> None:
    """row_count_change returns one row however large the table: a lost row fails it, whatever the rate."""
    warehouse, target = project
    _contacts(warehouse, with_id=300, without_id=0)
    build = ["build", "--select", "+stg_crm__contacts", "--resource-type", "seed", "--resource-type", "model"]
    run_dbt(build, get_settings(), target_path=target)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from raw_crm.contacts where id = 'c0'")

    run_dbt(["test", "--select", ROW_COUNT_TEST], get_settings(), target_path=target, check=False)

    assert _statuses(target)[ROW_COUNT_TEST] == "fail"
