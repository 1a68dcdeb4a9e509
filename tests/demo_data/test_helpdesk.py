"""The generator's helpdesk: Zendesk-shaped users, tickets and comments of its people, with the dirt support has."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from demo_data.generator import GeneratorConfig, generate

AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _lines(out: Path, subdir: str) -> list[dict[str, Any]]:
    return [json.loads(line) for path in sorted((out / subdir).glob("*.jsonl")) for line in path.open()]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("helpdesk")
    generate(GeneratorConfig(customers=400, days=14, seed=17, as_of=AS_OF), folder)
    generate(GeneratorConfig(seed=17, increment=1, as_of=AS_OF + timedelta(days=3)), folder)
    return folder


def test_tickets_and_comments_belong_to_written_users_and_tickets(out: Path) -> None:
    users = {u["id"]: u for u in _lines(out, "helpdesk/users")}
    tickets = _lines(out, "helpdesk/tickets")
    comments = _lines(out, "helpdesk/ticket_comments")
    assert tickets and comments
    assert {t["requester_id"] for t in tickets} <= set(users)
    assert {c["ticket_id"] for c in comments} <= {t["id"] for t in tickets}
    assert {c["author_id"] for c in comments} <= set(users)
    assert {"agent", "end-user"} == {u["role"] for u in users.values()}


def test_tickets_have_the_zendesk_shape_with_deletes_and_ratings(out: Path) -> None:
    tickets = _lines(out, "helpdesk/tickets")
    statuses = {t["status"] for t in tickets}
    assert {"open", "solved"} <= statuses
    assert "deleted" in statuses, "an increment deletes some older tickets"
    scores = {(t.get("satisfaction_rating") or {}).get("score") for t in tickets}
    assert {"good", "bad"} <= scores
    assert all(isinstance(t.get("tags", []), list) for t in tickets)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t["updated_at"]) for t in tickets)


def test_some_users_are_known_by_email_only_and_some_write_in_other_languages(out: Path) -> None:
    users = [u for u in _lines(out, "helpdesk/users") if u["role"] == "end-user"]
    by_email_only = [u for u in users if u["name"] == u["email"].strip().split("@")[0].lower()]
    assert by_email_only and len(by_email_only) < len(users)
    assert len({u["locale"] for u in users}) > 1


def test_some_comments_carry_a_contact_in_their_text(out: Path) -> None:
    bodies = [c["body"] for c in _lines(out, "helpdesk/ticket_comments")]
    with_email = [b for b in bodies if re.search(r"\S+@\S+\.\w+", b)]
    with_phone = [b for b in bodies if re.search(r"\+?\d[\d ()-]{7,}\d", b)]
    assert with_email and with_phone
