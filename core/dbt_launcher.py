"""`python dbt_launcher.py PROGRAM [ARGS...]`: start PROGRAM (dbt, through `die_with_parent.py`) with the
variables its invocation's settings give dbt.

dagster-dbt builds dbt's environment from this process's environment and its own variables only:
`DbtCliResource.cli` takes no environment (its maintainers declined one, dagster-io/dagster#29656, advising a
temporary change of `os.environ` instead). dbt's profile reads the warehouse path with `env_var()`, and the
salt of the masked models must be a `DBT_ENV_SECRET_` variable for dbt to scrub it from its logs, so both have
to be environment variables of dbt's process, and neither may go on its command line, which every user of the
machine can read. So the Dagster asset writes them (`core.dbt_cli.dbt_env_file`, mode 0600) into the
invocation's own target directory, which dagster-dbt names in DBT_TARGET_PATH, and dagster-dbt starts dbt
through this launcher, which reads and deletes the file and replaces itself with PROGRAM (same pid, so the
parent `die_with_parent.py` watches is still the run's process). Without a file (`dbt --version`, a target
directory without one) PROGRAM starts with the environment it was given.

Standard library only: it starts with every dbt invocation.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ENV_FILE = "dbt_env.json"
"""The file in an invocation's target directory that holds dbt's variables."""


def take_env(target_path: str | None) -> dict[str, str]:
    """The variables written for the invocation in `target_path`, the file deleted; {} without one."""
    if not target_path:
        return {}
    path = Path(target_path) / ENV_FILE
    try:
        values = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    path.unlink(missing_ok=True)
    return {str(name): str(value) for name, value in values.items()}


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: dbt_launcher.py PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    os.execve(argv[0], argv, {**os.environ, **take_env(os.environ.get("DBT_TARGET_PATH"))})
    return 127  # not reached: execve replaces this process or raises


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
