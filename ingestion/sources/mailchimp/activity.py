"""Campaign email activity (`GET /3.0/reports/{campaign_id}/email-activity`), one record per action.

The API answers per campaign `{"emails": [{"campaign_id", "list_id", "email_id", "email_address",
"activity": [{"action": "open" | "click" | "bounce", "type", "timestamp", "url", "ip"}]}], "campaign_id",
"total_items"}`. An action has no id of its own, and a later call with `since` returns only the newer actions of
a member, so replacing a member's list per load would lose the older ones. Each action therefore becomes its own
record: the email record without its list, the one action under `activity`, and an `id` derived from what
identifies the action (campaign, member, action, time, url). A page read twice, or a landing file saved twice,
gives the same ids: the reader keeps the first delivery and the warehouse never holds an action twice.

Both transports go through `unnest_actions`: the landing reader as the `envelope_records` of an API response
saved as a `.json` file, the API reader on every page it fetches.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

ACTIONS_KEY = "activity"
IDENTIFYING = ("campaign_id", "email_id", "action", "timestamp", "url")
"""What tells two actions apart: Mailchimp records a click per url, an open per time."""


def action_id(record: dict[str, Any]) -> str:
    """A stable id of one unnested action record: a digest of `IDENTIFYING` (missing parts as null)."""
    action = record.get(ACTIONS_KEY) or {}
    parts = [record.get("campaign_id"), record.get("email_id"), *(action.get(k) for k in IDENTIFYING[2:])]
    text = json.dumps(parts, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.blake2b(text.encode("utf-8", errors="surrogatepass"), digest_size=16).hexdigest()


def unnest_actions(envelope: dict[str, Any], emails: list[Any]) -> list[Any]:
    """One record per action of every email record; the email's campaign_id, else the envelope's.

    An email record with no action (sent, nothing happened yet) gives no record. Items that are not objects,
    and activity that is not a list of objects, are passed on as they are for the reader to quarantine.
    """
    records: list[Any] = []
    for email in emails:
        actions = email.get(ACTIONS_KEY) if isinstance(email, dict) else None
        if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
            records.append(email)
            continue
        member = {key: value for key, value in email.items() if key != ACTIONS_KEY}
        if member.get("campaign_id") is None and envelope.get("campaign_id") is not None:
            member["campaign_id"] = envelope["campaign_id"]
        for action in actions:
            record = {**member, ACTIONS_KEY: action}
            record["id"] = action_id(record)
            records.append(record)
    return records
