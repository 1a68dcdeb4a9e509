"""The generator's Mailchimp side: members in the API shape with every status, campaign activity consistent
with each member's history (nothing after they left, a hard bounce before a cleaned address), increments that
re-deliver changed members, and files the mailchimp source loads without quarantining anything."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from demo_data.generator import GeneratorConfig, generate
from ingestion.pipelines import load
from tests.ingestion.records import rows

AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("esp") / "landing"
    generate(GeneratorConfig(customers=300, days=60, seed=5, as_of=AS_OF, change_share=0.2), out)
    return out


def _members(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for p in sorted((out / "mailchimp/members").glob("*.jsonl")) for line in p.open()]


def _actions(out: Path) -> list[dict[str, Any]]:
    """(email, campaign, action) records of every saved report page."""
    found = []
    for path in sorted((out / "mailchimp/email_activity").glob("*.json")):
        page = json.loads(path.read_text())
        for email in page["emails"]:
            assert email["campaign_id"] == page["campaign_id"]
            found += [{"email": email["email_address"].lower(), **action} for action in email["activity"]]
    return found


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_members_carry_every_status_and_some_only_an_email(base: Path) -> None:
    members = _members(base)
    latest = {m["id"]: m for m in sorted(members, key=lambda m: m["last_changed"])}
    statuses = Counter(m["status"] for m in latest.values())
    assert {"subscribed", "unsubscribed", "cleaned", "pending"} <= statuses.keys(), statuses
    assert statuses["subscribed"] > statuses["unsubscribed"] > 0
    assert any(m["merge_fields"]["FNAME"] == "" for m in members)
    assert {a["email"] for a in _actions(base)} <= {m["email_address"].lower() for m in members}
    assert all(m["id"] == hashlib.md5(m["email_address"].lower().encode()).hexdigest() for m in members)


def test_nobody_has_activity_after_leaving_and_a_cleaned_address_bounced_hard(base: Path) -> None:
    left = {}
    for member in _members(base):
        if member["status"] in ("unsubscribed", "cleaned"):
            left[member["email_address"].lower()] = (member["status"], _at(member["last_changed"]))
    actions = _actions(base)
    assert {a["action"] for a in actions} == {"open", "click", "bounce"}
    for action in actions:
        if action["email"] in left:
            assert _at(action["timestamp"]) <= left[action["email"]][1], action
    for email, (status, at) in left.items():
        if status == "cleaned":
            assert any(a["email"] == email and a["type"] == "hard" and _at(a["timestamp"]) == at for a in actions)


def test_an_increment_redelivers_changed_members_and_writes_only_its_window(base: Path, tmp_path: Path) -> None:
    out = tmp_path / "landing"
    shutil.copytree(base, out)
    generate(GeneratorConfig(seed=5, increment=1, as_of=AS_OF + timedelta(days=7)), out)
    new = [json.loads(line) for p in (out / "mailchimp/members").glob("*-b0001-*.jsonl") for line in p.open()]
    before = {m["id"] for m in _members(base)}
    assert any(m["id"] in before and m["status"] == "unsubscribed" for m in new)
    assert all(AS_OF < _at(m["last_changed"]) <= AS_OF + timedelta(days=7) for m in new)
    pages = [json.loads(p.read_text()) for p in (out / "mailchimp/email_activity").glob("*-b0001-*.json")]
    stamps = [_at(a["timestamp"]) for page in pages for e in page["emails"] for a in e["activity"]]
    assert stamps and all(AS_OF < t <= AS_OF + timedelta(days=7) for t in stamps)


def test_the_mailchimp_source_loads_the_generated_files_without_quarantine(base: Path, settings: Settings) -> None:
    shutil.copytree(base / "mailchimp", settings.landing_dir / "mailchimp")
    summary = load(["mailchimp"], settings)
    assert summary.rows_quarantined == 0
    assert summary.table("mailchimp", "email_activity").loaded == len(_actions(base))
    [(members,)] = rows(settings, "SELECT count(*) FROM raw_mailchimp.members")
    assert members == len({m["id"] for m in _members(base)})
