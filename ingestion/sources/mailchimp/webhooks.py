"""Mailchimp's audience webhooks as the collector stores them (collector/mailchimp_webhook.py), one JSON line
each: `{"id", "type", "fired_at", "data": {...}, "received_at"}`, the form fields nested as Mailchimp names
them (`data[merges][FNAME]` -> `data.merges.FNAME`).

A webhook has no id of its own and Mailchimp retries one it got no 2xx for: `webhook_id` derives one from what
the event says (everything but `received_at`, which the collector stamps per delivery), so a retry is the same
event and the loader keeps its first delivery only.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ingestion.spec import Column, ColumnType, TableSpec

T, BIGINT, TS, JSON = ColumnType.TEXT, ColumnType.BIGINT, ColumnType.TIMESTAMP, ColumnType.JSON
DELIVERY_FIELDS = ("id", "received_at")
"""Fields the collector adds per delivery: not what the event says."""

WEBHOOK_EVENTS = TableSpec(
    table="webhook_events",
    primary_key="id",
    delivery_columns=("received_at",),
    columns=(
        Column("id", "/id"),
        Column("type", "/type"),
        Column("fired_at", "/fired_at", TS),  # `Y-m-d H:i:s`, UTC
        Column("data__id", "/data/id"),  # the subscriber hash (upemail: the old one)
        Column("data__new_id", "/data/new_id"),
        Column("data__list_id", "/data/list_id"),
        Column("data__email", "/data/email"),
        Column("data__old_email", "/data/old_email"),
        Column("data__new_email", "/data/new_email"),
        Column("data__email_type", "/data/email_type"),
        Column("data__action", "/data/action"),  # unsubscribe: unsub or delete
        Column("data__reason", "/data/reason"),  # unsubscribe: manual or abuse; cleaned: hard or abuse
        Column("data__campaign_id", "/data/campaign_id"),
        Column("data__web_id", "/data/web_id", BIGINT),
        Column("data__ip_opt", "/data/ip_opt"),
        Column("data__ip_signup", "/data/ip_signup"),
        Column("data__merges", "/data/merges", JSON),
        Column("received_at", "/received_at", TS),
    ),
)


def webhook_id(event: dict[str, Any]) -> str:
    """`mc-` and a digest of the event's content (key order ignored, delivery fields left out)."""
    content = {key: value for key, value in event.items() if key not in DELIVERY_FIELDS}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "mc-" + hashlib.blake2b(text.encode("utf-8", errors="surrogatepass"), digest_size=16).hexdigest()
