"""The real generator's base batch and first increment, loaded one after the other."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from core.settings import Settings
from demo_data.generator import GeneratorConfig, generate
from ingestion.pipelines import SYSTEMS, load
from orchestration.checks import RAW_SUITES
from tests.ingestion.records import rows

AS_OF = datetime(2026, 1, 10, 12, 0)
LATER = datetime(2026, 1, 11, 12, 0)
ENTITIES = {  # landing directory -> (raw table, key field, cursor field)
    "crm/contacts": ("raw_crm.contacts", "id", "updatedAt"),
    "shop/customers": ("raw_shop.customers", "id", "updated_at"),
    "shop/orders": ("raw_shop.orders", "id", "updated_at"),
    "shop/products": ("raw_shop.products", "id", "updated_at"),
    "shop/checkouts": ("raw_shop.checkouts", "id", "updated_at"),
    "analytics/events": ("raw_analytics.events", "messageId", None),
}
LINE_LEVEL_DIRT = {"malformed_json", "malformed_line", "truncated_line"}
"""Reasons in _truth/invalid.csv that would make a whole line unreadable (the generator writes none today)."""


def records(landing: Path, directory: str, batch: int | None = None) -> Iterator[dict]:
    pattern = f"*-b{batch:04d}-*.jsonl" if batch is not None else "*.jsonl"
    for path in sorted((landing / directory).glob(pattern)):
        for line in path.read_text().splitlines():
            if line.strip():
                yield json.loads(line)


def line_level_dirt(landing: Path) -> int:
    with (landing / "_truth" / "invalid.csv").open() as f:
        return sum(row["reason"] in LINE_LEVEL_DIRT for row in csv.DictReader(f))


def test_base_then_increment_reads_only_new_files_and_merges_changes(settings: Settings) -> None:
    landing = settings.landing_dir
    generate(GeneratorConfig(customers=200, days=10, seed=1, as_of=AS_OF), landing)
    first = load(SYSTEMS, settings)
    generate(GeneratorConfig(customers=200, days=10, seed=1, increment=1, as_of=LATER), landing)

    second = load(SYSTEMS, settings)

    assert first.rows_quarantined == second.rows_quarantined == line_level_dirt(landing) == 0
    for directory, (table, key, cursor) in ENTITIES.items():
        system, name = table.removeprefix("raw_").split(".")
        column = "message_id" if key == "messageId" else key
        base = {str(r[key]) for r in records(landing, directory, batch=0)}
        increment = {str(r[key]) for r in records(landing, directory, batch=1)}
        assert increment, f"{directory}: the increment should deliver something"
        assert rows(settings, f"SELECT count(*), count(DISTINCT {column}) FROM {table}") == [
            (len(base | increment), len(base | increment))
        ], table
        new_files = {p.relative_to(landing).as_posix() for p in (landing / directory).glob("*-b0001-*.jsonl")}
        read_by_second = rows(
            settings,
            f"SELECT DISTINCT _source_file FROM {table} "
            f"WHERE _dlt_load_id = (SELECT max(load_id) FROM raw_{system}._dlt_loads)",
        )
        assert {f for (f,) in read_by_second} == new_files, f"{table}: the second load read old files"
        counts = second.table(system, name)
        if cursor is None:  # events: appended once per message id
            assert counts.loaded == len(increment - base), table
            continue
        assert counts.loaded + counts.superseded == len(increment), table
        newest: dict[str, str] = {}
        for record in records(landing, directory):
            rid = str(record[key])
            if rid not in newest or _utc(record[cursor]) >= newest[rid]:
                newest[rid] = _utc(record[cursor])
        stored = dict(
            rows(
                settings,
                f"SELECT {column}::VARCHAR, strftime(updated_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S') FROM {table}",
            )
        )
        assert {rid: stored[rid] for rid in increment} == {rid: newest[rid] for rid in increment}, table


def _utc(stamp: str) -> str:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def test_increments_without_as_of_pass_the_raw_no_future_timestamps_checks(settings: Settings) -> None:
    """The README's commands, typed one after another: base, load, increment 1, increment 2, load."""
    landing = settings.landing_dir
    generate(GeneratorConfig(customers=200, days=5, seed=4), landing)
    load(SYSTEMS, settings)
    generate(GeneratorConfig(seed=4, increment=1), landing)
    generate(GeneratorConfig(seed=4, increment=2), landing)
    load(SYSTEMS, settings)

    checks = [suite for suite in RAW_SUITES if suite.name == "no_future_timestamps"]
    assert {tuple(suite.asset) for suite in checks} == {
        ("raw_shop", "orders"), ("raw_analytics", "events"), ("raw_helpdesk", "tickets"),
        ("raw_mailchimp", "email_activity"),
    }  # fmt: skip
    for suite in checks:
        flagged = rows(settings, f"SELECT count(*), count(*) FILTER (WHERE is_future) FROM ({suite.sql})")
        assert flagged[0][0] > 0 and flagged[0][1] == 0, suite.asset
    newest = "SELECT max(received_at) <= now(), max(timestamp) <= now() FROM raw_analytics.events"
    assert rows(settings, newest) == [(True, True)]  # not even within the checks' tolerance
