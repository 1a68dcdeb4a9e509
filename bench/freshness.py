"""Freshness latency: a new landing file -> its rows in marts.customer_profiles, through the Dagster automation.

The project's own Definitions are evaluated in process, as the daemon would: the landing sensor ticks, its run
request is executed, then the automation conditions are evaluated and whatever they request is executed, until
the new customer is visible (or nothing more is requested). The warehouse was just built by the benchmark, so
the instance starts with every asset recorded as materialized and its checks passed (the true state); the
sensors' own minimum intervals (how long the daemon may wait before ticking) are reported separately.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

PROBE_PREFIX = "customers-b9000-p"
"""Probe files sort after every generated batch, as a later delivery would; each probe adds the next one."""


def probe_customer(template: dict[str, Any], token: str) -> dict[str, Any]:
    """A brand-new Shopify customer shaped like a delivered one, sharing nothing with anybody (no merges)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    record = dict(template)
    record.update(
        id=9_000_000_000_000 + int(token[:8], 16),
        email=f"freshness.{token}@example.com",
        first_name="Freshness",
        last_name=f"Probe{token[:6]}",
        phone=None,
        default_address=None,
        addresses=[],
        orders_count=0,
        total_spent="0.00",
        created_at=now,
        updated_at=now,
    )
    return record


def _is_visible(warehouse: Path, email: str) -> bool:
    try:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            (count,) = connection.execute(
                "SELECT count(*) FROM marts.customer_profiles WHERE email = ?", [email]
            ).fetchone()
    except duckdb.Error:
        return False
    return count > 0


def _requested(result: dg.EvaluateAutomationConditionsResult) -> list[dg.AssetKey]:
    return sorted(
        {r.key for r in result.results if isinstance(r.key, dg.AssetKey) and r.true_subset.size > 0},
        key=lambda key: key.to_user_string(),
    )


def _record_all_materialized(instance: dg.DagsterInstance, graph: Any) -> None:
    for key in graph.toposorted_asset_keys:
        instance.report_runless_asset_event(dg.AssetMaterialization(key))
        for check_key in graph.get(key).check_keys:
            instance.report_runless_asset_event(
                dg.AssetCheckEvaluation(asset_key=key, check_name=check_key.name, passed=True)
            )


def measure_freshness(landing_dir: Path, timeout_s: float = 600.0) -> dict[str, Any]:
    """Seconds from writing a new shop customer file to its row in customer_profiles, and what ran."""
    from core.settings import get_settings
    from orchestration.resources import WarehouseResource, prepare_manifest

    settings = get_settings()
    prepare_manifest(settings)  # parses only when the project or its environment changed
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    job = defs.resolve_implicit_global_asset_job_def()
    landing_sensor = defs.resolve_sensor_def("landing_files_sensor")
    automation = defs.resolve_sensor_def("automation_sensor")
    folder = landing_dir / "shop" / "customers"
    template = json.loads(next(iter(sorted(folder.glob("*.jsonl")))).open().readline())
    token = uuid.uuid4().hex
    earlier_probes = len(list(folder.glob(f"{PROBE_PREFIX}*")))
    probe_file = folder / f"{PROBE_PREFIX}{earlier_probes:04d}.jsonl"
    record = probe_customer(template, token)
    runs: list[dict[str, Any]] = []

    with dg.instance_for_test() as instance:
        _record_all_materialized(instance, graph)
        baseline = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        # the sensor reads its settings from the warehouse resource, as the daemon gives it
        resources = {"warehouse": WarehouseResource()}
        context = dg.build_sensor_context(instance=instance, definitions=defs, resources=resources)
        sensor_cursor = landing_sensor(context).cursor
        cursor = baseline.cursor

        began = time.perf_counter()
        probe_file.write_bytes(json.dumps(record).encode() + b"\n")
        tick = landing_sensor(
            dg.build_sensor_context(instance=instance, definitions=defs, cursor=sensor_cursor, resources=resources)
        )
        pending = [list(request.asset_selection or []) for request in tick.run_requests]
        visible = False
        while pending and not visible and time.perf_counter() - began < timeout_s:
            selection = pending.pop(0)
            started = time.perf_counter()
            result = job.execute_in_process(instance=instance, asset_selection=selection, raise_on_error=False)
            runs.append(
                {
                    "assets": len(selection),
                    "success": result.success,
                    "seconds": round(time.perf_counter() - started, 3),
                    "first_assets": [key.to_user_string() for key in selection[:5]],
                }
            )
            visible = _is_visible(settings.warehouse_path, record["email"])
            if not pending and not visible:
                evaluation = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
                cursor = evaluation.cursor
                if requested := _requested(evaluation):
                    pending.append(requested)
        latency = time.perf_counter() - began

    return {
        "seconds": latency,
        "visible": visible,
        "runs": runs,
        "landing_sensor_interval_s": landing_sensor.minimum_interval_seconds,
        "automation_sensor_interval_s": automation.minimum_interval_seconds,
        "probe_email": record["email"],
    }
