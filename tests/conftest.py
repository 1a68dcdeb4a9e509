"""Shared fixtures: the whole chain (generate → dlt load → dbt build) built once per test session.

Tests that only read what the pipeline built use `built_warehouse`; tests that change data build their own
warehouse in their own tmp dir, so they never disturb each other.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings, environment_under, get_settings

# Demo scale: the identity-resolution quality bar (issue 4) is stated for this size.
DEMO_CUSTOMERS = 2_000
DEMO_DAYS = 60
DEMO_SEED = 42
DEMO_AS_OF = datetime(2026, 11, 23, 12, 0)


def settings_for(root: Path) -> dict[str, str]:
    """The environment that points every path of the product into `root`, deployed as the demo shop (its
    staff network and test-order address, scripts/demo_settings.py), since the tests build demo data."""
    from scripts.demo_settings import demo_settings

    return {**environment_under(root), **demo_settings()}


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private set of paths for one test; returns the settings read from them."""
    for name, value in settings_for(tmp_path).items():
        monkeypatch.setenv(name, value)
    return get_settings()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Paths only (no deployment settings): what a source test needs, in its own tmp dir."""
    monkeypatch.setenv("LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("SERVING_PATH", str(tmp_path / "serving.duckdb"))
    monkeypatch.setenv("DLT_PIPELINES_DIR", str(tmp_path / "dlt"))
    return get_settings()


@dataclass(frozen=True)
class BuiltWarehouse:
    settings: Settings
    dbt_output: str

    @property
    def landing_dir(self) -> Path:
        return self.settings.landing_dir

    @property
    def warehouse_path(self) -> Path:
        return self.settings.warehouse_path


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltWarehouse]:
    """Demo-scale data generated, loaded by the real dlt sources and built by `dbt build` (models + tests)."""
    from core.dbt_cli import run_dbt
    from demo_data.generator import GeneratorConfig, generate
    from ingestion.pipelines import SYSTEMS, load

    root = tmp_path_factory.mktemp("built_warehouse")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in settings_for(root).items():
            mp.setenv(name, value)
        settings = get_settings()
        generate(
            GeneratorConfig(customers=DEMO_CUSTOMERS, days=DEMO_DAYS, seed=DEMO_SEED, as_of=DEMO_AS_OF),
            settings.landing_dir,
        )
        load(SYSTEMS, settings)
        result = run_dbt(["build"], settings, target_path=root / "dbt_target")
        yield BuiltWarehouse(settings=settings, dbt_output=result.output)


@pytest.fixture(scope="session")
def activation_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Issue 8's scenario (tests/activation/scenario.py): two runs of the graph with syncs to a fake ESP between
    them. The end-to-end sync tests read it, and tests/orchestration/test_materialize.py checks its first run
    and runs the graph a third time on its files: one whole build fewer than each module building its own."""
    from tests.activation.scenario import run_scenario

    yield from run_scenario(tmp_path_factory)


LONGEST_FIRST = (
    "tests/reliability/test_real_world_runs.py",
    "tests/reliability/test_kill_run.py",
    "tests/dbt_project/test_identity_resolution.py",  # with the other readers of built_warehouse: one work unit
    "tests/activation/test_end_to_end.py",  # with tests/orchestration/test_materialize.py (activation_run)
    "tests/dbt_project/test_project.py",
    "tests/dbt_project/test_identity_stability.py",
    "tests/privacy/test_erasure.py",
    "tests/dbt_project/test_lint.py",
    "tests/orchestration/test_webserver.py",
    "tests/reliability/test_kill.py",
    "tests/dbt_project/test_dev_target.py",
)
"""The modules that took longest in `make test`, longest first (CI logs; re-measure with `--durations`)."""


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


SHARED_BUILDS = ("built_warehouse", "activation_run")
"""Session fixtures that build a whole warehouse: the modules reading one are one xdist work unit."""


@functools.cache
def _shared_build(module: Path) -> str | None:
    """The session build (SHARED_BUILDS) a test or fixture of the module takes as an argument, if any."""
    try:
        text = module.read_text(encoding="utf-8")
    except OSError:
        return None
    return next((name for name in SHARED_BUILDS if re.search(rf"\b{name}\s*[,):]", text)), None)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest modules first, then the other slow ones, then the rest. `make test` runs two xdist workers, each
    taking the next work unit (a module, see `pytest_xdist_make_scheduler`) in this order when it runs low:
    starting with the longest leaves short ones to even out the end, instead of one worker running a long module
    alone while the other waits."""

    def rank(item: pytest.Item) -> int:
        module = _module(item.nodeid)
        if module in LONGEST_FIRST:
            return LONGEST_FIRST.index(module)
        return len(LONGEST_FIRST) + (item.get_closest_marker("slow") is None)

    items.sort(key=rank)  # stable: the order within a module is kept


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """With `--dist loadfile`, a module is a work unit (its module fixtures are built once), except that the
    modules reading one session build (SHARED_BUILDS) are one unit together: the session fixture is built by one
    worker, once, instead of by each. Scopes are taken in collection order (`pytest_collection_modifyitems`), not
    xdist's default of the most tests first, which ran the long few-test modules last."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    root = config.rootpath

    class SharedBuildScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = _module(nodeid)
            return _shared_build(root / module) or module

    config.option.loadscopereorder = False
    return SharedBuildScheduling(config, log)


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """The usual umask (022), under which a file created with no explicit mode is readable by everyone: what the
    private-file helpers must overcome."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)
