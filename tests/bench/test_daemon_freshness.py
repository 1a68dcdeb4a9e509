"""The daemon freshness probe's pieces that need no daemon: the probe event, what makes it visible, the median."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from bench.daemon_freshness import (
    customer_of,
    hide_undeclared,
    probe_event,
    probe_template,
    profile_shows,
    summarize,
)

NOW = datetime(2026, 12, 7, 21, 30, 5, 123456, tzinfo=UTC)


def test_the_template_is_the_first_identified_product_view(tmp_path: Path) -> None:
    anonymous = {"type": "track", "userId": None, "event": "Product Viewed", "messageId": "a"}
    identified_page = {"type": "page", "userId": "7000", "event": None, "messageId": "b"}
    identified_view = {"type": "track", "userId": "7001", "event": "Product Viewed", "messageId": "c"}
    lines = [json.dumps(e) for e in (anonymous, identified_page, identified_view)]
    (tmp_path / "events-b0000-p0000.jsonl").write_text("\n".join(lines) + "\n")

    assert probe_template(tmp_path)["messageId"] == "c"
    with pytest.raises(LookupError):
        probe_template(tmp_path, scan_lines=2)


def test_a_probe_is_a_new_delivery_sent_and_received_now() -> None:
    template = {"messageId": "old", "userId": "7001", "timestamp": "2026-10-01T00:00:00.000Z", "context": {"ip": "x"}}

    event = probe_event(template, NOW)

    assert event["messageId"] not in ("old", probe_event(template, NOW)["messageId"])
    assert event["timestamp"] == event["sentAt"] == event["receivedAt"] == "2026-12-07T21:30:05.123Z"
    assert (event["userId"], event["context"]) == ("7001", {"ip": "x"})


@pytest.fixture
def serving(tmp_path: Path) -> Path:
    path = tmp_path / "serving.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA marts")
        connection.execute("CREATE TABLE marts.customer_profiles (customer_id VARCHAR, last_seen_at TIMESTAMP)")
        connection.execute("INSERT INTO marts.customer_profiles VALUES ('cus_1', TIMESTAMP '2026-10-31 12:00:00')")
        connection.execute(
            "CREATE TABLE marts.customer_identity_map (source_system VARCHAR, source_id VARCHAR, customer_id VARCHAR)"
        )
        connection.execute("INSERT INTO marts.customer_identity_map VALUES ('shop', '7001', 'cus_9')")
        connection.execute("INSERT INTO marts.customer_identity_map VALUES ('analytics', '7001', 'cus_1')")
    return path


def test_the_probe_customer_is_the_one_the_identity_map_gives_its_user_id(serving: Path) -> None:
    assert customer_of(serving, "7001") == "cus_1"
    assert customer_of(serving, "unknown") is None


def test_the_profile_shows_the_probe_once_last_seen_reaches_its_time(serving: Path) -> None:
    landed = NOW.replace(microsecond=0)
    assert not profile_shows(serving, "cus_1", landed)

    with duckdb.connect(str(serving)) as connection:
        connection.execute("UPDATE marts.customer_profiles SET last_seen_at = ?", [landed.replace(tzinfo=None)])

    assert profile_shows(serving, "cus_1", landed)
    assert not profile_shows(serving, "cus_1", landed + timedelta(seconds=1))
    assert not profile_shows(serving.with_name("not_published.duckdb"), "cus_1", landed)


def probe(seconds: float, visible: bool = True) -> dict:
    return {"seconds": seconds, "visible": visible, "parts": {"total_s": seconds}}


def test_the_figure_is_the_median_probe_with_its_own_parts() -> None:
    summary = summarize([probe(120.0), probe(95.0), probe(140.0)])

    assert summary["seconds"] == 120.0
    assert summary["parts"] == {"total_s": 120.0}
    assert summary["seconds_by_probe"] == [120.0, 95.0, 140.0]


def test_a_probe_never_visible_makes_the_figure_a_miss() -> None:
    summary = summarize([probe(120.0), probe(900.0, visible=False)])

    assert summary["seconds"] is None and summary["parts"] is None and not summary["visible"]


def test_a_package_installed_but_not_declared_is_hidden_from_the_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = tmp_path / "site"
    (installed / "stray_spark").mkdir(parents=True)
    (installed / "stray_spark" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(installed))
    hidden_dir = tmp_path / "hidden"

    assert hide_undeclared(hidden_dir, ("stray_spark", "duckdb", "not_installed_at_all")) == ["stray_spark"]

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hidden_dir), str(installed)])}
    imported = subprocess.run([sys.executable, "-c", "import stray_spark"], env=env, capture_output=True, text=True)
    assert imported.returncode != 0 and "ImportError: stray_spark is installed but no dependency" in imported.stderr
