"""Freshness as a user lives it: a new analytics events file lands -> the customer's row of
`marts.customer_profiles` in the serving copy shows it, with the real Dagster daemon deciding what runs.

`dagster-daemon run` starts against the run's DAGSTER_HOME (the project's dagster.yaml copied in, as
`warehouse ui` does) and the project's workspace.yaml, so the sensors tick at their configured intervals, the
queued run coordinator launches each run in its own process, and the pool holds a second writer back. The
warehouse, the serving copy and the instance's history are those the benchmark's Dagster run left (every
asset materialized, every check evaluated by a real run).

Each probe appends one "Product Viewed" event of an identified visitor (a copy of a delivered one, new
messageId, sent and received now) as a new file, right after the landing sensor finished a tick: the longest
wait for that sensor, so probes are comparable. It is visible when the customer's `last_seen_at` in the
serving copy reaches the event's time. Where the time went comes from the event log of the runs the daemon
launched (`bench.run_events.split`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from bench.run_events import read_runs, run_summary, split

DAEMON_PROBE_PREFIX = "events-b9100-p"
"""Probe files sort after every generated batch and after the in-process probes' customers files."""

LANDING_SENSOR = "landing_files_sensor"
AUTOMATION_SENSOR = "automation_sensor"
BUSY = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")


def probe_template(events_dir: Path, scan_lines: int = 200_000) -> dict[str, Any]:
    """A delivered "Product Viewed" event of an identified visitor (userId set), the probes' model."""
    for file in sorted(events_dir.glob("*.jsonl")):
        with file.open() as handle:
            for number, line in enumerate(handle):
                if number >= scan_lines:
                    break
                event = json.loads(line)
                if event.get("type") == "track" and event.get("userId") and event.get("event") == "Product Viewed":
                    return event
    raise LookupError(f"no identified 'Product Viewed' event in the first lines of {events_dir}")


def probe_event(template: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The template as a new delivery: a new messageId, and sent and received at `now` (no clock skew)."""
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    return {**template, "messageId": str(uuid.uuid4()), "timestamp": stamp, "sentAt": stamp, "receivedAt": stamp}


def customer_of(warehouse: Path, user_id: str) -> str | None:
    """The customer_id the identity map gives a Segment userId (read before the daemon starts writing)."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        row = connection.execute(
            "SELECT customer_id FROM marts.customer_identity_map WHERE source_system = 'analytics' AND source_id = ?",
            [user_id],
        ).fetchone()
    return row[0] if row else None


def profile_shows(serving: Path, customer_id: str, since: datetime) -> bool:
    """The serving copy's profile of `customer_id` was last seen at `since` or later."""
    try:
        with duckdb.connect(str(serving), read_only=True) as connection:
            connection.execute("SET TimeZone = 'UTC'")
            (count,) = connection.execute(
                "SELECT count(*) FROM marts.customer_profiles WHERE customer_id = ? AND last_seen_at >= ?",
                [customer_id, since.replace(tzinfo=None)],
            ).fetchone()
    except duckdb.Error:  # being replaced, or not published yet
        return False
    return count > 0


def wait_for(condition: Callable[[], Any], timeout_s: float, interval_s: float = 0.5) -> Any:
    """Poll `condition` until it returns something truthy (returned) or the timeout passes (None)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval_s)


UNDECLARED = ("pyspark",)
"""Packages that, installed in the virtualenv without being a dependency of the project, break a run the
daemon launches: great_expectations imports pyspark if it can, and pyspark.sql.connect calls sys.exit(0) when
the process's __main__ has neither __spec__ nor __file__, as in the run worker dagster starts (it takes itself
for a doctest run), so every Great Expectations check fails with SystemExit."""


def hide_undeclared(folder: Path, names: tuple[str, ...] = UNDECLARED) -> list[str]:
    """Packages among `names` that are importable here but not dependencies of the project: each gets a package
    in `folder` that raises ImportError, for the front of the daemon's PYTHONPATH. Returns the ones hidden."""
    import importlib.metadata
    import importlib.util
    import re

    requires = importlib.metadata.requires("email-warehouse") or []
    declared = {re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower() for requirement in requires}
    hidden = [name for name in names if name.lower() not in declared and importlib.util.find_spec(name)]
    for name in hidden:
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / "__init__.py").write_text(
            f"raise ImportError('{name} is installed but no dependency of the project: hidden by bench')\n"
        )
    return hidden


class Daemon:
    """`dagster-daemon run` on the project's workspace, in a process group of its own, stopped on exit.
    `path` goes before the project on the PYTHONPATH of the daemon and what it starts."""

    def __init__(self, home: Path, workspace: Path, log_path: Path, path: Path | None = None) -> None:
        self.home, self.workspace, self.log_path, self.path = home, workspace, log_path, path
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Daemon:
        command = [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", str(self.workspace)]
        python_path = os.pathsep.join(str(p) for p in (self.path, self.workspace.parent) if p)
        env = {**os.environ, "DAGSTER_HOME": str(self.home), "PYTHONPATH": python_path}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.workspace.parent,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, characters: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-characters:] if self.log_path.exists() else ""

    def __exit__(self, *exc: object) -> None:
        if self.process is None or not self.alive():
            return
        group = os.getpgid(self.process.pid)  # the daemon's own group: its code server and run workers
        os.killpg(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(ProcessLookupError):  # a code server waiting out its heartbeat
            os.killpg(group, signal.SIGKILL)


def completed_ticks(instance: Any, sensor: str, after: float) -> list[Any]:
    """The sensor's ticks that started after `after` (unix seconds) and finished, oldest first."""
    from dagster._core.scheduler.instigation import InstigatorType, TickStatus

    ticks = []
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.instigator_name == sensor:
            ticks += instance.get_ticks(state.instigator_origin_id, state.selector_id, after=after)
    return sorted((t for t in ticks if t.status != TickStatus.STARTED), key=lambda t: t.timestamp)


def busy_runs(instance: Any) -> int:
    import dagster as dg

    statuses = [dg.DagsterRunStatus[name] for name in BUSY]
    return instance.get_runs_count(dg.RunsFilter(statuses=statuses))


def measure_probe(
    instance: Any, events_dir: Path, template: dict[str, Any], customer_id: str, serving: Path, timeout_s: float
) -> dict[str, Any]:
    """One probe: wait for the landing sensor to finish a tick, land the event, wait until the profile shows it,
    then until the runs it set off ended; returns its latency and parts."""
    last = max((t.timestamp for t in completed_ticks(instance, LANDING_SENSOR, 0.0)), default=0.0)
    tick = wait_for(lambda: completed_ticks(instance, LANDING_SENSOR, last + 1e-3), timeout_s)
    if tick is None:
        raise TimeoutError(f"the landing sensor did not tick within {timeout_s:.0f} s")
    number = len(list(events_dir.glob(f"{DAEMON_PROBE_PREFIX}*")))
    now = datetime.now(UTC)
    event = probe_event(template, now)
    probe_at = time.time()
    (events_dir / f"{DAEMON_PROBE_PREFIX}{number:04d}.jsonl").write_text(json.dumps(event) + "\n")
    seen = wait_for(lambda: profile_shows(serving, customer_id, now.replace(microsecond=0)), timeout_s, 0.25)
    seen_at = time.time()
    # the runs it set off end (nothing else runs when the next probe lands), then their logs are complete
    wait_for(lambda: busy_runs(instance) == 0, timeout_s)
    runs = read_runs(instance, probe_at)
    parts = split(probe_at, seen_at, runs)
    return {
        "seconds": round(seen_at - probe_at, 3),
        "visible": bool(seen),
        "parts": parts.as_dict(),
        "runs": [run_summary(run) for run in runs],
        "since_landing_tick_s": round(probe_at - tick[-1].end_timestamp, 3) if tick[-1].end_timestamp else None,
    }


def measure_daemon_freshness(landing_dir: Path, probes: int = 3, timeout_s: float = 900.0) -> dict[str, Any]:
    """Latency from a new events file to the profile in the serving copy, per probe, under the real daemon."""
    import dagster as dg

    from core.settings import get_settings
    from orchestration.headless import WORKSPACE_YAML, ensure_dagster_home

    settings = get_settings()
    home = ensure_dagster_home(settings)
    events_dir = landing_dir / "analytics" / "events"
    template = probe_template(events_dir)
    customer_id = customer_of(settings.warehouse_path, template["userId"])
    if customer_id is None:
        raise LookupError(f"userId {template['userId']} has no customer in the identity map")
    results: list[dict[str, Any]] = []
    hidden = hide_undeclared(home / "bench-hidden")
    started = time.time()
    with (
        Daemon(home, WORKSPACE_YAML, home / "bench-daemon.log", home / "bench-hidden") as daemon,
        dg.DagsterInstance.from_config(str(home)) as instance,
    ):

        def ready() -> bool:
            if not daemon.alive():
                raise RuntimeError(f"dagster-daemon exited:\n{daemon.log_tail()}")
            return bool(completed_ticks(instance, LANDING_SENSOR, started)) and busy_runs(instance) == 0

        if not wait_for(ready, timeout_s, 1.0):
            raise TimeoutError(f"no landing sensor tick within {timeout_s:.0f} s:\n{daemon.log_tail()}")
        ready_s = time.time() - started
        for _ in range(probes):
            results.append(measure_probe(instance, events_dir, template, customer_id, settings.serving_path, timeout_s))
            if not results[-1]["visible"]:
                break
    from orchestration.definitions import defs

    return {
        **summarize(results),
        "daemon_ready_s": round(ready_s, 3),
        "hidden_packages": hidden,
        "landing_sensor_interval_s": defs.resolve_sensor_def(LANDING_SENSOR).minimum_interval_seconds,
        "automation_sensor_interval_s": defs.resolve_sensor_def(AUTOMATION_SENSOR).minimum_interval_seconds,
    }


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The median probe's latency and parts; None (a miss) if any probe never became visible."""
    visible = bool(results) and all(result["visible"] for result in results)
    median = None
    if visible:
        ordered = sorted(results, key=lambda result: result["seconds"])
        median = ordered[(len(ordered) - 1) // 2]  # the lower median: a probe that happened, parts that add up
    return {
        "seconds": median["seconds"] if median else None,
        "visible": visible,
        "parts": median["parts"] if median else None,
        "probes": results,
        "seconds_by_probe": [result["seconds"] for result in results],
        "spread_s": round(statistics.pstdev(r["seconds"] for r in results), 3) if len(results) > 1 else None,
    }
