"""The one place that reads settings from the environment.

Every path a command, pipeline, dbt profile or Dagster resource uses comes from `get_settings()`, so that
pointing the whole product at other files is a matter of three environment variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# Freshness targets of the raw tables: events stream in, the shop syncs hourly, the CRM exports daily.
DEFAULT_FRESHNESS_MINUTES = {"analytics": 15, "shop": 60, "crm": 24 * 60}


def _path(env_var: str, default: str) -> Path:
    """User-given paths are taken relative to the working directory; defaults to the project root."""
    value = os.environ.get(env_var)
    if value:
        return Path(value).expanduser().resolve()
    return PROJECT_ROOT / default


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    """Where landing files arrive (generator output, collector output, exports from the source systems)."""
    warehouse_path: Path
    """The DuckDB file that dlt loads and dbt builds: one writer at a time."""
    serving_path: Path
    """The read-only copy of the marts that BI tools open; replaced atomically after checks pass."""
    pipelines_dir: Path
    """dlt's working directory (pipeline state, load packages in flight): sits beside the warehouse."""
    freshness_minutes: dict[str, int] = field(default_factory=dict)
    """How old each system's raw tables may get before Dagster flags them stale (FRESHNESS_<SYSTEM>_MINUTES)."""
    collector_write_key: str | None = None
    """The Segment write key `warehouse collect` accepts (COLLECTOR_WRITE_KEY); no default: unset refuses."""

    @property
    def data_dir(self) -> Path:
        return self.warehouse_path.parent


def get_settings() -> Settings:
    """Read settings now (not at import), so tests and subprocesses can change the environment."""
    warehouse_path = _path("WAREHOUSE_PATH", "data/warehouse.duckdb")
    pipelines_dir = os.environ.get("DLT_PIPELINES_DIR")
    return Settings(
        landing_dir=_path("LANDING_DIR", "data/landing"),
        warehouse_path=warehouse_path,
        serving_path=_path("SERVING_PATH", "data/serving.duckdb"),
        pipelines_dir=Path(pipelines_dir).resolve() if pipelines_dir else warehouse_path.parent / ".dlt",
        freshness_minutes={
            system: int(os.environ.get(f"FRESHNESS_{system.upper()}_MINUTES", default))
            for system, default in DEFAULT_FRESHNESS_MINUTES.items()
        },
        collector_write_key=os.environ.get("COLLECTOR_WRITE_KEY", "").strip() or None,
    )
