"""The incremental event models and the customer marts built on them equal a full refresh after changes that
touch them: a late event, a device logging in (its person changes), a burst turning a sender's events into bot
traffic, an opt-out, a new order and a refund. And a run rewrites only the senders whose events changed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import pytest

from core.dbt_cli import run_dbt
from core.settings import Settings, get_settings
from tests.dbt_project.test_raw_rows import LOAD_2, LOAD_3, append_events, create_raw_tables, event

pytestmark = pytest.mark.slow  # three dbt runs of the event and customer models

# Interest scores decay with the time of the run: every run is as of the same moment.
AS_OF = ["--vars", "{as_of: '2026-12-01 00:00:00'}"]
FIRST_BUILD = ["build", "--select", "+customer_segments", "+fct_sessions", "--resource-type", "seed", "--resource-type",
               "model", *AS_OF]  # fmt: skip
# What a run after the changes builds: the models between the changed raw tables and the marts.
RUN = [
    "run", "--select", *(f"{changed}+,+{mart}" for changed in (
        "stg_analytics__events", "stg_shop__orders", "stg_shop__order_lines", "stg_shop__order_refunds"
    ) for mart in ("customer_segments", "fct_sessions")), *AS_OF,
]  # fmt: skip

# Before the first build: a device nobody has logged in on yet, and one that user 1002 uses.
SECOND_LOAD = [
    event("a1", "track", "Product Viewed", "anon-4", None, "2026-11-22 08:00:00+00",
          properties='{"product_id": "9002", "category": "Outerwear"}'),
    event("a2", "page", "Home", "anon-4", None, "2026-11-22 08:05:00+00"),
    event("g1", "track", "Product Viewed", "anon-5", "1002", "2026-11-22 10:00:00+00",
          properties='{"product_id": "9001", "category": "Footwear"}'),
    event("s1", "page", "Home", "anon-6", None, "2026-11-22 11:00:00+00"),  # nothing changes it later
]  # fmt: skip

# After it: anon-4 logs in as 1001 (its earlier views become Ada's), a late view of anon-1 that happened before
# every event of its sender held so far, 31 events in one minute from anon-5 (all its events turn non-human),
# and Alan unsubscribing through Segment.
THIRD_LOAD = [
    event("a3", "identify", None, "anon-4", "1001", "2026-11-23 08:00:00+00"),
    event("late", "track", "Product Viewed", "anon-1", "1001", "2026-11-19 09:00:00+00",
          properties='{"product_id": "9002", "category": "Outerwear"}'),
    *(event(f"b{i:02d}", "page", "Home", "anon-5", "1002", f"2026-11-23 10:00:{i:02d}+00") for i in range(31)),
    event("u1", "track", "Unsubscribed", "anon-2", "1002", "2026-11-24 09:00:00+00"),
]  # fmt: skip

NEW_ORDER = (5004, "#1004", 1004, "alan@example.co.uk", None, 1002, "GBP", 30, 30, 0, 0, "paid", None, None, None,
             False, "web", "10.0.0.2", "London", "SW1A 1AA", None, "United Kingdom", "GB",
             "2026-11-24 12:00:00+00", "2026-11-24 12:00:00+00", "2026-11-24 12:00:00+00")  # fmt: skip
NEW_LINE = (7004, 5004, 9001, 9101, "SKU-1", "Trail Shoe", 1, 30, 0, "Acme")
REFUND = (8002, 5002, "2026-11-24 13:00:00+00", "2026-11-24 13:00:00+00", "late", 10)

# Every incremental model this change touches, and the customer tables built on them, without the run stamps
# (which differ between runs by design).
COMPARED = {
    "senders": "select * exclude (dbt_updated_at) from intermediate.int_event_senders_summarized",
    "attributed": "select * exclude (sessionized_at, attributed_at) from intermediate.int_events_attributed",
    "sessions": "select * exclude (dbt_updated_at) from marts.fct_sessions",
    "activity": "select * from intermediate.int_customers_activity_summarized",
    "consent": "select * from intermediate.int_customers_consent_resolved",
    "interests": "select * from intermediate.int_customer_category_interests",
    "orders": "select * from intermediate.int_customers_orders_aggregated",
    "profiles": "select * from marts.customer_profiles",
    "segments": "select * from marts.customer_segments",
}


@dataclass(frozen=True)
class Runs:
    incremental: dict[str, list[tuple]]
    full_refresh: dict[str, list[tuple]]
    stamped_senders: list[tuple]
    """(anonymous_id, user_id) of the senders the incremental run rewrote."""
    people_before: dict[str, tuple]
    people_after: dict[str, tuple]
    """PEOPLE by email, after the first build and after the incremental run."""
    ada_outerwear: list[tuple]
    """Ada's interest in Outerwear after the incremental run."""


PEOPLE = (
    "select email, last_seen_at, last_product_viewed_at, email_consent_at, orders_count, lifetime_value"
    " from marts.customer_profiles"
)


def _query(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return sorted(con.execute(sql).fetchall(), key=repr)


def _append(settings: Settings, table: str, rows: list[tuple], load_id: str) -> None:
    """Rows as dlt would merge them in a later load (the raw tables' own columns, then dlt's)."""
    with duckdb.connect(str(settings.warehouse_path)) as con:
        placeholders = ", ".join(["?"] * len(rows[0]))
        for i, row in enumerate(rows):
            con.execute(f"insert into {table} values ({placeholders}, ?, ?, null, null)", [*row, load_id, f"x{i}"])


def _tables(settings: Settings) -> dict[str, list[tuple]]:
    return {name: _query(settings, sql) for name, sql in COMPARED.items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """A first build, the changes, an incremental run, then a full refresh of the same models."""
    directory = tmp_path_factory.mktemp("incremental_marts")
    target = directory / "target"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("WAREHOUSE_PATH", str(directory / "warehouse.duckdb"))
        monkeypatch.setenv("LANDING_DIR", str(directory / "landing"))
        monkeypatch.setenv("DLT_PIPELINES_DIR", str(directory / ".dlt"))
        settings = get_settings()
        create_raw_tables(settings.warehouse_path)
        append_events(settings.warehouse_path, SECOND_LOAD, LOAD_2)
        run_dbt(FIRST_BUILD, settings, target_path=target)

        people_before = {row[0]: row[1:] for row in _query(settings, PEOPLE)}

        append_events(settings.warehouse_path, THIRD_LOAD, LOAD_3)
        _append(settings, "raw_shop.orders", [NEW_ORDER], LOAD_3)
        _append(settings, "raw_shop.orders__line_items", [NEW_LINE], LOAD_3)
        _append(settings, "raw_shop.orders__refunds", [REFUND], LOAD_3)
        run_dbt(RUN, settings, target_path=target)
        incremental = _tables(settings)
        people_after = {row[0]: row[1:] for row in _query(settings, PEOPLE)}
        ada_outerwear = _query(
            settings,
            "select interests.signals_count, interests.interest_score"
            " from intermediate.int_customer_category_interests as interests"
            " inner join marts.customer_profiles as profiles on interests.customer_id = profiles.customer_id"
            " where profiles.email = 'ada.lovelace@example.com' and interests.product_category = 'Outerwear'",
        )
        stamped = _query(
            settings,
            "select distinct anonymous_id, user_id from intermediate.int_event_senders_summarized"
            " where dbt_updated_at = (select max(dbt_updated_at) from intermediate.int_event_senders_summarized)",
        )
        run_dbt([*RUN, "--full-refresh"], settings, target_path=target)
        yield Runs(incremental, _tables(settings), stamped, people_before, people_after, ada_outerwear)


@pytest.mark.parametrize("table", COMPARED)
def test_incremental_run_equals_a_full_refresh(runs: Runs, table: str) -> None:
    assert runs.incremental[table] == runs.full_refresh[table]


def test_a_run_rewrites_only_the_senders_whose_events_changed(runs: Runs) -> None:
    # anon-4's anonymous events are rewritten too: its login re-sessionizes its last session. anon-5's events all
    # turned non-human: it has no rows left. anon-6 had no new event.
    assert runs.stamped_senders == [("anon-1", "1001"), ("anon-2", "1002"), ("anon-4", "1001"), ("anon-4", None)]
    senders = {(row[1], row[2]) for row in runs.incremental["senders"]}
    assert ("anon-6", None) in senders and not any(anonymous_id == "anon-5" for anonymous_id, _ in senders)


def test_the_changes_reach_the_customer_marts(runs: Runs) -> None:
    """Each change shows in the profiles, so the equality above compares changed tables, not two old ones."""
    ada, alan = "ada.lovelace@example.com", "alan@example.co.uk"
    before, after = runs.people_before, runs.people_after
    # the login: anon-4's view of 2026-11-22 and its identify are Ada's now
    assert str(before[ada][1]) == "2026-11-20 11:00:00" and str(after[ada][1]) == "2026-11-22 08:00:00"
    assert str(after[ada][0]) == "2026-11-23 08:00:00"
    # the burst: Alan's only product view (anon-5's) is bot traffic now; his Segment opt-out is the latest
    assert before[alan][1] is not None and after[alan][1] is None
    assert str(after[alan][2]) == "2026-11-24 09:00:00"
    # the order and the refund
    assert (before[alan][3], after[alan][3]) == (1, 2) and after[alan][4] != before[alan][4]


def test_interest_decays_each_event_from_its_own_time(runs: Runs) -> None:
    """Ada viewed Outerwear (product 9002) on 11-19 09:00 (the late view), 11-20 11:00 and, on anon-4, 11-22 08:00:
    each view weighs 0.5^(hours before as_of / 24 / 14), though the first two are summed in one row."""
    hours_before_as_of = (279, 253, 208)  # to 2026-12-01 00:00
    score = sum(0.5 ** (hours / 24 / 14) for hours in hours_before_as_of)
    assert [(count, float(interest)) for count, interest in runs.ada_outerwear] == [(3, round(score, 4))]
