"""Mailchimp's audience webhooks, received beside the Segment endpoints of the collector.

Mailchimp posts `application/x-www-form-urlencoded` bodies, one event each, with PHP-style bracketed keys:
`type=unsubscribe&fired_at=2026-11-02+10:00:00&data[id]=<subscriber hash>&data[email]=...&data[list_id]=...
&data[reason]=manual&data[merges][FNAME]=...` (types: `subscribe`, `unsubscribe`, `profile`, `upemail` with
`data[old_email]`/`data[new_email]`, `cleaned` with `data[reason]` hard|abuse, `campaign`). `fired_at` is
`Y-m-d H:i:s` in UTC. When a webhook URL is saved, Mailchimp checks it with a GET (older accounts: an empty
POST), which must answer 2xx.

The guarantees are the Segment endpoints':
- auth by secret: Mailchimp signs nothing, so the URL carries a secret (`POST /mailchimp/webhook?secret=...`,
  $MAILCHIMP_WEBHOOK_SECRET), compared in constant time before the body is read; a wrong one is a 401;
- durable: `200` only once the event is fsynced to `<landing>/mailchimp/webhook_events/` (collector/writer.py);
- exactly once: an event carries no id, and Mailchimp retries one that was not answered 2xx, so each event gets
  an `id` derived from its content (type, fired_at, data): the retry has the same id and the loader keeps the
  first delivery (ingestion/sources/mailchimp/webhooks.py);
- quarantine: a body that is not a webhook at all (not form-encoded text, no `type`) is refused with a 400; a
  webhook whose values the loader cannot type (a `fired_at` that is no time) is stored and quarantined there
  with the reason, so nothing Mailchimp sent is lost without a trace.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from collector.handler import CollectorHandler, _now_iso
from collector.head import _content_length
from collector.messages import Rejection
from collector.writer import EventWriter, WriterClosed, repair_torn_tails
from core.files import make_private
from ingestion.sources.mailchimp.webhooks import webhook_id

if TYPE_CHECKING:
    from collector.limits import CollectorLimits
    from collector.server import CollectorServer

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/mailchimp/webhook"
EVENTS_SUBDIR = Path("mailchimp") / "webhook_events"
TORN_SUBDIR = Path("mailchimp") / "webhook_events_torn"
FORM_TYPE = "application/x-www-form-urlencoded"
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_MAX_DEPTH = 8


@dataclass
class MailchimpWebhook:
    """What the collector needs to take Mailchimp's webhooks: their secret and their own writer."""

    secret: str
    writer: EventWriter

    def authorized(self, path: str) -> bool:
        offered = parse_qs(urlsplit(path).query).get("secret", [""])[0]
        return hmac.compare_digest(offered.encode(), self.secret.encode())


def attach_webhook(server: CollectorServer, landing_dir: Path, secret: str, limits: CollectorLimits) -> None:
    """Serve Mailchimp's webhooks on `server` too, writing to `<landing>/mailchimp/webhook_events/`."""
    if not secret.strip():
        raise ValueError("an empty Mailchimp webhook secret would accept anyone's events")
    events_dir = landing_dir / EVENTS_SUBDIR
    events_dir.mkdir(parents=True, exist_ok=True)
    make_private(*events_dir.glob("events-*.jsonl"))
    repair_torn_tails(events_dir, landing_dir / TORN_SUBDIR)
    writer = EventWriter(
        events_dir, max_file_bytes=limits.max_file_bytes, max_file_age_seconds=limits.max_file_age_seconds
    )
    server.mailchimp = MailchimpWebhook(secret.strip(), writer)
    server.extra_writers.append(writer)
    server.RequestHandlerClass = WebhookHandler


def parse_form(body: bytes) -> dict[str, Any]:
    """A form body as nested objects: `data[merges][FNAME]=Ada` -> `{"data": {"merges": {"FNAME": "Ada"}}}`.

    Raises Rejection (400) for a body that is not UTF-8 form text or whose keys cannot nest (`a=1&a[b]=2`).
    """
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Rejection(400, "invalid_form", f"the body is not form-encoded UTF-8 text: {exc}") from exc
    fields: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if not match:
            raise Rejection(400, "invalid_form", f"field name {key[:100]!r} is not name[sub][...]")
        path = [match[1], *re.findall(r"\[([^\[\]]*)\]", match[2])]
        if len(path) > _MAX_DEPTH:
            raise Rejection(400, "invalid_form", f"field {key[:100]!r} nests deeper than {_MAX_DEPTH}")
        node = fields
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise Rejection(400, "invalid_form", f"field {key[:100]!r} nests under a value")
        if isinstance(node.get(path[-1]), dict):
            raise Rejection(400, "invalid_form", f"field {key[:100]!r} is both a value and an object")
        node[path[-1]] = value
    return fields


def webhook_record(fields: dict[str, Any], received_at: str) -> dict[str, Any]:
    """The line stored for one webhook: its fields, its derived `id`, and when the collector received it."""
    if not isinstance(fields.get("type"), str) or not fields["type"]:
        raise Rejection(400, "invalid_webhook", "a Mailchimp webhook carries a type")
    record = {"id": webhook_id(fields), **fields, "received_at": received_at}
    return record


class WebhookHandler(CollectorHandler):
    """The collector's handler, with Mailchimp's webhook path beside the Segment ones."""

    def parse_request(self) -> bool:
        """Mailchimp's URL check (a GET of the webhook URL) is answered here; everything else as before."""
        if not super().parse_request():
            return False
        if self.command in ("GET", "HEAD") and urlsplit(self.path).path.rstrip("/") == WEBHOOK_PATH:
            self.close_connection = True
            if self.server.mailchimp.authorized(self.path):
                self._reply(200, {"success": True})
            else:
                self._reply(401, {"success": False, "code": "unauthorized", "message": "invalid webhook secret"})
            return False
        return True

    def do_POST(self) -> None:
        if urlsplit(self.path).path.rstrip("/") != WEBHOOK_PATH:
            super().do_POST()
            return
        webhook: MailchimpWebhook = self.server.mailchimp
        if not webhook.authorized(self.path):
            self._refuse_before_body(Rejection(401, "unauthorized", "invalid webhook secret"))
            return
        try:
            length = _content_length(self.headers, self.server.limits.max_request_bytes)
            body = self._read_body(length)
            if not body.strip():  # Mailchimp's URL check on older accounts: an empty POST
                self._reply(200, {"success": True})
                return
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if content_type != FORM_TYPE:
                raise Rejection(415, "unsupported_media_type", f"Mailchimp webhooks are {FORM_TYPE}")
            record = webhook_record(parse_form(body), _now_iso())
        except Rejection as rejection:
            log.info("rejected Mailchimp webhook: %s", rejection)
            self._reply(rejection.status, rejection.body())
            return
        line = json.dumps(record, ensure_ascii=False).encode() + b"\n"
        try:
            webhook.writer.append(line)
        except WriterClosed:
            self._reply(503, {"success": False, "code": "shutting_down", "message": "collector is stopping"})
            return
        except OSError:
            log.exception("could not write a Mailchimp webhook")
            self._reply(503, {"success": False, "code": "storage_error", "message": "event not stored"})
            return
        self._reply(200, {"success": True}, 1)
