"""How a run executed in this process waits for a pool slot: asleep, saying for whom, and stoppable.

Dagster 1.13's in-process executor waits for a slot of a pool (here `duckdb_warehouse`, size 1) in a loop that
never sleeps: `InstanceConcurrencyContext.interval_to_next_pending_claim_check` returns `min(0, ...)`, always 0
(dagster-io/dagster#20367 found it and was closed unmerged). It notices SIGINT and SIGTERM only when a step
starts, and says why it waits once, in the event log ("Step blocked by limit for pool ..."). A `warehouse run`
queued behind a killed run therefore spun a core, ignored Ctrl-C and printed nothing, forever.

`waiting_politely(notice)` gives the in-process executions of this process a `PoliteConcurrencyContext`:
- between two checks it sleeps, at most `RECHECK_SECONDS`;
- each check that finds the slot taken first fails the runs whose process is gone (`dead_runs`), claiming
  again at once if that freed the slot, and otherwise tells `notice` who holds the pool (again when that changes);
- an interrupt Dagster captured meanwhile (it holds SIGINT and SIGTERM back outside steps) cancels the run: the run
  is reported canceling and `DagsterExecutionInterruptedError` ends it, so Dagster records it CANCELED.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dagster as dg
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._utils.interrupts import check_captured_interrupt

from orchestration.dead_runs import UNFINISHED, fail_dead_runs, pool_holders

RECHECK_SECONDS = 1.0
"""Longest sleep between two looks at a taken pool (Dagster's own back-off grows to 15 s)."""

Notice = Callable[[str], None]


class PoliteConcurrencyContext(InstanceConcurrencyContext):
    """Dagster's per-run pool claims, with the waiting described in the module docstring."""

    notice: Notice | None = None

    def __init__(self, instance: dg.DagsterInstance, dagster_run: dg.DagsterRun) -> None:
        super().__init__(instance, dagster_run)
        self._told: dict[str, str] = {}

    def claim(self, concurrency_key: str, step_key: str, step_priority: int = 0) -> bool:
        self._stop_if_interrupted(concurrency_key)
        attempts = self._pending_claim_counts[step_key]
        if super().claim(concurrency_key, step_key, step_priority):
            return True
        if self._pending_claim_counts[step_key] == attempts:
            return False  # not time to ask the instance again yet
        if fail_dead_runs(self._instance):
            self._pending_timeouts[step_key] = 0.0  # ask again now: a dead holder's slot may be ours
            if super().claim(concurrency_key, step_key, step_priority):
                return True
        self._pending_timeouts[step_key] = min(self._pending_timeouts[step_key], time.time() + RECHECK_SECONDS)
        self._tell_waiting(concurrency_key)
        return False

    def interval_to_next_pending_claim_check(self) -> float:
        if not self._pending_claims or not self._pending_timeouts:
            return 0.0
        return max(0.0, min(self._pending_timeouts.values()) - time.time())

    def _tell_waiting(self, pool: str) -> None:
        holders = pool_holders(self._instance, pool, other_than=self._run_id)
        held_by = ", ".join(holder.describe() for holder in holders) or "runs that were waiting before this one"
        if self.notice is not None and self._told.get(pool) != held_by:
            self.notice(f"waiting for pool {pool}, held by {held_by}")
        self._told[pool] = held_by

    def _stop_if_interrupted(self, pool: str) -> None:
        if not check_captured_interrupt():
            return
        run = self._instance.get_run_by_id(self._run_id)
        if run is not None and run.status in UNFINISHED and run.status != dg.DagsterRunStatus.CANCELING:
            self._instance.report_run_canceling(run, message=f"Interrupted (SIGINT or SIGTERM) at pool {pool}.")
        raise DagsterExecutionInterruptedError(f"Interrupted while waiting for pool {pool}")


@contextmanager
def waiting_politely(notice: Notice | None = None) -> Iterator[type[PoliteConcurrencyContext]]:
    """In-process executions started in this block wait as `PoliteConcurrencyContext` does, telling `notice`."""
    from dagster._core.executor import in_process

    attributes = {"notice": staticmethod(notice)} if notice is not None else {}
    context_class = type("PoliteConcurrencyContext", (PoliteConcurrencyContext,), attributes)
    original = in_process.InstanceConcurrencyContext
    in_process.InstanceConcurrencyContext = context_class
    try:
        yield context_class
    finally:
        in_process.InstanceConcurrencyContext = original
