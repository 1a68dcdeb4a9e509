"""Stop points for tests/reliability/test_kill_run.py: Python imports this module at start-up when this folder is
on PYTHONPATH, so the test can kill the real `warehouse run` at a point it chooses, without a timer.

With KILL_POINT=<point> and KILL_POINT_REACHED=<file> in the environment, the process writes the file when it
reaches the point and then sleeps there until it is killed:
- `load`: dlt is about to copy the events file into raw_analytics.events; the package's entity tables and the
  other systems are loaded (the kill point of tests/reliability/test_kill.py's LOAD_KILLER);
- `publish`: the new serving file holds the copied marts, its `bi` and `activation` schemas not yet copied.
The variables are removed from the environment at once, so child processes (dbt) never stop anywhere.
Nothing else changes; without KILL_POINT this module does nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

POINT = os.environ.pop("KILL_POINT", "")
REACHED = os.environ.pop("KILL_POINT_REACHED", "")


def stop_here(where: str) -> None:
    """Tell the test the point is reached, then wait for its SIGKILL."""
    Path(REACHED).write_text(f"{where} {os.getpid()}\n")
    while True:
        time.sleep(1)


class PatchOnImport(importlib.abc.MetaPathFinder):
    """Runs `patch(module)` right after `name` is first imported."""

    def __init__(self, name: str, patch: Callable[[ModuleType], None]) -> None:
        self.name, self.patch = name, patch

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        execute = spec.loader.exec_module

        def exec_and_patch(module: ModuleType) -> None:
            execute(module)
            self.patch(module)

        spec.loader.exec_module = exec_and_patch
        return spec


def before_events_copy(duck: ModuleType) -> None:
    copy = duck.DuckDbCopyJob.run

    def run(self: Any) -> None:
        if self.load_table_name == "events":
            stop_here("load: before the events copy")
        copy(self)

    duck.DuckDbCopyJob.run = run


def after_marts_copy(serving: ModuleType) -> None:
    copy = serving.copy_schema

    def copy_schema(connection: Any, schema: str) -> None:
        if schema == "bi":
            stop_here("publish: marts copied into the new serving file")
        copy(connection, schema)

    serving.copy_schema = copy_schema


PATCHES = {
    "load": ("dlt.destinations.impl.duckdb.duck", before_events_copy),
    "publish": ("serving.publish", after_marts_copy),
}

if POINT:
    sys.meta_path.insert(0, PatchOnImport(*PATCHES[POINT]))
