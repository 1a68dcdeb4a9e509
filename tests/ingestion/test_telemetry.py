"""A load sends nothing to dltHub: dlt's anonymous telemetry is off unless a deployment turns it on."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import dlt
import ingestion  # noqa: F401
from dlt.common.runtime import anon_tracker

pipeline = dlt.pipeline("telemetry_probe", destination=dlt.destinations.duckdb({db!r}),
                        pipelines_dir={pipelines!r}, dataset_name="probe")
pipeline.extract([{{"id": 1}}], table_name="probe")
print(anon_tracker._ANON_TRACKER_ENDPOINT is not None)
"""


def _tracker_started(tmp_path, **env: str) -> bool:
    """Whether a pipeline step in a fresh process (the way every load runs) started dlt's anonymous tracker."""
    code = PROBE.format(db=str(tmp_path / "probe.duckdb"), pipelines=str(tmp_path / "pipelines"))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RUNTIME__")} | env
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, check=True)
    return done.stdout.strip().splitlines()[-1] == "True"


def test_a_pipeline_step_starts_no_telemetry(tmp_path):
    assert not _tracker_started(tmp_path)


def test_a_deployment_can_turn_it_on(tmp_path):
    assert _tracker_started(tmp_path, RUNTIME__DLTHUB_TELEMETRY="true")
