"""What a dlt run costs whatever it loads: the state restore is skipped only when the warehouse holds the local
state, capabilities are worked out once per destination, and the readers of one package share dlt's sql client.
Each skip keeps what it skips from changing anything: a state the warehouse does not hold is restored as before."""

from __future__ import annotations

import json
import shutil
from typing import Any

import dlt
import pytest
from dlt.common.destination.reference import Destination
from dlt.destinations import duckdb as dlt_duckdb

from core.settings import Settings
from ingestion.destination import duckdb as warehouse_duckdb
from ingestion.pipelines import load
from tests.ingestion.records import contact, order, rows, write_jsonl


@pytest.fixture
def restores(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Pipeline names of every restore of state and schemas from the warehouse from here on."""
    names: list[str] = []
    sync = dlt.Pipeline._sync_destination

    def spy(self: dlt.Pipeline, *args: Any, **kwargs: Any) -> Any:
        names.append(self.pipeline_name)
        return sync(self, *args, **kwargs)

    monkeypatch.setattr(dlt.Pipeline, "_sync_destination", spy)
    return names


def _newest_committed_state(settings: Settings, system: str) -> str:
    ((version_hash,),) = rows(
        settings,
        f"SELECT s.version_hash FROM raw_{system}._dlt_pipeline_state s JOIN raw_{system}._dlt_loads l "
        "ON l.load_id = s._dlt_load_id WHERE l.status = 0 ORDER BY l.load_id DESC LIMIT 1",
    )
    return version_hash


def _local_state(settings: Settings, system: str) -> dict[str, Any]:
    return json.loads((settings.pipelines_dir / system / "state.json").read_text())


def test_a_run_whose_local_state_the_warehouse_holds_skips_the_restore_and_still_commits_its_state(
    settings: Settings, restores: list[str]
) -> None:
    write_jsonl(settings, "crm/contacts/c-b0000.jsonl", [contact("1", "2024-01-02T00:00:00Z", "a@x.com")])
    load(["crm"], settings)
    assert restores == ["crm"], "the first run has no state to compare: dlt restores as always"
    restores.clear()
    write_jsonl(settings, "crm/contacts/c-b0001.jsonl", [contact("1", "2024-01-03T00:00:00Z", "b@x.com")])

    summary = load(["crm"], settings)

    assert restores == []
    assert summary.table("crm", "contacts").loaded == 1
    assert rows(settings, "SELECT email FROM raw_crm.contacts") == [("b@x.com",)]
    state = _local_state(settings, "crm")
    assert _newest_committed_state(settings, "crm") == state["_version_hash"]
    assert set(state["sources"]["crm"]["resources"]["contacts"]["files"]) == {
        "crm/contacts/c-b0000.jsonl",
        "crm/contacts/c-b0001.jsonl",
    }


def test_a_local_state_the_warehouse_does_not_hold_is_restored_from_the_warehouse(
    settings: Settings, restores: list[str]
) -> None:
    """A pipelines folder from before the last load (another machine, a backup): the warehouse's newer state
    says which files were read, so none is read twice and the new one is."""
    write_jsonl(settings, "crm/contacts/c-b0000.jsonl", [contact("1", "2024-01-02T00:00:00Z", "a@x.com")])
    load(["crm"], settings)
    old_folder = settings.pipelines_dir.parent / "pipelines-before"
    shutil.copytree(settings.pipelines_dir, old_folder)
    write_jsonl(settings, "crm/contacts/c-b0001.jsonl", [contact("2", "2024-01-03T00:00:00Z", "b@x.com")])
    load(["crm"], settings)
    shutil.rmtree(settings.pipelines_dir)
    shutil.copytree(old_folder, settings.pipelines_dir)
    restores.clear()
    write_jsonl(settings, "crm/contacts/c-b0002.jsonl", [contact("3", "2024-01-04T00:00:00Z", "c@x.com")])

    summary = load(["crm"], settings)

    assert restores == ["crm"]
    assert summary.table("crm", "contacts").loaded == 1, "only the new file: the restored state knew the others"
    assert rows(settings, "SELECT id FROM raw_crm.contacts ORDER BY id") == [("1",), ("2",), ("3",)]
    assert _newest_committed_state(settings, "crm") == _local_state(settings, "crm")["_version_hash"]


def test_a_new_warehouse_under_an_old_pipelines_folder_is_loaded_whole(settings: Settings, restores: list[str]) -> None:
    write_jsonl(settings, "shop/orders/o-b0000.jsonl", [order(1, "2024-01-02T00:00:00Z")])
    load(["shop"], settings)
    for path in settings.warehouse_path.parent.glob(f"{settings.warehouse_path.name}*"):
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    restores.clear()
    write_jsonl(settings, "shop/orders/o-b0001.jsonl", [order(2, "2024-01-03T00:00:00Z")])

    load(["shop"], settings)

    assert restores == ["shop"]
    assert rows(settings, "SELECT id FROM raw_shop.orders ORDER BY id") == [(1,), (2,)]


def test_capabilities_are_dlts_and_resolved_once_per_destination(monkeypatch: pytest.MonkeyPatch) -> None:
    resolutions: list[Any] = []
    configuration = Destination.configuration

    def spy(self: Destination, *args: Any, **kwargs: Any) -> Any:
        resolutions.append(args)
        return configuration(self, *args, **kwargs)

    monkeypatch.setattr(Destination, "configuration", spy)
    destination = warehouse_duckdb()
    first = destination.capabilities()
    first.preferred_loader_file_format = "csv"  # what a caller sets in its copy stays in its copy
    second = destination.capabilities()

    assert len(resolutions) == 1
    own = dict(dlt_duckdb().capabilities())
    own["loader_parallelism_strategy"] = "table-sequential"  # the one capability this destination changes
    assert dict(second) == own
    assert second.preferred_loader_file_format != "csv"


def test_the_readers_of_one_package_share_one_sql_client(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    sql_client = dlt.Pipeline.sql_client

    def spy(self: dlt.Pipeline, *args: Any, **kwargs: Any) -> Any:
        made.append(self.pipeline_name)
        return sql_client(self, *args, **kwargs)

    monkeypatch.setattr(dlt.Pipeline, "sql_client", spy)
    write_jsonl(settings, "shop/orders/o-b0000.jsonl", [order(1, "2024-01-02T00:00:00Z")])
    write_jsonl(
        settings, "shop/customers/c-b0000.jsonl", [{"id": 7, "email": "a@x.com", "updated_at": "2024-01-02T00:00:00Z"}]
    )
    load(["shop"], settings)
    made.clear()
    write_jsonl(settings, "shop/orders/o-b0001.jsonl", [order(1, "2024-01-03T00:00:00Z", items=1)])
    write_jsonl(
        settings, "shop/customers/c-b0001.jsonl", [{"id": 7, "email": "b@x.com", "updated_at": "2024-01-03T00:00:00Z"}]
    )

    load(["shop"], settings)

    assert made == ["shop"]
    assert rows(settings, "SELECT count(*) FROM raw_shop.orders__line_items") == [(1,)]
    assert rows(settings, "SELECT email FROM raw_shop.customers") == [("b@x.com",)]


def test_a_merge_leaves_no_rows_in_the_staging_dataset(settings: Settings) -> None:
    """The next load then has no earlier load's rows to delete first, and the warehouse no second copy."""
    write_jsonl(
        settings, "shop/orders/o-b0000.jsonl", [order(1, "2024-01-02T00:00:00Z"), order(2, "2024-01-02T00:00:00Z")]
    )
    load(["shop"], settings)
    write_jsonl(settings, "shop/orders/o-b0001.jsonl", [order(2, "2024-01-03T00:00:00Z", items=1)])

    load(["shop"], settings)

    staged = rows(
        settings,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw_shop_staging' "
        "AND NOT starts_with(table_name, '_dlt')",
    )
    assert {"orders", "orders__line_items"} <= {table for (table,) in staged}
    assert [(table, rows(settings, f'SELECT count(*) FROM raw_shop_staging."{table}"')) for (table,) in staged] == [
        (table, [(0,)]) for (table,) in staged
    ]
    assert rows(settings, "SELECT order_id, count(*) FROM raw_shop.orders__line_items GROUP BY 1 ORDER BY 1") == [
        (1, 2),
        (2, 1),
    ]
