"""Smoke test of `warehouse ui`: the real `dagster dev` launches the whole graph through GraphQL and it succeeds."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from core.settings import PROJECT_ROOT
from tests.conftest import settings_for

pytestmark = pytest.mark.slow

STARTUP_SECONDS = 180
RUN_SECONDS = 480

LAUNCH = """
mutation Launch($location: String!, $repository: String!) {
  launchRun(executionParams: {
    selector: {repositoryLocationName: $location, repositoryName: $repository, jobName: "daily_full_build"}
  }) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""
REPOSITORIES = "{ repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }"
STATUS = "query Status($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(url: str, query: str, **variables: str) -> dict:
    response = requests.post(url, json={"query": query, "variables": variables}, timeout=30)
    response.raise_for_status()
    return response.json()["data"]


@pytest.fixture
def dagster_dev(tmp_path: Path) -> Iterator[str]:
    """`warehouse ui` (dagster dev) on a free loopback port, instance and data in tmp_path; yields the GraphQL URL."""
    from demo_data.generator import GeneratorConfig, generate

    env = {**os.environ, **settings_for(tmp_path)}
    as_of = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0) - timedelta(hours=1)
    generate(GeneratorConfig(customers=80, days=5, seed=11, as_of=as_of), Path(env["LANDING_DIR"]))
    port = _free_port()
    with (tmp_path / "dagster-dev.log").open("w") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("warehouse")), "ui", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: webserver, daemon, code server, run workers
        )
        try:
            yield f"http://127.0.0.1:{port}/graphql"
        finally:
            process.terminate()  # `warehouse ui` is dagster dev by now: it shuts its services down and exits
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
                pytest.fail("warehouse ui did not stop on SIGTERM within 30 s")
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # whatever of the group is left (run workers)


def _wait_for_repository(url: str) -> tuple[str, str]:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            nodes = _graphql(url, REPOSITORIES)["repositoriesOrError"].get("nodes") or []
            if nodes:
                return nodes[0]["location"]["name"], nodes[0]["name"]
        except requests.RequestException:
            pass
        time.sleep(2)
    raise AssertionError(f"dagster dev did not load the workspace within {STARTUP_SECONDS}s")


def test_the_webserver_launches_the_whole_graph_and_it_succeeds(dagster_dev: str) -> None:
    location, repository = _wait_for_repository(dagster_dev)

    launched = _graphql(dagster_dev, LAUNCH, location=location, repository=repository)["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    status, deadline = "", time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline and status not in {"SUCCESS", "FAILURE", "CANCELED"}:
        time.sleep(3)
        status = _graphql(dagster_dev, STATUS, id=run_id)["runOrError"].get("status", "")
    assert status == "SUCCESS"
