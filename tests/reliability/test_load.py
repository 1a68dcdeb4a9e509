"""The collector under concurrent load: nothing acknowledged is lost, nothing lands twice (short variant).

The long variant, 1,000 events/s from several clients for a minute, is `bench.collector_load` in the benchmarks.
"""

from __future__ import annotations

from bench.collector_load import run_collector_load


def test_concurrent_clients_for_two_seconds_lose_and_double_nothing() -> None:
    result = run_collector_load(seconds=2, rate=500, clients=4)

    assert result["finished_in_time"]
    assert result["sent"] == 1_000
    assert result["rejected"] == 0
    assert (result["acknowledged"], result["landed"]) == (1_000, 1_000)
    assert (result["lost"], result["duplicates"], result["unexpected"]) == (0, 0, 0)
