"""kill -9 of the real `warehouse run`, then run it again: the next run is never blocked, no dbt outlives its run,
and the marts end as a clean run's. A run waiting for the warehouse says for whom and stops on Ctrl-C / SIGTERM.

Every run is `.venv/bin/warehouse run` in a subprocess with its own paths (conftest.settings_for) and Dagster
instance, on data the real `warehouse generate` wrote (150 customers, 5 days). A whole run takes a minute or two
on the shared 2-core machine, so one clean run is the module's reference, and the kills follow each other in one
workspace, each kill point later in the graph than the one before; each run after a kill has to get past the
point where the run before it died:

| run | killed                                                                                  | then           |
|-----|-----------------------------------------------------------------------------------------|----------------|
| 1   | at the load step: dlt about to copy the events file, the slot of the pool held           | run 2          |
| 2   | during dbt: the `dbt build` child running, a model built                                 | run 3          |
| 3   | during the serving publish: the marts copied into the new serving file                   | run 4 (whole)  |

Kill points are found, never guessed with a timer: runs 1 and 3 stop at a named point and say so in a file
(tests/kill_points/sitecustomize.py), run 2 is killed once its dbt child has logged a finished model. Each run
after a kill must report the killed run as dead, and the killed run must end FAILURE with its slot freed.

Every workspace keeps its warehouse at one path (emptied before each workspace starts) with one salt, as an
installation does from run to run: dbt's partial parse names the warehouse file and the salt (the profile), so
only the module's first run parses the whole project, and the others start from its parse.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pytest

from core.settings import PROJECT_ROOT
from orchestration.dead_runs import owner_tags, pool_holders
from orchestration.headless import DAGSTER_YAML, mart_row_counts
from orchestration.resources import WAREHOUSE_POOL
from tests.conftest import settings_for

pytestmark = pytest.mark.slow

WAREHOUSE = str(Path(sys.executable).with_name("warehouse"))
GENERATE = ["generate", "--customers", "150", "--days", "5", "--seed", "3", "--as-of", "2026-11-23T12:00"]
KILL_POINTS = PROJECT_ROOT / "tests" / "kill_points"
RUN_TIMEOUT = 900  # seconds: a whole run on a busy machine takes 1-3 minutes
STOP_TIMEOUT = 60  # seconds for a run to stop after SIGINT / SIGTERM, or for a killed run's child to vanish
FOREIGN = ("PRIVACY_LEDGER_PATH", "SYNC_STATE_PATH", "ACTIVATION_DESTINATIONS", "KILL_POINT", "KILL_POINT_REACHED")
"""Variables of the caller's environment that would point a run at files outside its workspace."""
SALT = "kill-run"


@dataclass
class Command:
    """A `warehouse` subprocess whose output lines are collected as they come."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = RUN_TIMEOUT) -> None:
        """Poll `condition` until true; fail if the command exits or `timeout` passes first."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f"exited ({self.process.returncode}) before {what}:\n{self.output}"
            assert time.monotonic() < deadline, f"no {what} after {timeout} s:\n{self.output}"
            time.sleep(0.1)

    def kill(self) -> None:
        self.process.kill()
        self.finish()

    def finish(self, timeout: float = RUN_TIMEOUT) -> int:
        returncode = self.process.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return returncode


@dataclass(frozen=True)
class Workspace:
    """One installation's files: landing (shared, read-only), serving copy, dlt state and Dagster home under
    `root`; the warehouse and what lives beside it (ledger, DuckDB's spill folder) in `data`, emptied here."""

    root: Path
    landing: Path
    data: Path

    def __post_init__(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)
        self.data.mkdir(parents=True)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in FOREIGN}
        return {
            **env,
            **settings_for(self.root),
            "WAREHOUSE_PATH": str(self.data / "warehouse.duckdb"),
            "ERASURE_SALT": SALT,
            "LANDING_DIR": str(self.landing),
            "COLUMNS": "250",
        }

    @property
    def serving(self) -> Path:
        return self.root / "serving.duckdb"

    def instance(self) -> dg.DagsterInstance:
        home = self.root / "dagster_home"
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "dagster.yaml").exists():
            shutil.copyfile(DAGSTER_YAML, home / "dagster.yaml")
        return dg.DagsterInstance.from_config(str(home))

    def run(self, kill_point: str | None = None) -> tuple[Command, Path]:
        """Start `warehouse run`; with a kill point, it stops there and writes the returned file."""
        env, reached = self.env, self.root / f"reached-{kill_point}"
        if kill_point is not None:
            path = os.pathsep.join(filter(None, [str(KILL_POINTS), env.get("PYTHONPATH")]))
            env.update(PYTHONPATH=path, KILL_POINT=kill_point, KILL_POINT_REACHED=str(reached))
        process = subprocess.Popen(
            [WAREHOUSE, "run"], env=env, cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        return Command(process), reached


def generated_landing(root: Path) -> Path:
    landing = root / "landing"
    completed = subprocess.run(
        [WAREHOUSE, *GENERATE, "--out", str(landing)], capture_output=True, text=True, timeout=RUN_TIMEOUT
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return landing


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_landing(tmp_path_factory.mktemp("kill_run_landing"))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the warehouse every workspace of the module uses in turn."""
    return tmp_path_factory.mktemp("kill_run_data")


@pytest.fixture(scope="module")
def clean_marts(landing: Path, data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """Rows per mart of the serving copy after one clean `warehouse run`."""
    workspace = Workspace(tmp_path_factory.mktemp("kill_run_clean"), landing, data)
    command, _ = workspace.run()
    assert command.finish() == 0, command.output
    counts = mart_row_counts(workspace.serving)
    assert counts["fct_events"] > 1_000 and counts["customer_profiles"] > 100, counts
    return counts


def children(pid: int) -> list[int]:
    """Processes whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(pid):
            found.append(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    """False once the pid is gone or a zombie (this container's init does not collect orphans)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def dbt_build(parent: int) -> tuple[int, Path] | None:
    """The `dbt build` child of `parent` and the dbt.log it writes, if there is one."""
    for pid in children(parent):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
            environ = dict(
                item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item
            )
        except OSError:
            continue
        if "build" in command and any(part.endswith("/dbt") for part in command) and "DBT_LOG_PATH" in environ:
            return pid, Path(environ["DBT_LOG_PATH"]) / "dbt.log"
    return None


def built_a_model(log: Path) -> bool:
    return log.exists() and '"name": "LogModelResult"' in log.read_text(errors="replace")


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def reported_dead(command: Command, run_id: str) -> bool:
    """Whether the command said it failed the run `run_id` because its process was gone."""
    said = rf"run {run_id[:8]} \(daily_full_build, pid \d+\) died without finishing"
    return re.search(said, one_line(command.output)) is not None


def only_run_since(instance: dg.DagsterInstance, known: set[str]) -> dg.DagsterRun:
    (run,) = [run for run in instance.get_runs() if run.run_id not in known]
    return run


def test_kill_9_at_load_dbt_and_publish_then_run_again_blocks_nothing_and_ends_as_a_clean_run(
    landing: Path, data: Path, clean_marts: dict[str, int], tmp_path: Path
) -> None:
    workspace = Workspace(tmp_path, landing, data)
    killed: list[str] = []

    # Run 1: killed at the load step, holding the warehouse pool's slot.
    command, reached = workspace.run(kill_point="load")
    command.wait_until(reached.exists, "the load kill point")
    command.kill()
    with workspace.instance() as instance:
        run = only_run_since(instance, set())
        assert run.status == dg.DagsterRunStatus.STARTED, "the killed run looks alive to Dagster"
        assert [holder.run_id for holder in pool_holders(instance, WAREHOUSE_POOL)] == [run.run_id]
    killed.append(run.run_id)

    # Run 2: must fail run 1 and get past the load; killed while its dbt child builds.
    command, _ = workspace.run()
    child: list[tuple[int, Path]] = []

    def dbt_built_a_model() -> bool:
        child[:] = [found] if (found := dbt_build(command.process.pid)) else []
        return bool(child) and built_a_model(child[0][1])

    command.wait_until(dbt_built_a_model, "a model built by dbt")
    command.kill()
    dbt_pid = child[0][0]
    deadline = time.monotonic() + STOP_TIMEOUT
    while running(dbt_pid):
        assert time.monotonic() < deadline, f"dbt build (pid {dbt_pid}) outlived its killed run"
        time.sleep(0.1)
    assert reported_dead(command, killed[0]), command.output
    with workspace.instance() as instance:
        assert instance.get_run_by_id(killed[0]).status == dg.DagsterRunStatus.FAILURE
        killed.append(only_run_since(instance, set(killed)).run_id)

    # Run 3: killed during the serving publish, the new file half written.
    command, reached = workspace.run(kill_point="publish")
    command.wait_until(reached.exists, "the publish kill point")
    command.kill()
    assert reported_dead(command, killed[1]), command.output
    assert list(tmp_path.glob(".serving.duckdb.*.publishing")), "the publish was not under way"
    assert not workspace.serving.exists(), "a half-written serving copy was published"
    with workspace.instance() as instance:
        killed.append(only_run_since(instance, set(killed)).run_id)

    # Run 4: completes, and the marts are a clean run's.
    command, _ = workspace.run()
    assert command.finish() == 0, command.output
    assert reported_dead(command, killed[2]), command.output
    assert mart_row_counts(workspace.serving) == clean_marts
    assert not list(tmp_path.glob(".serving.duckdb.*.publishing")), "the abandoned publish was not cleaned up"
    with workspace.instance() as instance:
        statuses = {run.run_id: run.status for run in instance.get_runs()}
        assert [statuses.pop(run_id) for run_id in killed] == [dg.DagsterRunStatus.FAILURE] * 3
        assert list(statuses.values()) == [dg.DagsterRunStatus.SUCCESS]
        assert pool_holders(instance, WAREHOUSE_POOL) == []


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl_c", "sigterm"])
def test_a_run_waiting_for_the_warehouse_says_for_whom_and_stops_on_a_signal(
    landing: Path, data: Path, tmp_path: Path, stop: signal.Signals
) -> None:
    workspace = Workspace(tmp_path, landing, data)
    holder = subprocess.Popen(["sleep", "600"])  # the process of a run that holds the warehouse
    try:
        with workspace.instance() as instance:
            holding = instance.add_run(
                dg.DagsterRun(
                    job_name="daily_full_build", status=dg.DagsterRunStatus.STARTED, tags=owner_tags(holder.pid)
                )
            )
            slots = instance.event_log_storage
            slots.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
            assert slots.claim_concurrency_slot(WAREHOUSE_POOL, holding.run_id, "dbt_models").is_claimed

        command, _ = workspace.run()
        holder_is = f"run {holding.run_id[:8]} (pid {holder.pid}, step dbt_models)"
        waiting = f"waiting for pool {WAREHOUSE_POOL}, held by {holder_is}"
        command.wait_until(lambda: any(waiting in line for line in command.lines), "the waiting message")
        command.process.send_signal(stop)
        returncode = command.finish(timeout=STOP_TIMEOUT)

        with workspace.instance() as instance:
            run = only_run_since(instance, {holding.run_id})
            assert returncode == 130, command.output
            assert f"Interrupted: run {run.run_id[:8]} canceled" in one_line(command.output), command.output
            assert run.status == dg.DagsterRunStatus.CANCELED
            assert instance.get_run_by_id(holding.run_id).status == dg.DagsterRunStatus.STARTED
            assert [h.run_id for h in pool_holders(instance, WAREHOUSE_POOL)] == [holding.run_id]
            pending = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).pending_steps
            assert run.run_id not in {step.run_id for step in pending}
    finally:
        holder.kill()
