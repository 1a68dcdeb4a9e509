"""A Segment HTTP API batch body (`POST /v1/batch`): what each of its messages inherits from the batch.

A batch body is `{"batch": [...], "context": {...}, "integrations": {...}, "sentAt": "..."}`: the batch-level
fields belong to every message. Such a body reaches the warehouse two ways, and both read it here, so that a
message means the same whichever way it came:

- the collector receives it over HTTP (collector/messages.py refuses a batch whose context or
  integrations is not an object, with a 400, and stamps each message it stores);
- a body saved as a landing `.json` file (a client's outbox, an export of requests) is unwrapped by the landing
  reader with `batch_messages`, the `envelope_records` of `ingestion.sources.analytics.EVENTS`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

BATCH_DEFAULTS = ("context", "integrations", "sentAt")
"""The batch-level fields a message inherits (Segment's HTTP API reference)."""
OBJECT_DEFAULTS = ("context", "integrations")
"""Batch-level fields that must be JSON objects to be inherited."""
NOT_CONTENT = ("sentAt", "receivedAt")
"""Fields that change when the same message is sent again (a retry re-stamps them): not part of its content."""
DERIVED_ID_PREFIX = "content-"
"""Prefix of the messageId the loader derives for a batch message saved without one."""


def batch_defaults(body: dict[str, Any]) -> dict[str, Any]:
    """The batch-level fields of `body` its messages inherit: those present and not null."""
    return {key: body[key] for key in BATCH_DEFAULTS if body.get(key) is not None}


def unusable_defaults(defaults: dict[str, Any]) -> str | None:
    """Why the batch-level fields cannot be given to the messages (a context that is not an object), or None."""
    for key in OBJECT_DEFAULTS:
        if key in defaults and not isinstance(defaults[key], dict):
            return f"the batch's {key} must be a JSON object"
    return None


def inherit_batch_defaults(message: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """`message` with the batch's fields, as Segment applies them: the batch's context under the message's own
    (a key the message sets wins; an object merged one level deep), integrations and sentAt where the message
    has none. The message is not changed; a message context that is not an object is left as it is."""
    inherited = dict(message)
    for key, value in defaults.items():
        if key == "context":
            own = inherited.get("context")
            if own is None or isinstance(own, dict):
                inherited["context"] = {**value, **(own or {})}
        elif inherited.get(key) is None:
            inherited[key] = value
    return inherited


def content_digest(message: dict[str, Any]) -> str:
    """A digest of what `message` says, without the fields a retry changes (`NOT_CONTENT`), key order ignored."""
    content = {key: value for key, value in message.items() if key not in NOT_CONTENT}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8", errors="surrogatepass"), digest_size=16).hexdigest()


def batch_messages(body: dict[str, Any], messages: list[Any]) -> list[Any]:
    """The messages of a batch body saved as a landing file, each with the batch's fields, ready to load.

    A message without `messageId` gets `content-<digest of its content>`: the collector would give it a random
    id, but a landing file may be read again (replaced, or saved twice), and a derived id makes that harmless.
    Two messages of identical content (sentAt aside) are then one message, as a retry would be. Items that are
    not objects are left for the reader to quarantine. Raises ValueError when the batch's fields cannot be
    given to the messages: the reader quarantines the body with that reason, as the collector answers 400.
    """
    defaults = batch_defaults(body)
    refused = unusable_defaults(defaults)
    if refused is not None:
        raise ValueError(refused)
    read = []
    for message in messages:
        if isinstance(message, dict):
            message = inherit_batch_defaults(message, defaults)
            if message.get("messageId") is None:
                message["messageId"] = DERIVED_ID_PREFIX + content_digest(message)
        read.append(message)
    return read
