"""A load runs dlt only for the resources whose landing folder holds something unread: a system with nothing new
starts no dlt run, a new file of one table loads that table alone, and what the reader says every run is still
said."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dlt
import pytest

from core.settings import Settings
from ingestion.pipelines import load
from tests.ingestion.records import contact, order, rows, write_jsonl


@pytest.fixture
def dlt_runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """(pipeline name, selected resources) of every `Pipeline.run` from here on."""
    runs: list[tuple[str, list[str]]] = []
    run = dlt.Pipeline.run

    def spy(self: dlt.Pipeline, data: Any = None, **kwargs: Any) -> Any:
        runs.append((self.pipeline_name, sorted(data.selected_resources)))
        return run(self, data, **kwargs)

    monkeypatch.setattr(dlt.Pipeline, "run", spy)
    return runs


def _first_load(settings: Settings) -> None:
    write_jsonl(settings, "crm/contacts/contacts-b0000-p0000.jsonl", [contact("1", "2024-01-02T00:00:00Z", "a@x.com")])
    write_jsonl(settings, "shop/orders/orders-b0000-p0000.jsonl", [order(1, "2024-01-02T00:00:00Z")])
    load(["crm", "shop"], settings)


def test_a_load_with_nothing_new_starts_no_dlt_run_and_reports_the_tables(
    settings: Settings, dlt_runs: list[tuple[str, list[str]]]
) -> None:
    _first_load(settings)
    dlt_runs.clear()

    summary = load(["crm", "shop"], settings)

    assert dlt_runs == []
    assert summary.rows_loaded == 0
    assert summary.table("crm", "contacts").total == 1
    assert summary.table("shop", "orders").total == 1
    assert summary.table("shop", "orders__line_items").total == 2


def test_one_new_file_runs_its_system_for_its_table_alone(
    settings: Settings, dlt_runs: list[tuple[str, list[str]]]
) -> None:
    _first_load(settings)
    dlt_runs.clear()
    write_jsonl(settings, "shop/orders/orders-b0001-p0000.jsonl", [order(2, "2024-01-03T00:00:00Z")])

    summary = load(["crm", "shop"], settings)

    assert dlt_runs == [("shop", ["orders"])]
    assert summary.table("shop", "orders").loaded == 1
    assert summary.table("crm", "contacts").loaded == 0
    (newest,) = rows(settings, "SELECT max(load_id) FROM raw_shop._dlt_loads")[0]
    assert rows(settings, f"SELECT count(*) FROM raw_shop.orders WHERE _dlt_load_id = '{newest}'") == [(1,)]
    assert rows(settings, "SELECT count(*) FROM raw_crm._dlt_loads") == [(1,)]


def test_a_file_replaced_by_one_of_the_same_size_is_read_again(
    settings: Settings, dlt_runs: list[tuple[str, list[str]]]
) -> None:
    _first_load(settings)
    path = settings.landing_dir / "crm/contacts/contacts-b0000-p0000.jsonl"
    path.write_text(path.read_text().replace("a@x.com", "b@x.com"))
    dlt_runs.clear()

    load(["crm", "shop"], settings)

    assert dlt_runs == [("crm", ["contacts"])]
    assert rows(settings, "SELECT email FROM raw_crm.contacts") == [("b@x.com",)]


def test_what_the_reader_reports_every_run_is_reported_with_nothing_new(
    settings: Settings, tmp_path: Path, dlt_runs: list[tuple[str, list[str]]]
) -> None:
    _first_load(settings)
    outside = write_jsonl(settings, "../outside.jsonl", [contact("2", "2024-01-02T00:00:00Z", "o@x.com")])
    os.symlink(outside, settings.landing_dir / "crm/contacts/link.jsonl")
    load(["crm", "shop"], settings)
    dlt_runs.clear()

    summary = load(["crm", "shop"], settings)

    assert dlt_runs == [("crm", ["contacts"])]
    assert [w for w in summary.warnings if "link.jsonl" in w and "symbolic link" in w]
    assert summary.table("crm", "contacts").total == 1
