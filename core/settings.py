"""The one place that reads settings from the environment.

`get_settings()` is called at the edges only: the `warehouse` command, the Dagster definitions and resources,
the benchmark and script entry points. Everything below them takes a `Settings` argument, so a function's
files are the ones its caller names, and pointing the whole product at other files is a matter of three
environment variables (docs/configuration.md).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import duckdb

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# Freshness targets of the raw tables: events stream in, the shop syncs hourly, the CRM exports daily.
DEFAULT_FRESHNESS_MINUTES = {"analytics": 15, "shop": 60, "crm": 24 * 60, "mailchimp": 60, "helpdesk": 60}
# DuckDB's budget on the Python side. The landing reader's in-memory DuckDB holds one batch of lines:
# 2GB, as dbt's (dbt_project/profiles.yml). dlt's DuckDB destination: see Settings.destination_memory_limit.
# Threads are 2 for both (DuckDB's default is every core).
DEFAULT_DUCKDB_MEMORY_LIMIT = "2GB"
DEFAULT_DUCKDB_THREADS = 2
# The landing reader holds a file's JSON text in memory (a gzip file's decompressed): a bigger file is not read
# but quarantined with the reason, so that a 1,000x gzip bomb or a runaway export cannot exhaust the machine.
DEFAULT_LANDING_MAX_FILE_BYTES = 2 * 1024**3


def _path(environ: Mapping[str, str], env_var: str, default: str) -> Path:
    """User-given paths are taken relative to the working directory; defaults to the project root."""
    value = environ.get(env_var)
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
    mailchimp_webhook_secret: str | None = None
    """The secret in the URL of Mailchimp's webhooks (MAILCHIMP_WEBHOOK_SECRET); unset: they are not served."""
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT
    """memory_limit of the landing reader's DuckDB (WAREHOUSE_MEMORY_LIMIT); DuckDB spills beyond it."""
    load_memory_limit: str | None = None
    """memory_limit of dlt's DuckDB destination for every system (WAREHOUSE_LOAD_MEMORY_LIMIT); None: the
    default of `destination_memory_limit`."""
    duckdb_threads: int = DEFAULT_DUCKDB_THREADS
    """threads of each DuckDB the ingestion opens (WAREHOUSE_THREADS)."""
    landing_max_file_bytes: int = DEFAULT_LANDING_MAX_FILE_BYTES
    """The most JSON text the landing reader takes from one file in one run, decompressed (LANDING_MAX_FILE_BYTES);
    a bigger file is refused with a quarantine row saying so, and read once the limit allows it."""
    privacy_ledger_path: Path | None = None
    """The erasure ledger's DuckDB file (PRIVACY_LEDGER_PATH); None: `privacy.duckdb` beside the warehouse."""
    configured_erasure_salt: str | None = field(default=None, repr=False)
    """The secret salt of identifier hashes (ERASURE_SALT); None: the one `erasure_salt()` keeps beside the ledger."""
    configured_dagster_home: Path | None = None
    """The Dagster instance's folder (DAGSTER_HOME); None: `dagster_home` beside the warehouse."""
    configured_sync_state_path: Path | None = None
    """The ESP sync state's DuckDB file (SYNC_STATE_PATH); None: `activation.config.sync_state_path`'s default."""
    activation_destinations: tuple[str, ...] = ()
    """The ESP destinations that get a Dagster asset (ACTIVATION_DESTINATIONS, comma-separated); empty: `esp`."""
    ingestion_progress: bool = False
    """dlt logs the progress of each load step (INGESTION_PROGRESS set to anything)."""
    configured_bi_serving_path: Path | None = None
    """The BI artifact's DuckDB catalog (BI_SERVING_PATH); None: `<serving name>_bi.duckdb` beside SERVING_PATH."""
    serving_url: str | None = field(default=None, repr=False)
    """The PostgreSQL database the publish also fills (SERVING_URL, `postgresql://user[:password]@host/db`);
    None: the DuckDB serving copy only. It may hold a password: out of repr, logged only redacted
    (`serving.postgres.redact_url`)."""

    @property
    def data_dir(self) -> Path:
        return self.warehouse_path.parent

    @property
    def ledger_path(self) -> Path:
        return self.privacy_ledger_path or self.data_dir / "privacy.duckdb"

    @property
    def bi_serving_path(self) -> Path:
        """What BI tools open: views of the masked `bi` tables only, fresh on every query (serving.bi_artifact)."""
        return self.configured_bi_serving_path or self.serving_path.with_name(f"{self.serving_path.stem}_bi.duckdb")

    @property
    def dagster_home(self) -> Path:
        return self.configured_dagster_home or self.data_dir / "dagster_home"

    @property
    def duckdb_temp_root(self) -> Path:
        """Where DuckDB spills beyond its memory_limit: `<warehouse>.tmp`, DuckDB's own default for a database
        file (dbt and dlt's destination spill there); the landing reader uses a folder inside it."""
        return self.warehouse_path.with_name(self.warehouse_path.name + ".tmp")

    def destination_memory_limit(self, system: str) -> str:
        """memory_limit of dlt's DuckDB destination while it loads `system` (WAREHOUSE_LOAD_MEMORY_LIMIT if set).

        Events are appended: inserting needs little memory, but without a limit DuckDB keeps every block it
        wrote cached, as much as the table it writes. They get the reader's budget. Entities keep DuckDB's
        default, 80% of RAM: dlt's merge numbers a run's rows with a window over every column, which DuckDB
        holds in memory and does not spill, and dlt retries a job that ran out of memory forever (the
        measurements: docs/performance.md). Always a value, never unset: the systems of one load share a
        connection, and each sets its own.
        """
        if self.load_memory_limit:
            return self.load_memory_limit
        return self.duckdb_memory_limit if system == "analytics" else duckdb_default_memory_limit()

    def duckdb_config(self, memory_limit: str | None, temp_directory: Path | None) -> dict[str, str | int | bool]:
        """The DuckDB settings of a connection the ingestion opens, spilling to `temp_directory`.

        preserve_insertion_order is off: every query whose row order matters says ORDER BY, and merges are
        keyed; without it DuckDB can stream and spill instead of holding rows back to keep their order.
        temp_directory is for a new in-memory database only: a database file spills to `<file>.tmp` by
        default, and DuckDB refuses to switch temp_directory on an instance that has already spilled.
        """
        config: dict[str, str | int | bool] = {"threads": self.duckdb_threads, "preserve_insertion_order": False}
        if memory_limit:
            config["memory_limit"] = memory_limit
        if temp_directory is not None:
            config["temp_directory"] = str(temp_directory)
        return config


@cache
def duckdb_default_memory_limit() -> str:
    """DuckDB's own default memory_limit on this machine (80% of its RAM), as DuckDB writes it."""
    with duckdb.connect(":memory:") as connection:
        (limit,) = connection.execute("SELECT current_setting('memory_limit')").fetchone()
    return str(limit)


def erasure_salt(settings: Settings) -> str:
    """The salt of identifier hashes (erasure ledger, masked `bi` columns): ERASURE_SALT, or a random salt
    created once beside the ledger (`.erasure_salt`, mode 0600) when the variable is unset."""
    if settings.configured_erasure_salt:
        return settings.configured_erasure_salt
    salt_file = settings.ledger_path.with_name(".erasure_salt")
    if salt_file.exists():
        return salt_file.read_text().strip()
    salt_file.parent.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(32)
    fd = os.open(salt_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(salt)
    return salt


def environment_under(root: Path) -> dict[str, str]:
    """The environment that points every path of the product into `root`: a private warehouse for a test, a
    benchmark's data set or a second deployment on one machine."""
    return {
        "LANDING_DIR": str(root / "landing"),
        "WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "SERVING_PATH": str(root / "serving.duckdb"),
        "DLT_PIPELINES_DIR": str(root / ".dlt"),
        "DAGSTER_HOME": str(root / "dagster_home"),
    }


def get_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from `environ` (default: this process's environment) now, not at import, so that tests and
    subprocesses can change the environment, and a Dagster resource can override single variables."""
    env = os.environ if environ is None else environ

    def text(name: str) -> str | None:
        return env.get(name, "").strip() or None

    warehouse_path = _path(env, "WAREHOUSE_PATH", "data/warehouse.duckdb")
    pipelines_dir = text("DLT_PIPELINES_DIR")
    return Settings(
        landing_dir=_path(env, "LANDING_DIR", "data/landing"),
        warehouse_path=warehouse_path,
        serving_path=_path(env, "SERVING_PATH", "data/serving.duckdb"),
        configured_bi_serving_path=_path(env, "BI_SERVING_PATH", "") if text("BI_SERVING_PATH") else None,
        pipelines_dir=Path(pipelines_dir).resolve() if pipelines_dir else warehouse_path.parent / ".dlt",
        freshness_minutes={
            system: int(text(f"FRESHNESS_{system.upper()}_MINUTES") or default)
            for system, default in DEFAULT_FRESHNESS_MINUTES.items()
        },
        collector_write_key=text("COLLECTOR_WRITE_KEY"),
        mailchimp_webhook_secret=text("MAILCHIMP_WEBHOOK_SECRET"),
        duckdb_memory_limit=text("WAREHOUSE_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT,
        load_memory_limit=text("WAREHOUSE_LOAD_MEMORY_LIMIT"),
        duckdb_threads=int(text("WAREHOUSE_THREADS") or DEFAULT_DUCKDB_THREADS),
        landing_max_file_bytes=int(text("LANDING_MAX_FILE_BYTES") or DEFAULT_LANDING_MAX_FILE_BYTES),
        privacy_ledger_path=_path(env, "PRIVACY_LEDGER_PATH", "") if text("PRIVACY_LEDGER_PATH") else None,
        configured_erasure_salt=text("ERASURE_SALT"),
        configured_dagster_home=_path(env, "DAGSTER_HOME", "") if text("DAGSTER_HOME") else None,
        configured_sync_state_path=_path(env, "SYNC_STATE_PATH", "") if text("SYNC_STATE_PATH") else None,
        activation_destinations=tuple(
            dict.fromkeys(name.strip() for name in (text("ACTIVATION_DESTINATIONS") or "").split(",") if name.strip())
        ),
        ingestion_progress=bool(env.get("INGESTION_PROGRESS")),
        serving_url=_serving_url(text("SERVING_URL")),
    )


SERVING_URL_SCHEMES = ("postgresql://", "postgres://")


def _serving_url(value: str | None) -> str | None:
    """SERVING_URL, refused at start-up unless it is a PostgreSQL URL; the error never repeats it (a password)."""
    if value is not None and not value.startswith(SERVING_URL_SCHEMES):
        raise ValueError("SERVING_URL must be a postgresql:// URL (docs/serving.md); its value is not shown")
    return value
