"""`python die_with_parent.py PROGRAM [ARGS...]`: run PROGRAM so that it dies when the process that started it dies.

dbt runs as a child process (dagster-dbt's `DbtCliResource`, `core.dbt_cli.run_dbt`). A killed parent
(`kill -9` of `warehouse run`, the OOM killer) does not take its children along: the `dbt build` went on as an
orphan, writing the warehouse while the next run started. On Linux this launcher asks the kernel to SIGKILL it
when its parent dies (`prctl(PR_SET_PDEATHSIG)`, which survives exec), then replaces itself with PROGRAM (same pid).

The parent is named by `PARENT_PID_ENV` (`parent_environment()`), so a parent that died before the request was in
place is noticed as well: the launcher then exits with status 1 instead of starting PROGRAM. Two limits: the kernel
signals when the *thread* that started the child ends, so start children from a thread that outlives them (the
steps of an in-process run run on the main thread); and other systems than Linux have no such request, so there
the launcher only execs PROGRAM.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

PARENT_PID_ENV = "WAREHOUSE_PARENT_PID"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def command(program: str | Path) -> list[str]:
    """The command line that runs `program` (arguments follow) through this launcher, with this interpreter."""
    return [sys.executable, str(Path(__file__).resolve()), str(program)]


def parent_environment() -> dict[str, str]:
    """Environment naming this process as the parent of the launchers it starts."""
    return {PARENT_PID_ENV: str(os.getpid())}


def die_with_parent(parent: int) -> bool:
    """Ask the kernel for SIGKILL when the parent dies; False if `parent` is already gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    return os.getppid() == parent


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: die_with_parent.py PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    parent = int(os.environ.pop(PARENT_PID_ENV, "") or os.getppid())
    if not die_with_parent(parent):
        print(f"die_with_parent: parent {parent} is gone; not starting {argv[0]}", file=sys.stderr)
        return 1
    os.execv(argv[0], argv)
    return 127  # not reached: execv replaces this process or raises


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
