"""Runs whose process is gone: recognized, marked failed, and their place in the warehouse pool freed.

A run keeps its claim on the `duckdb_warehouse` pool slot in the Dagster instance's database until it reports
its end. A run whose process is killed (`kill -9`, the OOM killer, a closed laptop lid that never reopens) never
reports it: it stays STARTED and keeps the slot, and every later run waits for it forever. Dagster's run
monitoring would notice only for run launchers that can check their workers; `execute_in_process` (`warehouse
run`) and the default launcher of `dagster dev` cannot.

So every run records who runs it in its tags (`owner_tags`: host, boot, pid and the pid's start time, so that a
pid the system gave to another process since is not taken for the run), and `fail_dead_runs` marks the runs of
this machine whose process is gone as failed and frees every slot a finished run still holds. `warehouse run`
calls it before it starts and again whenever a step waits for the pool.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster._core.events import JobFailureData, RunFailureReason

HOST_TAG = "warehouse/host"
PID_TAG = "warehouse/pid"
PROCESS_TAG = "warehouse/process"
"""`<boot id>/<start time of the pid in clock ticks>`: tells the run's process from a later one with its pid."""

UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
"""Statuses of a run whose process, if it has one, should still be there."""
FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def owner_tags(pid: int | None = None) -> dict[str, str]:
    """The tags that name the process running a run (default: this process)."""
    pid = os.getpid() if pid is None else pid
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(pid), PROCESS_TAG: f"{_boot_id()}/{_start_ticks(pid)}"}


def process_is_running(tags: dict[str, str]) -> bool | None:
    """Whether the process named by a run's `owner_tags` still runs; None when this machine cannot tell (the run
    has no owner tags, or ran on another host)."""
    pid = tags.get(PID_TAG, "")
    if not pid.isdigit() or tags.get(HOST_TAG) != socket.gethostname():
        return None
    boot, _, ticks = tags.get(PROCESS_TAG, "/").partition("/")
    if boot and _boot_id() and boot != _boot_id():
        return False  # the machine restarted since
    if not _exists(int(pid)):
        return False
    current = _start_ticks(int(pid))
    return not (ticks and current and ticks != current)  # a different process got the pid


@dataclass(frozen=True)
class DeadRun:
    """A run marked failed because its process was gone."""

    run_id: str
    job_name: str
    pid: str
    slots_freed: bool

    def describe(self) -> str:
        freed = "; its place in the warehouse pool freed" if self.slots_freed else ""
        return f"run {self.run_id[:8]} ({self.job_name}, pid {self.pid}) died without finishing: marked failed{freed}"


def fail_dead_runs(instance: dg.DagsterInstance) -> list[DeadRun]:
    """Mark failed every unfinished run of this machine whose process is gone, and free the pool slots and
    pending claims of every run that is finished or gone. Safe to call from several processes at once."""
    dead: list[DeadRun] = []
    held = _runs_in_pools(instance)
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=UNFINISHED)):
        run = record.dagster_run
        if process_is_running(run.tags) is not False:
            continue
        current = instance.get_run_by_id(run.run_id)  # another process may have failed it meanwhile
        if current is None or current.status not in UNFINISHED:
            continue
        instance.report_run_failed(
            current,
            message=(
                f"The process of this run (pid {run.tags[PID_TAG]} on {run.tags[HOST_TAG]}) is gone: killed or "
                f"crashed before it could report. Marked failed by pid {os.getpid()}."
            ),
            job_failure_data=JobFailureData(error=None, failure_reason=RunFailureReason.UNEXPECTED_TERMINATION),
        )
        dead.append(DeadRun(run.run_id, run.job_name, run.tags[PID_TAG], slots_freed=run.run_id in held))
    for run_id in held:
        run = instance.get_run_by_id(run_id)
        if run is None or run.status in FINISHED:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    return dead



@dataclass(frozen=True)
class Holder:
    """A run holding a slot of a pool, as far as this machine can tell."""

    run_id: str
    step_key: str
    pid: str | None
    running: bool | None
    """False: its process is gone; None: not known (another host, or a run that recorded no process)."""

    def describe(self) -> str:
        if self.pid is None:
            return (
                f"run {self.run_id[:8]} (step {self.step_key}; it recorded no process: if it is dead, terminate it "
                "in `warehouse ui`, Runs)"
            )
        return f"run {self.run_id[:8]} (pid {self.pid}, step {self.step_key})"


def pool_holders(instance: dg.DagsterInstance, pool: str, other_than: str | None = None) -> list[Holder]:
    """The runs holding a slot of `pool` (except `other_than`), with their process."""
    holders = []
    for slot in instance.event_log_storage.get_concurrency_info(pool).claimed_slots:
        if slot.run_id == other_than:
            continue
        run = instance.get_run_by_id(slot.run_id)
        tags = run.tags if run is not None else {}
        holders.append(Holder(slot.run_id, slot.step_key, tags.get(PID_TAG), process_is_running(tags)))
    return holders


def _runs_in_pools(instance: dg.DagsterInstance) -> set[str]:
    """Run ids holding a slot or waiting for one in any pool."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return set()
    infos = storage.get_concurrency_infos(sorted(storage.get_concurrency_keys()))
    holding = {slot.run_id for info in infos.values() for slot in info.claimed_slots}
    return holding | storage.get_concurrency_run_ids()


def _exists(pid: int) -> bool:
    """True unless the pid is free or a zombie (dead, only not yet collected by its parent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    stat = _stat(pid)
    return stat is None or stat[0] not in ("Z", "X")


def _stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (state first), None where there is no /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _start_ticks(pid: int) -> str:
    stat = _stat(pid)
    return stat[19] if stat is not None and len(stat) > 19 else ""  # field 22, starttime


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""
