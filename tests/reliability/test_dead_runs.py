"""A run whose process is gone never keeps the warehouse pool, a waiting run is quiet and stoppable, and dbt dies
with its parent: the parts, on a real Dagster instance (SQLite in a tmp DAGSTER_HOME with the project's
dagster.yaml) and real processes. tests/reliability/test_kill_run.py kills the real `warehouse run`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._utils.interrupts import capture_interrupts

from core import die_with_parent
from orchestration.dead_runs import PROCESS_TAG, fail_dead_runs, owner_tags, pool_holders, process_is_running
from orchestration.headless import DAGSTER_YAML
from orchestration.pool_wait import RECHECK_SECONDS, PoliteConcurrencyContext, waiting_politely
from orchestration.resources import WAREHOUSE_POOL

DEADLINE = 30  # seconds for something that takes a fraction of one


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """The instance `warehouse run` uses: the project's dagster.yaml (pool limit 1) in a DAGSTER_HOME."""
    shutil.copyfile(DAGSTER_YAML, tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        yield instance


def dead_pid() -> int:
    """The pid of a process that has exited and been collected."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def started_run(instance: dg.DagsterInstance, tags: dict[str, str], holding: str | None = WAREHOUSE_POOL) -> str:
    """A run record as a run in progress leaves it: STARTED, owner tags, the pool's slot claimed by a step."""
    run = instance.add_run(dg.DagsterRun(job_name="daily_full_build", status=dg.DagsterRunStatus.STARTED, tags=tags))
    if holding is not None:
        instance.event_log_storage.initialize_concurrency_limit_to_default(holding)
        assert instance.event_log_storage.claim_concurrency_slot(holding, run.run_id, "load_raw_crm").is_claimed
    return run.run_id


def status(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRunStatus:
    return instance.get_run_by_id(run_id).status


def test_a_run_whose_process_is_gone_is_marked_failed_and_its_slot_freed(instance: dg.DagsterInstance) -> None:
    run_id = started_run(instance, owner_tags(dead_pid()))

    dead = fail_dead_runs(instance)

    assert [d.run_id for d in dead] == [run_id] and dead[0].slots_freed
    assert status(instance, run_id) == dg.DagsterRunStatus.FAILURE
    assert pool_holders(instance, WAREHOUSE_POOL) == []
    failure = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    assert "is gone" in failure[0].event_log_entry.dagster_event.message


def test_a_run_whose_process_runs_keeps_its_slot(instance: dg.DagsterInstance) -> None:
    run_id = started_run(instance, owner_tags())

    assert fail_dead_runs(instance) == []
    assert status(instance, run_id) == dg.DagsterRunStatus.STARTED
    assert [h.run_id for h in pool_holders(instance, WAREHOUSE_POOL)] == [run_id]


def test_a_pid_given_to_another_process_since_is_not_taken_for_the_run(instance: dg.DagsterInstance) -> None:
    tags = owner_tags()  # this pid, alive, but started at another time than the run's process
    boot, _, ticks = tags[PROCESS_TAG].partition("/")
    tags[PROCESS_TAG] = f"{boot}/{int(ticks) - 1}"
    run_id = started_run(instance, tags)

    assert process_is_running(tags) is False
    assert [d.run_id for d in fail_dead_runs(instance)] == [run_id]


def test_runs_this_machine_cannot_judge_are_left_alone(instance: dg.DagsterInstance) -> None:
    elsewhere = started_run(instance, {**owner_tags(dead_pid()), "warehouse/host": "another-host"})
    untagged = started_run(instance, {}, holding=None)

    assert fail_dead_runs(instance) == []
    assert status(instance, elsewhere) == status(instance, untagged) == dg.DagsterRunStatus.STARTED
    (holder,) = pool_holders(instance, WAREHOUSE_POOL)
    assert holder.run_id == elsewhere and holder.running is None


def test_slots_a_finished_run_still_holds_are_freed(instance: dg.DagsterInstance) -> None:
    run_id = started_run(instance, owner_tags())
    instance.report_run_failed(instance.get_run_by_id(run_id), message="failed, its slot not released")

    assert fail_dead_runs(instance) == []
    assert pool_holders(instance, WAREHOUSE_POOL) == []


def polite_context(instance: dg.DagsterInstance, notices: list[str]) -> PoliteConcurrencyContext:
    waiting = instance.add_run(dg.DagsterRun(job_name="daily_full_build", status=dg.DagsterRunStatus.STARTED))
    with waiting_politely(notices.append) as context_class:
        return context_class(instance, waiting)


def test_a_waiting_step_sleeps_says_whom_it_waits_for_and_takes_the_slot_of_a_holder_that_dies(
    instance: dg.DagsterInstance,
) -> None:
    holder = subprocess.Popen(["sleep", "600"])
    try:
        holder_run = started_run(instance, owner_tags(holder.pid))
        notices: list[str] = []
        with polite_context(instance, notices) as context:
            assert not context.claim(WAREHOUSE_POOL, "load_raw_crm")
            assert 0 < context.interval_to_next_pending_claim_check() <= RECHECK_SECONDS, "it would spin"
            assert notices == [
                f"waiting for pool {WAREHOUSE_POOL}, held by run {holder_run[:8]} (pid {holder.pid}, step load_raw_crm)"
            ]
            holder.kill()
            holder.wait()
            deadline = time.monotonic() + DEADLINE
            while not context.claim(WAREHOUSE_POOL, "load_raw_crm"):
                assert time.monotonic() < deadline, "the dead holder's slot was never taken"
                time.sleep(context.interval_to_next_pending_claim_check())
        assert status(instance, holder_run) == dg.DagsterRunStatus.FAILURE
        assert len(notices) == 1, "told once per holder"
    finally:
        holder.kill()


def test_an_interrupt_while_waiting_cancels_the_run(instance: dg.DagsterInstance) -> None:
    holder = subprocess.Popen(["sleep", "600"])
    try:
        started_run(instance, owner_tags(holder.pid))
        with polite_context(instance, []) as context, capture_interrupts():
            assert not context.claim(WAREHOUSE_POOL, "load_raw_crm")
            os.kill(os.getpid(), signal.SIGINT)  # Dagster's handler only records it, as during a real run
            with pytest.raises(DagsterExecutionInterruptedError):
                context.claim(WAREHOUSE_POOL, "load_raw_crm")
            run_id = context._run_id
        assert status(instance, run_id) == dg.DagsterRunStatus.CANCELING  # Dagster then records CANCELED
        pending = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).pending_steps
        assert run_id not in {step.run_id for step in pending}, "its claim left with it"
    finally:
        holder.kill()


def test_in_process_runs_of_this_module_use_the_polite_context_only_inside_the_block() -> None:
    from dagster._core.executor import in_process

    original = in_process.InstanceConcurrencyContext
    with waiting_politely(print):
        assert issubclass(in_process.InstanceConcurrencyContext, PoliteConcurrencyContext)
    assert in_process.InstanceConcurrencyContext is original


# A parent that starts `sleep` through the launcher, prints the child's pid, and waits to be killed.
PARENT = """
    import os, subprocess, sys, time
    sys.path.insert(0, sys.argv[1])
    from core import die_with_parent
    child = subprocess.Popen(
        [*die_with_parent.command("/bin/sleep"), "600"], env={**os.environ, **die_with_parent.parent_environment()}
    )
    print(child.pid, flush=True)
    time.sleep(600)
"""


def running(pid: int) -> bool:
    """False once the pid is gone or a zombie (this container's init does not collect orphans)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def test_a_child_started_through_the_launcher_dies_with_its_parent() -> None:
    root = str(Path(die_with_parent.__file__).parents[1])
    parent = subprocess.Popen([sys.executable, "-c", textwrap.dedent(PARENT), root], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        deadline = time.monotonic() + DEADLINE
        while Path(f"/proc/{child}/exe").resolve().name != "sleep":  # the launcher has become `sleep`
            assert time.monotonic() < deadline and running(child), "the launcher never started sleep"
            time.sleep(0.05)

        parent.kill()
        parent.wait()

        while running(child):
            assert time.monotonic() < deadline + DEADLINE, "the child outlived its parent"
            time.sleep(0.05)
    finally:
        parent.kill()


def test_the_launcher_does_not_start_the_program_when_its_parent_is_already_gone(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    completed = subprocess.run(
        [*die_with_parent.command("/usr/bin/touch"), str(marker)],
        env={**os.environ, die_with_parent.PARENT_PID_ENV: str(dead_pid())},
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )

    assert completed.returncode == 1 and "is gone" in completed.stderr
    assert not marker.exists()


def test_the_launcher_runs_the_program_with_its_arguments(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    completed = subprocess.run(
        [*die_with_parent.command("/usr/bin/touch"), str(marker)],
        env={**os.environ, **die_with_parent.parent_environment()},
        timeout=DEADLINE,
    )

    assert completed.returncode == 0 and marker.exists()
