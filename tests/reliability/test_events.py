"""Re-delivered, out-of-order, hours-late and clock-skewed events: counted once, in the right session and day.

A tiny generated shop (so every source the marts read exists) plus hand-made Segment messages of two devices,
delivered in two loads with a dbt build after each (the second one incremental, as in production). Device
clocks are corrected the way Segment does: occurred_at = receivedAt - (sentAt - timestamp).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.dbt_cli import run_dbt
from core.settings import Settings, get_settings
from ingestion.pipelines import SYSTEMS, load
from tests.conftest import settings_for

DAY = date(2026, 11, 20)
LATENCY = timedelta(milliseconds=500)
"""Network delay of every hand-made message: the skew correction keeps it (Segment cannot tell it apart)."""
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def at(hh_mm: str, day: date = DAY) -> datetime:
    hours, minutes = map(int, hh_mm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=UTC)


def segment_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message(
    message_id: str,
    device: str,
    happened: datetime,
    *,
    clock_offset: timedelta = timedelta(0),
    queued: timedelta = timedelta(seconds=1),
) -> dict[str, Any]:
    """A track message that truly happened at `happened` on a device whose clock is `clock_offset` off, sent
    `queued` later (hours for an offline device) and received LATENCY after that."""
    return {
        "type": "track",
        "event": "Product Viewed",
        "messageId": message_id,
        "anonymousId": device,
        "userId": None,
        "timestamp": segment_time(happened + clock_offset),
        "sentAt": segment_time(happened + queued + clock_offset),
        "receivedAt": segment_time(happened + queued + LATENCY),
        "context": {"userAgent": CHROME, "ip": "198.51.100.7", "page": {"url": "https://shop.example/p", "path": "/p"}},
        "properties": {},
    }


def redelivered(original: dict[str, Any], later: timedelta) -> dict[str, Any]:
    """The same message received again (a client retry after a lost acknowledgement)."""
    received = datetime.fromisoformat(original["receivedAt"]) + later
    return {**original, "receivedAt": segment_time(received)}


FIRST_DELIVERY = [
    message("rel-1", "device-a", at("10:00")),
    message("rel-2", "device-a", at("10:05")),
    message("rel-3", "device-a", at("10:20")),
]
SECOND_DELIVERY = [  # out of order, as a late batch arrives
    # true 23:55 on DAY, the device clock 3 hours ahead says 02:55 the next day
    message("rel-7", "device-b", at("23:55"), clock_offset=timedelta(hours=3)),
    # true 23:50, queued offline and received after midnight
    message("rel-6", "device-b", at("23:50"), queued=timedelta(hours=2, minutes=10)),
    # true 10:25, the device clock 12 hours behind says 22:25 the day before
    message("rel-5", "device-a", at("10:25"), clock_offset=timedelta(hours=-12)),
    redelivered(FIRST_DELIVERY[1], later=timedelta(minutes=10)),
    # true 10:10, queued offline for five hours: lands between rel-2 and rel-3
    message("rel-4", "device-a", at("10:10"), queued=timedelta(hours=5)),
]


def write_events(landing: Path, name: str, messages: list[dict[str, Any]]) -> Path:
    path = landing / "analytics" / "events" / name
    path.write_text("".join(json.dumps(m) + "\n" for m in messages))
    return path


def build(settings: Settings) -> None:
    run_dbt(
        [
            "build", "--select", "+fct_events", "+fct_sessions",
            "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test",
            "--vars", f"{{as_of: '{DAY:%Y-%m-%d} 12:00:00'}}",
        ],
        settings,
        target_path=settings.data_dir / "dbt_target",
    )  # fmt: skip


def query(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def naive(moment: datetime) -> datetime:
    """How the marts hold times: UTC without a zone."""
    return moment.astimezone(UTC).replace(tzinfo=None)


@pytest.fixture(scope="module")
def delivered_twice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Both deliveries loaded and built, the first file also re-delivered under a new name."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in settings_for(tmp_path_factory.mktemp("reliability_events")).items():
            monkeypatch.setenv(name, value)
        yield deliver_twice(get_settings())


def deliver_twice(isolated_env: Settings) -> Settings:
    from demo_data.generator import GeneratorConfig, generate

    generate(GeneratorConfig(customers=5, days=2, seed=3, as_of=datetime(2026, 11, 21)), isolated_env.landing_dir)
    first = write_events(isolated_env.landing_dir, "events-20261120T102100Z-900001.jsonl", FIRST_DELIVERY)
    load(SYSTEMS, isolated_env)
    build(isolated_env)

    write_events(isolated_env.landing_dir, "events-20261121T021000Z-900002.jsonl", SECOND_DELIVERY)
    shutil.copyfile(first, first.with_name("events-20261121T021000Z-900003.jsonl"))
    load(SYSTEMS, isolated_env)
    build(isolated_env)
    return isolated_env


def test_late_skewed_and_redelivered_events_are_counted_once_in_the_right_session_and_day(
    delivered_twice: Settings,
) -> None:
    events = query(
        delivered_twice,
        "SELECT message_id, anonymous_id, session_key, occurred_at, event_date FROM marts.fct_events "
        "WHERE starts_with(message_id, 'rel-') ORDER BY message_id",
    )
    sessions = query(
        delivered_twice,
        "SELECT anonymous_id, session_key, session_date, started_at, ended_at, events_count FROM marts.fct_sessions "
        "WHERE anonymous_id IN ('device-a', 'device-b') ORDER BY anonymous_id",
    )

    truly = {"rel-1": "10:00", "rel-2": "10:05", "rel-3": "10:20", "rel-4": "10:10", "rel-5": "10:25",
             "rel-6": "23:50", "rel-7": "23:55"}  # fmt: skip
    assert [(m, device, when, day) for m, device, _, when, day in events] == [
        (m, "device-a" if hh_mm < "12" else "device-b", naive(at(hh_mm) + LATENCY), DAY)
        for m, hh_mm in sorted(truly.items())
    ]
    [(_, key_a, day_a, start_a, end_a, count_a), (_, key_b, day_b, start_b, end_b, count_b)] = sessions
    assert {key for _, device, key, _, _ in events if device == "device-a"} == {key_a}
    assert {key for _, device, key, _, _ in events if device == "device-b"} == {key_b}
    assert (day_a, count_a, start_a, end_a) == (DAY, 5, naive(at("10:00") + LATENCY), naive(at("10:25") + LATENCY))
    assert (day_b, count_b, start_b, end_b) == (DAY, 2, naive(at("23:50") + LATENCY), naive(at("23:55") + LATENCY))


def test_a_redelivered_file_and_message_add_no_raw_rows(delivered_twice: Settings) -> None:
    assert query(
        delivered_twice,
        "SELECT count(*), count(DISTINCT message_id) FROM raw_analytics.events WHERE starts_with(message_id, 'rel-')",
    ) == [(7, 7)]
