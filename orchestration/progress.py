"""What a headless run says while it goes: Dagster's step and materialization events, and dbt's node lines.

`warehouse run` shows them as a progress bar on a terminal and as plain lines otherwise (cli.main); the run
itself (orchestration.headless) passes them on as they happen, polling the instance's event log and reading
the stdout dagster-dbt re-prints dbt's structured log on.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, TextIO

import dagster as dg

ROW_COUNT = "dagster/row_count"
"""The metadata of a materialization that gives its table's rows (dlt, dbt and table_metadata write it)."""
ROWS_LOADED = "rows_loaded"
"""The metadata of a dlt materialization that gives the rows this load delivered (dagster-dlt writes it)."""


@dataclass(frozen=True)
class ProgressEvent:
    """One thing the run did, as it happened.

    kind `step`: a step started, succeeded, failed or was skipped (`done` of `total` steps finished). `asset`:
    an asset was materialized (`rows` in its table, `loaded` by this run where the asset says). `dbt`: dbt
    started or finished a node (`done` of `total` nodes, `status` as dbt prints it: START, OK, PASS, WARN,
    FAIL, ERROR, SKIP, NO-OP; `node` model, seed, snapshot or test; `seconds`)."""

    kind: str
    name: str
    status: str
    done: int = 0
    total: int = 0
    rows: int | None = None
    loaded: int | None = None
    node: str = ""
    seconds: float | None = None


Progress = Callable[[ProgressEvent], None]


def int_value(value: Any) -> int | None:
    value = getattr(value, "value", value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


STEP_EVENTS = {
    dg.DagsterEventType.STEP_START: "started",
    dg.DagsterEventType.STEP_SUCCESS: "succeeded",
    dg.DagsterEventType.STEP_FAILURE: "failed",
    dg.DagsterEventType.STEP_SKIPPED: "skipped",
}


def progress_events(events: Iterable[Any], steps: int, finished: int = 0) -> tuple[list[ProgressEvent], int]:
    """The `ProgressEvent`s of Dagster events (steps and materializations), and the steps finished after them."""
    said = []
    for event in events:
        if event.event_type in STEP_EVENTS:
            status = STEP_EVENTS[event.event_type]
            finished += status != "started"
            said.append(ProgressEvent("step", event.step_key, status, finished, steps))
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            metadata = event.materialization.metadata
            rows, loaded = int_value(metadata.get(ROW_COUNT)), int_value(metadata.get(ROWS_LOADED))
            said.append(
                ProgressEvent("asset", event.asset_key.to_user_string(), "materialized", rows=rows, loaded=loaded)
            )
    return said, finished


def watch_run(instance: dg.DagsterInstance, run_id: str, steps: int, progress: Progress, stop: threading.Event) -> None:
    """Poll the run's step and materialization events and pass them on; ends when the run returns."""
    finished, cursor = 0, None
    of_type = {*STEP_EVENTS, dg.DagsterEventType.ASSET_MATERIALIZATION}
    while True:
        stopping = stop.wait(0.5)
        connection = instance.get_records_for_run(run_id, cursor=cursor, of_type=of_type)
        cursor = connection.cursor
        said, finished = progress_events(
            (record.event_log_entry.dagster_event for record in connection.records), steps, finished
        )
        for event in said:
            progress(event)
        if stopping and not connection.has_more:
            return


DBT_RESULT = re.compile(
    r"^(?P<done>\d+) of (?P<total>\d+) (?P<status>START|OK|PASS|WARN|FAIL|ERROR|SKIP|NO-OP)\b(?P<what>.*?)"
    r"[ .]*\[(?P<result>[^\]]*)\]\s*$"
)
"""A line dbt prints as it starts or finishes a node: `12 of 445 OK created sql table model marts.fct_orders .....
[OK in 0.21s]`, `13 of 445 PASS unique_fct_orders_order_id ..... [PASS in 0.05s]` (dagster-dbt re-prints every
message of dbt's structured log on stdout while dbt runs)."""
NODE_KINDS = ("model", "seed", "snapshot", "test", "exposure")


def dbt_progress(line: str) -> ProgressEvent | None:
    """The `ProgressEvent` of one line dbt printed, if it is a node's start or result."""
    match = DBT_RESULT.match(line.strip())
    if match is None:
        return None
    words = match["what"].split()
    # A test's line names no kind: `PASS <test>`, `WARN 2 <test>`; models, seeds and snapshots say theirs.
    test = "test" if match["status"] in ("PASS", "WARN", "FAIL", "ERROR") else ""
    node = next((kind for kind in NODE_KINDS if kind in words), test)
    seconds = re.search(r" in (\d+(?:\.\d+)?)s", match["result"])
    return ProgressEvent(
        "dbt",
        words[-1] if words else "",
        match["status"],
        done=int(match["done"]),
        total=int(match["total"]),
        node=node,
        seconds=float(seconds[1]) if seconds else None,
    )


class DbtProgressTee(io.TextIOBase):
    """The run's stdout: everything into the run's log file, and each dbt node line to `progress` as it comes,
    `done` counting the nodes dbt finished (dbt numbers nodes as they start, and its threads finish them out of
    order)."""

    def __init__(self, log_file: TextIO, progress: Progress | None) -> None:
        self._log, self._progress, self._partial = log_file, progress, ""
        self._finished, self._total = 0, 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._log.write(text)
        if self._progress is not None:
            *lines, self._partial = (self._partial + text).split("\n")
            for line in lines:
                event = dbt_progress(line)
                if event is None:
                    continue
                if event.total != self._total:  # another dbt invocation
                    self._finished, self._total = 0, event.total
                self._finished += event.status != "START"
                self._progress(replace(event, done=self._finished))
        return len(text)

    def flush(self) -> None:
        self._log.flush()
