"""Where a latency went, read from Dagster run logs: the arithmetic on plain events, then on a real instance."""

from __future__ import annotations

import dagster as dg
import pytest

from bench.run_events import Event, RunLog, part_of, read_runs, split, steps


def step(
    key: str, start: float, end: float, *, asset: str | None = None, check: bool = False, dbt: bool = False
) -> list[Event]:
    events = [Event(start, "STEP_START", key)]
    if asset:
        events.append(Event(end, "ASSET_MATERIALIZATION", key, asset, dbt))
    if check:
        events.append(Event(end, "ASSET_CHECK_EVALUATION", key, "raw_analytics/events"))
    return [*events, Event(end, "STEP_SUCCESS", key)]


def run(run_id: str, created: float, started: float, ended: float | None, *step_events: list[Event]) -> RunLog:
    events = [Event(started, "RUN_START")] + [e for group in step_events for e in group]
    if ended is not None:
        events.append(Event(ended, "RUN_SUCCESS"))
    return RunLog(run_id, created, tuple(events), "sensor")


LOAD_RUN = run(
    "load",
    130.0,
    140.0,
    153.0,
    step("load_raw_analytics", 141.0, 150.0, asset="raw_analytics/events"),
    step("no_future_timestamps", 150.0, 152.0, check=True),
)
BUILD_RUN = run(
    "build",
    170.0,
    178.0,
    232.0,
    step("dbt_models", 179.0, 220.0, asset="marts/customer_profiles", check=True, dbt=True),
    step("one_profile_per_customer", 220.0, 225.0, check=True),
    step("serving__marts", 225.0, 230.0, asset="serving/marts"),
)


def test_a_step_is_named_by_what_it_produced() -> None:
    assert part_of(["raw_shop/customers"], checked=True) == "load"
    assert part_of(["serving/marts"], checked=False) == "publish"
    assert part_of(["marts/customer_profiles", "staging/stg_shop__customers"], checked=True, by_dbt=True) == "dbt"
    assert part_of([], checked=True) == "checks"
    assert part_of(["privacy/erasure"], checked=False) == "other_steps"
    assert part_of([], checked=False) == "other_steps"


def test_steps_come_in_start_order_with_their_seconds() -> None:
    found = steps(BUILD_RUN)
    assert [(s.key, s.part, s.end - s.start) for s in found] == [
        ("dbt_models", "dbt", 41.0),
        ("one_profile_per_customer", "checks", 5.0),
        ("serving__marts", "publish", 5.0),
    ]


def test_two_runs_one_after_the_other_add_up_to_the_latency() -> None:
    parts = split(100.0, 231.0, [BUILD_RUN, LOAD_RUN]).as_dict()

    assert parts["wait_for_sensor_s"] == 47.0  # probe -> load run created, load run ended -> build run created
    assert parts["run_queue_s"] == 18.0
    assert (parts["load_s"], parts["dbt_s"], parts["checks_s"], parts["publish_s"]) == (9.0, 41.0, 7.0, 5.0)
    assert parts["run_overhead_s"] == 4.0  # two seconds per run outside its steps, inside the window
    assert parts["total_s"] == 131.0
    assert parts["unaccounted_s"] == 0.0


def test_time_after_the_last_run_ended_is_unaccounted_not_a_sensor_wait() -> None:
    parts = split(100.0, 240.0, [LOAD_RUN, BUILD_RUN]).as_dict()

    assert parts["wait_for_sensor_s"] == 47.0
    assert parts["unaccounted_s"] == 8.0  # the build run ended at 232, the observer looked at 240


def test_only_what_happened_inside_the_window_counts() -> None:
    still_running = run("build", 170.0, 178.0, None, step("dbt_models", 179.0, 220.0, asset="marts/x", dbt=True))
    before = run("earlier", 10.0, 12.0, 30.0, step("load_raw_shop", 12.0, 29.0, asset="raw_shop/customers"))

    parts = split(100.0, 200.0, [before, LOAD_RUN, still_running]).as_dict()

    assert parts["dbt_s"] == 21.0  # 179 -> 200, the end of the window
    assert parts["load_s"] == 9.0  # the earlier run's load ended before the probe
    assert parts["wait_for_sensor_s"] == 47.0


def test_runs_side_by_side_make_the_rest_negative() -> None:
    twin = run("twin", 130.0, 140.0, 153.0, step("load_raw_shop", 141.0, 150.0, asset="raw_shop/orders"))

    parts = split(100.0, 153.0, [LOAD_RUN, twin]).as_dict()

    assert parts["load_s"] == 18.0
    assert parts["unaccounted_s"] < 0


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def test_a_real_runs_log_reads_as_steps_of_each_part(instance: dg.DagsterInstance) -> None:
    @dg.asset(key=["raw_shop", "customers"])
    def customers() -> None: ...

    @dg.asset(key=["marts", "customer_profiles"], deps=[customers])
    def profiles() -> dg.MaterializeResult:  # what dagster-dbt says of each node it built
        return dg.MaterializeResult(metadata={"unique_id": "model.email_warehouse.customer_profiles"})

    @dg.asset(key=["privacy", "erasure"])
    def erasure() -> None: ...

    @dg.asset(key=["serving", "marts"], deps=[profiles])
    def serving() -> None: ...

    @dg.asset_check(asset=profiles)
    def one_profile_per_customer() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    result = dg.materialize([erasure, customers, profiles, serving, one_profile_per_customer], instance=instance)

    (log,) = read_runs(instance, 0.0)
    assert log.run_id == result.run_id and log.success
    assert sorted(s.part for s in steps(log)) == ["checks", "dbt", "load", "other_steps", "publish"]
    parts = split(log.created, log.ended, [log])
    assert parts.parts["wait_for_sensor"] == 0.0
    assert abs(parts.unaccounted) < 1e-6  # one run: queue, steps and overhead are all of it
