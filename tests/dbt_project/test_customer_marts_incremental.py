"""The incremental customer models equal a full refresh after every kind of change that reaches them (issue 27).

A tiny dbt project holds the real customer models and macros (intermediate/customers, marts/customers, symlinked)
and, in place of everything upstream, views over hand-written tables: the sessionized and bot-judged events, the
identity map, orders, order lines, products, checkouts, Shopify customers and CRM contacts. The test plays what
the upstream models do on a change (a newer load's events appear with a newer dlt load id; a burst re-judges a
device's earlier events non-human and takes them out of the sessionized ones; the identity map moves records)
and runs the real erasure (`privacy.erasure`) on the customer tables. After each round of changes the warehouse
is copied; the original is run incrementally, the copy with `--full-refresh`, and every customer table must be
equal. Checks that each change reached the marts keep the equality from comparing two unchanged tables.
"""

from __future__ import annotations

import gc
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import yaml
from dbt.adapters.duckdb.connections import DuckDBConnectionManager

from core.dbt_cli import dbt_env
from core.settings import DBT_PROJECT_DIR, Settings
from privacy.erasure import erase_from_warehouse
from privacy.ledger import ErasureLedger
from privacy.registry import registry_from_manifest

pytestmark = pytest.mark.slow  # seven dbt invocations of a dozen models

AS_OF = "2026-11-10 00:00:00"
"""Every run is as of the same moment: interest scores and recency move with it."""

UPSTREAM = {  # stand-in model -> its schema and the columns of the table the test writes
    "int_events_sessionized": ("intermediate", "message_id varchar, anonymous_id varchar, user_id varchar,"
                               " event_type varchar, event_name varchar, product_id varchar,"
                               " product_category varchar, occurred_at timestamp, _dlt_load_id varchar"),
    "int_events_bot_flagged": ("intermediate", "message_id varchar, anonymous_id varchar,"
                               " non_human_reason varchar, judged_at timestamp, _dlt_load_id varchar"),
    "customer_identity_map": ("marts", "source_system varchar, source_id varchar, customer_id varchar,"
                              " match_rule varchar, match_score double"),
    "int_orders_converted": ("intermediate", "order_id bigint, shop_customer_id bigint, is_revenue boolean,"
                             " net_revenue_reporting decimal(18, 2), ordered_at timestamp"),
    "int_order_lines_converted": ("intermediate", "order_id bigint, product_id varchar, is_revenue boolean,"
                                  " ordered_at timestamp"),
    "stg_shop__orders": ("staging", "order_id bigint, shop_customer_id bigint"),
    "stg_shop__products": ("staging", "product_id varchar, product_category varchar"),
    "stg_shop__checkouts": ("staging", "checkout_id bigint, shop_customer_id bigint, is_completed boolean,"
                            " created_at timestamp"),
    "stg_shop__customers": ("staging", "shop_customer_id bigint, email varchar, first_name varchar,"
                            " last_name varchar, phone_e164 varchar, city varchar, postal_code varchar,"
                            " province varchar, country_code varchar, accepts_email_marketing boolean,"
                            " email_consent_updated_at timestamp, created_at timestamp, updated_at timestamp"),
    "stg_crm__contacts": ("staging", "contact_id varchar, email varchar, first_name varchar, last_name varchar,"
                          " mobile_phone_e164 varchar, phone_e164 varchar, city varchar, postal_code varchar,"
                          " state varchar, country_code varchar, date_of_birth date, is_email_opted_out boolean,"
                          " is_archived boolean, created_at timestamp, updated_at timestamp"),
    "dim_customers": ("marts", "customer_id varchar"),
}  # fmt: skip

CUSTOMER_TABLES = {  # every table the customer models write, rounded where floating-point sums may differ
    "senders": "select * exclude (decayed_events, dbt_updated_at), round(decayed_events, 9)"
    " from intermediate.int_event_senders_summarized",
    "activity": "select * from intermediate.int_customers_activity_summarized",
    "consent": "select * from intermediate.int_customers_consent_resolved",
    "interests": "select * from intermediate.int_customer_category_interests",
    "orders": "select * from intermediate.int_customers_orders_aggregated",
    "rfm": "select * from intermediate.int_customers_rfm_scored",
    "merged": "select * from intermediate.int_customers_merged",
    "profiles": "select * from marts.customer_profiles",
    "segments": "select * from marts.customer_segments",
}

LOAD_1, LOAD_2, LOAD_3 = "1796000001.000001", "1796000002.000001", "1796000003.000001"


def _events(rows: list[tuple], load: str) -> list[tuple]:
    """(message_id, anonymous_id, user_id, type, name, product_id, category, occurred_at) in `load`."""
    return [(*row, load) for row in rows]


FIRST_EVENTS = _events([
    ("e1", "anon-1", "u1", "track", "Product Viewed", "p1", "Shoes", "2026-11-02 10:00:00"),
    ("e2", "anon-1", "u1", "track", "Product Viewed", "p1", "Shoes", "2026-11-03 10:00:00"),
    ("e3", "anon-1", "u1", "page", "Home", None, None, "2026-11-03 10:05:00"),
    ("e4", "anon-1", "u1", "track", "Product Added", "p2", "Tops", "2026-11-03 10:10:00"),
    ("e5", "anon-2", None, "track", "Product Viewed", "p2", "Tops", "2026-11-04 09:00:00"),
    ("e6", "anon-3", "u2", "track", "Product Viewed", "p3", "Bags", "2026-11-04 12:00:00"),
    ("e7", "anon-4", None, "track", "Product Viewed", "p1", "Shoes", "2026-11-05 08:00:00"),
    ("e8", "anon-4", None, "page", "Sale", None, None, "2026-11-05 08:01:00"),
], LOAD_1) + _events([  # cus_5's device alone holds the newest load: erasing it lowers the newest load held
    ("e9", "anon-5", "u5", "track", "Product Viewed", "p3", "Bags", "2026-11-05 18:00:00"),
], LOAD_2)  # fmt: skip

IDENTITY = [  # (source_system, source_id, customer_id): four people, anon-2 known to nobody yet
    ("shop", "101", "cus_1"), ("crm", "c1", "cus_1"), ("analytics", "u1", "cus_1"), ("analytics", "anon-1", "cus_1"),
    ("shop", "102", "cus_2"), ("analytics", "u2", "cus_2"), ("analytics", "anon-3", "cus_2"),
    ("shop", "103", "cus_3"), ("analytics", "anon-4", "cus_3"),
    ("shop", "105", "cus_5"), ("analytics", "u5", "cus_5"), ("analytics", "anon-5", "cus_5"),
]  # fmt: skip


def _first_rows(con: duckdb.DuckDBPyConnection) -> None:
    con.executemany("insert into given.int_events_sessionized values (?, ?, ?, ?, ?, ?, ?, ?, ?)", FIRST_EVENTS)
    con.execute(
        "insert into given.int_events_bot_flagged"
        " select message_id, anonymous_id, null, timestamp '2026-11-06', _dlt_load_id from given.int_events_sessionized"
    )
    con.executemany("insert into given.customer_identity_map values (?, ?, ?, 'key', 1.0)", IDENTITY)
    con.execute("""
        insert into given.stg_shop__products values ('p1', 'Shoes'), ('p2', 'Tops'), ('p3', 'Bags');
        insert into given.stg_shop__customers
        select id, 'p' || id || '@example.com', 'First' || id, 'Last' || id, null, 'Leeds', 'LS1', null, 'GB',
            true, timestamp '2026-10-01', timestamp '2026-09-01', timestamp '2026-10-01'
        from (values (101), (102), (103), (105)) as ids(id);
        insert into given.stg_crm__contacts values ('c1', 'p101@example.com', 'Ada', 'Last101', null, null, 'York',
            'YO1', null, 'GB', date '1980-01-02', false, false, timestamp '2026-08-01', timestamp '2026-10-02');
        insert into given.int_orders_converted values
            (1, 101, true, 80.00, timestamp '2026-11-03 11:00:00'),
            (2, 102, true, 40.00, timestamp '2026-11-04 13:00:00'),
            (3, 105, true, 25.00, timestamp '2026-11-05 19:00:00');
        insert into given.stg_shop__orders select order_id, shop_customer_id from given.int_orders_converted;
        insert into given.int_order_lines_converted values (1, 'p2', true, timestamp '2026-11-03 11:00:00'),
            (2, 'p3', true, timestamp '2026-11-04 13:00:00'), (3, 'p3', true, timestamp '2026-11-05 19:00:00');
        insert into given.stg_shop__checkouts values (11, 103, false, timestamp '2026-11-05 08:30:00');
    """)  # fmt: skip


def _changes(con: duckdb.DuckDBPyConnection, judged_at: datetime) -> None:
    """The changes, as the upstream models would leave them after a run that loaded LOAD_3."""
    new_events = _events([
        # a late event: anon-1's view of p3 from before any of its events held so far
        ("l1", "anon-1", "u1", "track", "Product Viewed", "p3", "Bags", "2026-11-01 07:00:00"),
        # anon-2 logs in as u1: a new login joins the device to cus_1 (the map below)
        ("l2", "anon-2", "u1", "identify", None, None, None, "2026-11-06 09:00:00"),
        ("l3", "anon-2", "u1", "track", "Product Viewed", "p2", "Tops", "2026-11-06 09:01:00"),
        # an opt-out through Segment
        ("l4", "anon-3", "u2", "track", "Unsubscribed", None, None, "2026-11-06 10:00:00"),
    ], LOAD_3)  # fmt: skip
    con.executemany("insert into given.int_events_sessionized values (?, ?, ?, ?, ?, ?, ?, ?, ?)", new_events)
    con.executemany(
        "insert into given.int_events_bot_flagged values (?, ?, null, ?, ?)",
        [(row[0], row[1], judged_at, LOAD_3) for row in new_events],
    )
    # a bot burst on anon-4: its earlier events re-judged non-human and gone from the sessionized ones
    con.execute("update given.int_events_bot_flagged set non_human_reason = 'rate', judged_at = ?"
                " where anonymous_id = 'anon-4'", [judged_at])  # fmt: skip
    con.execute("insert into given.int_events_bot_flagged values ('b1', 'anon-4', 'rate', ?, ?)", [judged_at, LOAD_3])
    con.execute("delete from given.int_events_sessionized where anonymous_id = 'anon-4'")
    con.execute("""
        -- the login, and a merge: cus_3's records are cus_2's now (the identity models found them one person)
        insert into given.customer_identity_map values ('analytics', 'anon-2', 'cus_1', 'key', 1.0);
        update given.customer_identity_map set customer_id = 'cus_2' where customer_id = 'cus_3';
        -- an opt-out in the shop, an order and a refund (the refunded order's net revenue falls)
        update given.stg_shop__customers set accepts_email_marketing = false,
            email_consent_updated_at = timestamp '2026-11-06 11:00:00' where shop_customer_id = 101;
        insert into given.int_orders_converted values (4, 103, true, 60.00, timestamp '2026-11-06 12:00:00');
        insert into given.stg_shop__orders values (4, 103);
        insert into given.int_order_lines_converted values (4, 'p1', true, timestamp '2026-11-06 12:00:00');
        update given.int_orders_converted set net_revenue_reporting = 30.00 where order_id = 1;
        -- a product moves to another category: its earlier views move with it
        update given.stg_shop__products set product_category = 'Accessories' where product_id = 'p3';
    """)


def _erase_cus_5(settings: Settings, manifest: dict) -> None:
    """The erasure of cus_5 (it runs first in a run, while the identity map still knows their records): the real
    erasure deletes their rows from the customer tables; what it does upstream (their events, records and orders
    gone) is played here."""
    ErasureLedger(settings).record([("customer_id", "cus_5")])
    erase_from_warehouse(settings.warehouse_path, settings, registry_from_manifest(manifest))
    with duckdb.connect(str(settings.warehouse_path)) as con:
        for table in ("int_events_sessionized", "int_events_bot_flagged"):
            con.execute(f"delete from given.{table} where anonymous_id = 'anon-5'")
        con.execute("""
            delete from given.customer_identity_map where customer_id = 'cus_5';
            delete from given.stg_shop__customers where shop_customer_id = 105;
            delete from given.int_orders_converted where shop_customer_id = 105;
            delete from given.stg_shop__orders where shop_customer_id = 105;
            delete from given.int_order_lines_converted where order_id = 3;
        """)


def _project(root: Path) -> Path:
    """The real customer models, macros and seeds in a project whose other models are views over `given`."""
    real = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    project = root / "dbt_project"
    (project / "models" / "given").mkdir(parents=True)
    (project / "tests").mkdir()
    for folder in ("macros", "seeds", "tests/generic"):
        (project / folder).symlink_to(DBT_PROJECT_DIR / folder, target_is_directory=True)
    for folder in ("intermediate/customers", "marts/customers"):  # dbt does not walk into linked folders
        (project / "models" / folder).mkdir(parents=True)
        for file in (DBT_PROJECT_DIR / "models" / folder).iterdir():
            (project / "models" / folder / file.name).symlink_to(file)
    (project / "profiles.yml").symlink_to(DBT_PROJECT_DIR / "profiles.yml")
    models = real["models"][real["name"]]
    config = {key: real[key] for key in ("name", "profile", "vars", "flags")} | {
        "version": "1.0.0",
        "models": {real["name"]: {key: models[key] for key in ("+incremental_strategy", "+on_schema_change")} | {
            "+materialized": "table", "intermediate": {"+schema": "intermediate"}, "marts": {"+schema": "marts"},
        }},
        "seeds": {real["name"]: {"+schema": "seeds"}},
    }  # fmt: skip
    (project / "dbt_project.yml").write_text(yaml.safe_dump(config))
    for name, (schema, _) in UPSTREAM.items():
        # the identity map is a table, as the erasure expects (it reads no views)
        materialized = "table" if name == "customer_identity_map" else "view"
        (project / "models" / "given" / f"{name}.sql").write_text(
            f"{{{{ config(schema='{schema}', materialized='{materialized}') }}}}\nselect * from given.{name}\n"
        )
    return project


class Dbt:
    """dbt in this process, parsed once: one invocation per run, against the warehouse `settings` names."""

    def __init__(self, project: Path, target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        from dbt.cli.main import dbtRunner

        self.monkeypatch = monkeypatch
        self.common = ["--project-dir", str(project), "--profiles-dir", str(project), "--target", "prod",
                       "--target-path", str(target), "--quiet", "--vars", json.dumps({"as_of": AS_OF})]  # fmt: skip
        parsed = dbtRunner().invoke(["parse", *self.common])
        assert parsed.success, parsed.exception
        self.manifest = json.loads((target / "manifest.json").read_text())
        self.runner = dbtRunner(manifest=parsed.result)

    def __call__(self, settings: Settings, *args: str) -> None:
        for name, value in dbt_env(settings).items():
            self.monkeypatch.setenv(name, value)
        result = self.runner.invoke([*args, *self.common, "--no-write-json"])
        DuckDBConnectionManager.close_all_connections()  # let go of the file, as a dbt process would
        gc.collect()
        assert result.success, result.exception or [r.message for r in result.result if r.status != "success"]


def _settings(root: Path) -> Settings:
    root.mkdir(parents=True, exist_ok=True)
    return Settings(
        landing_dir=root / "landing",
        warehouse_path=root / "warehouse.duckdb",
        serving_path=root / "serving.duckdb",
        pipelines_dir=root / ".dlt",
    )


def _read(settings: Settings) -> dict[str, list[tuple]]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return {name: sorted(con.sql(sql).fetchall(), key=repr) for name, sql in CUSTOMER_TABLES.items()}


def _query(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return sorted(con.sql(sql).fetchall(), key=repr)


@dataclass(frozen=True)
class Runs:
    """The customer tables after the incremental run and after a full refresh, and what changed."""

    incremental: dict[str, list[tuple]]
    full_refresh: dict[str, list[tuple]]
    before: dict[str, tuple]
    after: dict[str, tuple]
    """customer_profiles by customer_id after the first build and after the incremental run: (last_seen_at,
    email_consent_source, orders_count, lifetime_value, favourite_category)."""
    rewritten_devices: list[str]
    """Devices whose int_event_senders_summarized rows the incremental run (re)wrote."""


PROFILE = (
    "select customer_id, last_seen_at, email_consent_source, orders_count, lifetime_value, favourite_category"
    " from marts.customer_profiles"
)


def _profiles(settings: Settings) -> dict[str, tuple]:
    return {row[0]: row[1:] for row in _query(settings, PROFILE)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """A first build; the erasure and the changes; an incremental run, and a full refresh of a copy."""
    root = tmp_path_factory.mktemp("customer_marts")
    settings, reference = _settings(root / "incremental"), _settings(root / "full_refresh")
    with pytest.MonkeyPatch.context() as monkeypatch:
        dbt = Dbt(_project(root), root / "target", monkeypatch)
        with duckdb.connect(str(settings.warehouse_path)) as con:
            con.execute("create schema given")
            for name, (_, columns) in UPSTREAM.items():
                con.execute(f"create table given.{name} ({columns})")
            _first_rows(con)
        dbt(settings, "seed", "--select", "interest_event_weights", "rfm_segments")
        dbt(settings, "run")
        before = _profiles(settings)
        _erase_cus_5(settings, dbt.manifest)
        with duckdb.connect(str(settings.warehouse_path)) as con:
            _changes(con, datetime.now(UTC).replace(tzinfo=None))
        shutil.copy(settings.warehouse_path, reference.warehouse_path)
        dbt(settings, "run")
        dbt(reference, "run", "--full-refresh")
        rewritten = _query(
            settings,
            "select distinct anonymous_id from intermediate.int_event_senders_summarized"
            " where dbt_updated_at = (select max(dbt_updated_at) from intermediate.int_event_senders_summarized)",
        )
        yield Runs(_read(settings), _read(reference), before, _profiles(settings), [row[0] for row in rewritten])


@pytest.mark.parametrize("table", CUSTOMER_TABLES)
def test_an_incremental_run_equals_a_full_refresh(runs: Runs, table: str) -> None:
    assert runs.incremental[table] == runs.full_refresh[table]


def test_the_changes_reach_the_profiles(runs: Runs) -> None:
    """Each change shows, so the equality above compares changed tables, not two unchanged ones."""
    before, after = runs.before, runs.after
    # the login: anon-2's views are cus_1's now; the late view changes nothing of last_seen_at
    assert str(before["cus_1"][0]) == "2026-11-03 10:10:00" and str(after["cus_1"][0]) == "2026-11-06 09:01:00"
    # the shop opt-out and the Segment one decide consent
    assert before["cus_1"][1] == "crm" and after["cus_1"][1] == "shop"
    assert before["cus_2"][1] == "shop" and after["cus_2"][1] == "analytics"
    # the merge and the burst: cus_3 is cus_2's now, and anon-4's events (cus_3's only ones) are bot traffic
    assert "cus_3" not in after and str(before["cus_3"][0]) == "2026-11-05 08:01:00"
    assert str(after["cus_2"][0]) == "2026-11-06 10:00:00"
    # the order (cus_3's shop record is cus_2's) and the refund
    assert (before["cus_2"][2], after["cus_2"][2]) == (1, 2)
    assert (before["cus_1"][3], after["cus_1"][3]) == (80, 30)
    # the new category of p3: anon-3's earlier view and the order line of it, and anon-1's late view
    categories = {row[1] for row in runs.incremental["interests"]}
    assert "Bags" not in categories and before["cus_2"][4] == "Bags" and after["cus_2"][4] == "Accessories"
    # the erasure: cus_5 has left every customer table
    assert "cus_5" in before and "cus_5" not in after
    for table, rows in runs.incremental.items():
        assert not any(value in ("cus_5", "anon-5", "u5") for row in rows for value in row), table


def test_a_run_rewrites_only_the_devices_with_new_events(runs: Runs) -> None:
    """anon-4 (judged non-human) and anon-5 (erased) have no rows left; nothing else is rewritten."""
    assert runs.rewritten_devices == ["anon-1", "anon-2", "anon-3"]
    assert {row[0] for row in runs.incremental["senders"]} == {"anon-1", "anon-2", "anon-3"}


def test_interest_decays_each_event_from_its_own_time(runs: Runs) -> None:
    """cus_1's Shoes: two views of p1 (11-02 10:00, 11-03 10:00), held decayed to anon-1's latest event (a late
    event moved it) and decayed on to as_of: each weighs 0.5^(hours before as_of / 24 / 14)."""
    hours_before_as_of = (182, 158)  # to 2026-11-10 00:00
    score = round(sum(0.5 ** (hours / 24 / 14) for hours in hours_before_as_of), 4)  # weight 1 (the seed)
    shoes = [row for row in runs.incremental["interests"] if row[:2] == ("cus_1", "Shoes")]
    assert [(row[2], float(row[4])) for row in shoes] == [(2, score)]
