"""What the entity merges run in the warehouse: a child table's rows are deleted by the parent key alone (the
rows the primary key would match are among them), the merge keeps its results, and a load's info names the
warehouse as dlt does, without importing SQLAlchemy for it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from dlt.common.configuration.specs import ConnectionStringCredentials
from dlt.destinations.impl.duckdb.sql_client import DuckDbSqlClient

from core.settings import Settings
from ingestion.destination import MergeKeyMergeJob
from ingestion.pipelines import load, loading, make_pipeline
from tests.ingestion.records import order, rows, write_jsonl


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement dlt runs in the warehouse from here on."""
    seen: list[str] = []
    execute_query = DuckDbSqlClient.execute_query

    @contextmanager
    def spy(self: DuckDbSqlClient, query: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        seen.append(query)
        with execute_query(self, query, *args, **kwargs) as cursor:
            yield cursor

    monkeypatch.setattr(DuckDbSqlClient, "execute_query", spy)
    return seen


def test_a_merge_key_inside_the_primary_key_is_the_only_delete_condition() -> None:
    assert MergeKeyMergeJob._gen_key_table_clauses(['"order_id"', '"id"'], ['"order_id"']) == [
        '{d}."order_id" = {s}."order_id"'
    ]
    # a merge key outside the primary key selects other rows: both conditions stay, as dlt has them
    assert MergeKeyMergeJob._gen_key_table_clauses(['"id"'], ['"order_id"']) == [
        '{d}."id" = {s}."id"',
        '{d}."order_id" = {s}."order_id"',
    ]


def test_a_child_tables_merge_deletes_by_the_parent_key_and_replaces_the_items(
    settings: Settings, statements: list[str]
) -> None:
    write_jsonl(
        settings,
        "shop/orders/o-b0000.jsonl",
        [order(5, "2024-01-02T00:00:00Z", items=3), order(6, "2024-01-02T00:00:00Z", items=2)],
    )
    load(["shop"], settings)
    statements.clear()
    write_jsonl(settings, "shop/orders/o-b0001.jsonl", [order(5, "2024-01-03T00:00:00Z", items=1)])

    load(["shop"], settings)

    deletes = [s for s in statements if s.startswith('DELETE FROM "raw_shop"."orders__line_items" as d WHERE')]
    assert deletes, "the second load merges the order's items"
    assert all(' OR d."order_id"' not in s and 'WHERE d."order_id" = s."order_id")' in s for s in deletes)
    assert rows(settings, "SELECT order_id, id FROM raw_shop.orders__line_items ORDER BY order_id, id") == [
        (5, 50),
        (6, 60),
        (6, 61),
    ]


def test_a_loads_info_names_the_warehouse_file_without_sqlalchemy(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def sqlalchemy_url(self: ConnectionStringCredentials) -> None:
        raise AssertionError("rendered with SQLAlchemy's URL")  # dlt's __str__ would then show ""

    monkeypatch.setattr(ConnectionStringCredentials, "to_url", sqlalchemy_url)
    write_jsonl(settings, "shop/orders/o-b0000.jsonl", [order(5, "2024-01-02T00:00:00Z")])
    load(["shop"], settings)

    with loading(settings) as connection:
        info = make_pipeline("shop", settings, connection).last_trace.last_load_info

    assert info.destination_displayable_credentials == f"duckdb:///{settings.warehouse_path}"
