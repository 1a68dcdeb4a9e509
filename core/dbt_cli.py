"""Run dbt against the warehouse the settings name: the one way the CLI, Dagster and tests invoke dbt.

dbt runs in a subprocess (the `dbt` executable beside this interpreter), so that its global state, logging
and DuckDB connection never leak into the caller, and several invocations in one process stay independent. It
starts through `core/die_with_parent.py`, so a killed caller never leaves a dbt writing the warehouse.

What dbt needs from the settings (`dbt_env`) is given to its process explicitly: `run_dbt` passes it to the
subprocess, and dagster-dbt's invocations read it from a file beside them (`dbt_env_file`,
`core/dbt_launcher.py`). This process's own environment is never changed.

Everything that runs dbt with settings builds production: `run_dbt` and the Dagster resource pass
`--target PROD_TARGET`. The profile's default target, `dev`, is for people running dbt by hand
(docs/developing.md): it builds its own file and only reads the warehouse.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core import dbt_launcher, die_with_parent
from core.settings import DBT_PROJECT_DIR, Settings, erasure_salt

PROD_TARGET = "prod"
"""The target of dbt_project/profiles.yml that builds the warehouse the settings name."""


@dataclass(frozen=True)
class DbtResult:
    """What a dbt invocation did: its exit code and combined output (dbt's own log lines)."""

    args: tuple[str, ...]
    returncode: int
    output: str

    @property
    def success(self) -> bool:
        return self.returncode == 0


class DbtError(RuntimeError):
    """dbt exited non-zero; the message ends with dbt's output."""


def dbt_executable() -> Path:
    """The dbt installed in the same environment as this interpreter."""
    return Path(sys.executable).with_name("dbt")


def dbt_command() -> list[str]:
    """The command line that starts dbt (arguments follow) through the launcher that kills it with its parent."""
    return die_with_parent.command(dbt_executable())


def dbt_env(settings: Settings) -> dict[str, str]:
    """What dbt's environment needs beyond the caller's: the warehouse path profiles.yml reads and the salt the
    masked `bi` models hash identifiers with (a DBT_ENV_SECRET_ variable: dbt scrubs it from its logs)."""
    return {
        "WAREHOUSE_PATH": str(settings.warehouse_path),
        "DBT_ENV_SECRET_ERASURE_SALT": erasure_salt(settings),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
    }


@contextmanager
def dbt_env_file(target_path: Path, settings: Settings) -> Iterator[Path]:
    """`dbt_env(settings)` and this process as dbt's parent (`die_with_parent`), written for the dbt that
    dagster-dbt starts with `target_path` as its target directory, through `core/dbt_launcher.py`.

    Readable by this user only (it holds the salt); the launcher deletes it when it starts dbt, and the block
    deletes it if no dbt started.
    """
    path = Path(target_path) / dbt_launcher.ENV_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({**dbt_env(settings), **die_with_parent.parent_environment()}, handle)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def run_dbt(
    args: list[str],
    settings: Settings,
    *,
    project_dir: Path = DBT_PROJECT_DIR,
    target_path: Path | None = None,
    check: bool = True,
) -> DbtResult:
    """Run `dbt <args>` on `settings.warehouse_path`, the profile's production target.

    `--target prod`, `--project-dir` and `--profiles-dir` (both the dbt project directory) are added.
    `target_path` moves dbt's target/ and logs/ out of the project, so that concurrent invocations (tests,
    Dagster, a person) never overwrite each other's manifest. Raises `DbtError` on a non-zero exit unless
    `check` is false.
    """
    command = [
        *dbt_command(),
        *args,
        "--target",
        PROD_TARGET,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
    ]
    env = {**os.environ, **dbt_env(settings), **die_with_parent.parent_environment()}
    if target_path is not None:
        command += ["--target-path", str(target_path)]
        env["DBT_LOG_PATH"] = str(target_path / "logs")
    completed = subprocess.run(
        command,
        env=env,
        cwd=project_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    result = DbtResult(tuple(args), completed.returncode, completed.stdout + completed.stderr)
    if check and not result.success:
        raise DbtError(f"dbt {' '.join(args)} failed with exit code {result.returncode}:\n{result.output}")
    return result
