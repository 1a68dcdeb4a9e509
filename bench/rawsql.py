"""dbt's compiled SQL, run directly: the limit `dbt build` adds its overhead to.

From a compiled manifest: seeds are read with DuckDB's `read_csv` (with their declared column types), models
are created in DAG order as `CREATE OR REPLACE TABLE/VIEW ... AS <compiled SQL>` (incremental models as
tables: on an empty warehouse they are full builds), then every data test's compiled query is counted, all
in one connection and one thread of control.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

from core.settings import DBT_PROJECT_DIR

_MATERIALIZED_AS = {"view": "VIEW", "table": "TABLE", "incremental": "TABLE"}


@dataclass(frozen=True)
class Statement:
    unique_id: str
    kind: str
    """seed, model or test."""
    schema: str
    sql: str


def plan_from_manifest(manifest: Mapping[str, Any], project_dir: Path = DBT_PROJECT_DIR) -> list[Statement]:
    """Seeds and models in dependency order, then the data tests."""
    nodes = manifest["nodes"]
    buildable = {
        uid: node
        for uid, node in nodes.items()
        if node["resource_type"] == "seed"
        or (node["resource_type"] == "model" and node["config"]["materialized"] in _MATERIALIZED_AS)
    }
    graph = {uid: [d for d in node["depends_on"].get("nodes", []) if d in buildable] for uid, node in buildable.items()}
    plan = [_build_statement(buildable[uid], project_dir) for uid in TopologicalSorter(graph).static_order()]
    tests = sorted(
        (node for node in nodes.values() if node["resource_type"] == "test" and node.get("compiled_code")),
        key=lambda node: node["unique_id"],
    )
    plan += [
        Statement(t["unique_id"], "test", "", f"SELECT count(*) FROM (\n{_strip(t['compiled_code'])}\n) AS t")
        for t in tests
    ]
    return plan


def _strip(sql: str) -> str:
    return sql.strip().rstrip(";").strip()


def _build_statement(node: Mapping[str, Any], project_dir: Path) -> Statement:
    relation = node["relation_name"]
    if node["resource_type"] == "seed":
        path = (project_dir / node["original_file_path"]).resolve()
        types = node["config"].get("column_types") or {}
        type_struct = ", ".join(f"'{name}': '{kind}'" for name, kind in types.items())
        options = f", types = {{{type_struct}}}" if types else ""
        sql = f"CREATE OR REPLACE TABLE {relation} AS SELECT * FROM read_csv('{path}', header = true{options})"
        return Statement(node["unique_id"], "seed", node["schema"], sql)
    kind = _MATERIALIZED_AS[node["config"]["materialized"]]
    sql = f"CREATE OR REPLACE {kind} {relation} AS (\n{_strip(node['compiled_code'])}\n)"
    return Statement(node["unique_id"], "model", node["schema"], sql)


def execute(connection: Any, plan: list[Statement]) -> dict[str, Any]:
    """Run the plan; seconds in total and per kind, and the tests that returned rows (as dbt would fail)."""
    began = time.perf_counter()
    per_kind: dict[str, float] = {}
    per_node: dict[str, float] = {}
    failing_tests: list[str] = []
    for schema in sorted({s.schema for s in plan if s.schema}):
        connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    for statement in plan:
        started = time.perf_counter()
        result = connection.execute(statement.sql)
        if statement.kind == "test" and result.fetchone()[0]:
            failing_tests.append(statement.unique_id)
        spent = time.perf_counter() - started
        per_kind[statement.kind] = per_kind.get(statement.kind, 0.0) + spent
        per_node[statement.unique_id] = round(spent, 4)
    connection.execute("CHECKPOINT")
    return {
        "seconds": time.perf_counter() - began,
        "seconds_by_kind": per_kind,
        "statements": len(plan),
        "failing_tests": failing_tests,
        "nodes": per_node,
    }
