"""Erasure covers the helpdesk: a requester's user, tickets, every comment of their tickets (the agents' too, and
the text holding their phone) and the comments' sentiment, in raw and in staging, and re-delivered files of
theirs do not come back. The personal columns are read from the project's own YAML (sources and staging)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import duckdb
import pytest
import yaml

from core.settings import DBT_PROJECT_DIR, Settings
from ingestion.pipelines import load
from privacy.erasure import erase_from_warehouse
from privacy.ledger import ErasureLedger
from privacy.registry import PiiRegistry, registry_from_manifest
from tests.fakes.zendesk import make_comment, make_ticket, make_user
from tests.ingestion.records import rows

ZENDESK_YAML = DBT_PROJECT_DIR / "models" / "staging" / "zendesk"
START = datetime(2026, 3, 1, tzinfo=UTC)


def _registry() -> PiiRegistry:
    """The declarations of the helpdesk's sources and staging YAML, as dbt's manifest would carry them."""
    sources = yaml.safe_load((ZENDESK_YAML / "_zendesk__sources.yml").read_text())["sources"][0]
    models = yaml.safe_load((ZENDESK_YAML / "_zendesk__models.yml").read_text())["models"]
    manifest: dict[str, Any] = {
        "sources": {
            f"source.helpdesk.{t['name']}": {
                "unique_id": f"source.helpdesk.{t['name']}", "schema": sources["schema"], "name": t["name"],
                "columns": {c["name"]: c for c in t.get("columns", [])},
            }
            for t in sources["tables"]
        },
        "nodes": {
            f"model.{m['name']}": {
                "unique_id": f"model.{m['name']}", "resource_type": "model", "schema": "staging",
                "name": m["name"], "columns": {c["name"]: c for c in m["columns"]},
            }
            for m in models
        },
    }  # fmt: skip
    return registry_from_manifest(manifest)


def _deliver(settings: Settings, name: str, records: dict[str, list[dict[str, Any]]]) -> None:
    for table, lines in records.items():
        path = settings.landing_dir / "helpdesk" / table / f"{table}-{name}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))


@pytest.fixture
def helpdesk(isolated_env: Settings) -> dict[str, list[dict[str, Any]]]:
    gone = make_user(1, START, email="Gone@Example.com", phone="+49 30 1234567")
    kept = make_user(2, START)
    agent = make_user(9, START, role="agent")
    records = {
        "users": [gone, kept, agent],
        "tickets": [make_ticket(10, START, gone["id"]), make_ticket(20, START, kept["id"])],
        "ticket_comments": [
            make_comment(1, 10, gone["id"], START, "Call me on +49 30 1234567, my parcel never came!"),
            make_comment(2, 10, agent["id"], START, "Hi Gone, so sorry: a replacement is on its way."),
            make_comment(3, 20, kept["id"], START, "Thanks, all good."),
            make_comment(4, 20, agent["id"], START, "Glad to help!"),
        ],
    }
    _deliver(isolated_env, "0001", records)
    load(["helpdesk"], isolated_env)
    return records


def _staging_copies(settings: Settings) -> None:
    """Staging tables as dbt builds them (tables, keyed as the YAML declares), from the raw rows."""
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("CREATE SCHEMA staging")
        con.execute("CREATE TABLE staging.stg_zendesk__tickets AS SELECT id AS ticket_id, requester_id, subject "
                    "FROM raw_helpdesk.tickets")  # fmt: skip
        con.execute("CREATE TABLE staging.stg_zendesk__ticket_comments AS SELECT id AS comment_id, ticket_id, body "
                    "FROM raw_helpdesk.ticket_comments")  # fmt: skip


def test_erasing_a_requester_removes_their_tickets_every_comment_on_them_and_the_scores(
    isolated_env: Settings, helpdesk: dict[str, list[dict[str, Any]]]
) -> None:
    _staging_copies(isolated_env)
    ErasureLedger(isolated_env).record([("email", "gone@example.com")])

    report = erase_from_warehouse(isolated_env.warehouse_path, isolated_env, _registry())

    assert rows(isolated_env, "SELECT id FROM raw_helpdesk.users ORDER BY id") == [(360_002,), (360_009,)]
    assert rows(isolated_env, "SELECT id FROM raw_helpdesk.tickets") == [(20,)]
    assert rows(isolated_env, "SELECT id FROM raw_helpdesk.ticket_comments ORDER BY id") == [(900_003,), (900_004,)]
    assert rows(isolated_env, "SELECT comment_id FROM raw_helpdesk.ticket_comments__sentiment ORDER BY 1") == [
        (900_003,), (900_004,)
    ]  # fmt: skip
    assert rows(isolated_env, "SELECT ticket_id FROM staging.stg_zendesk__tickets") == [(20,)]
    assert rows(isolated_env, "SELECT count(*) FROM staging.stg_zendesk__ticket_comments WHERE ticket_id = 10") == [
        (0,)
    ]  # fmt: skip
    assert report.rows_deleted["raw_helpdesk.ticket_comments"] == 2, "the agent's reply went with the ticket"
    assert ErasureLedger(isolated_env).is_erased("helpdesk_ticket_id", "10")


def test_re_delivered_lines_of_an_erased_requester_and_their_tickets_are_skipped(
    isolated_env: Settings, helpdesk: dict[str, list[dict[str, Any]]]
) -> None:
    ErasureLedger(isolated_env).record([("email", "gone@example.com")])
    erase_from_warehouse(isolated_env.warehouse_path, isolated_env, _registry())

    _deliver(isolated_env, "0002-redelivered", helpdesk)
    load(["helpdesk"], isolated_env)

    assert rows(isolated_env, "SELECT id FROM raw_helpdesk.tickets") == [(20,)]
    assert rows(isolated_env, "SELECT count(*) FROM raw_helpdesk.ticket_comments WHERE ticket_id = 10") == [(0,)]
    assert rows(isolated_env, "SELECT count(*) FROM raw_helpdesk.users WHERE email ILIKE 'gone@%'") == [(0,)]
    assert rows(isolated_env, "SELECT count(*) FROM raw_helpdesk.quarantine") == [(0,)]


def test_the_declared_helpdesk_columns_are_what_erasure_matches_on() -> None:
    declared = {(c.relation, c.column): c.subject_kinds for c in _registry().columns if c.subject_kinds}
    assert declared[("tickets", "requester_id")] == ("helpdesk_user_id",)
    assert declared[("ticket_comments", "ticket_id")] == ("helpdesk_ticket_id",)
    assert ("ticket_comments", "author_id") not in declared, "an agent's id would erase every ticket they answered"
