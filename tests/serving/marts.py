"""Hand-made marts shaped by their dbt contracts, and the serving models built on them.

The serving models (`bi`, `activation`) select every column of their marts under enforced contracts, so a test's
marts must have exactly the marts' columns and types: they are read from the marts' YAML, and a test fills in only
the columns it cares about (the rest are null).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import yaml

from core.dbt_cli import DbtResult, run_dbt
from core.settings import DBT_PROJECT_DIR, Settings

SERVING_MODELS = "path:models/serving"


@dataclass(frozen=True)
class Built:
    """A dbt build of a test's warehouse, and a way to read what it built."""

    settings: Settings
    result: DbtResult

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.settings.warehouse_path), read_only=True) as con:
            return con.execute(sql).fetchall()


def mart_contracts() -> dict[str, list[tuple[str, str]]]:
    """mart name -> its (column, data type) in order, from the contracts in models/marts/**/_*.yml."""
    contracts = {}
    for path in sorted((DBT_PROJECT_DIR / "models" / "marts").glob("**/_*.yml")):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            contracts[model["name"]] = [(column["name"], column["data_type"]) for column in model["columns"]]
    return contracts


def create_marts(warehouse: Path, rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """Every mart as its contract shapes it, holding `rows` (mart -> rows; columns left out are null)."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        for mart, columns in mart_contracts().items():
            con.execute(f"CREATE OR REPLACE TABLE marts.{mart} ({', '.join(f'{n} {t}' for n, t in columns)})")
            for row in rows.get(mart, ()):
                values = ", ".join("?" for _ in row)
                con.execute(f"INSERT INTO marts.{mart} ({', '.join(row)}) VALUES ({values})", list(row.values()))


def build_serving_models(settings: Settings, target: Path, *, check: bool = True) -> DbtResult:
    """`dbt build` of the serving models (and their tests) on the marts the warehouse holds."""
    return run_dbt(["build", "--select", SERVING_MODELS], settings, target_path=target, check=check)
