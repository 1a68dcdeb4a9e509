"""Turning a Segment HTTP Tracking API request body into validated Segment Spec messages, or a clear refusal.

A request is accepted whole or refused whole: a client that gets a 400 can fix the batch and resend it
without duplicating the half that would otherwise have been kept. What a message must carry follows the
Segment Spec: a known `type`, a `messageId` (assigned when absent), a `userId` or `anonymousId`, a parseable
`timestamp` (the receive time when absent), an `event` name for track, a `groupId` for group, and a
`previousId` for alias. Ids are stored as text so the loader sees one type per column.
"""

from __future__ import annotations

import json
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
BATCH_PATHS = ("/v1/batch", "/v1/import")
SINGLE_PATHS = {f"/v1/{kind}": kind for kind in MESSAGE_TYPES}
_OBJECT_FIELDS = ("context", "properties", "traits", "integrations")
_ERRORS_IN_MESSAGE = 3


@dataclass
class Rejection(Exception):
    """Why a request is refused: HTTP status, a machine `code` and a `message` naming the bad message(s).

    `code` and `message` are the fields the official Segment clients read from an error response.
    """

    status: int
    code: str
    message: str
    errors: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"success": False, "code": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


def decode_body(raw: bytes, content_encoding: str | None, max_bytes: int) -> Any:
    """The JSON document in a request body, gunzipped if need be (never to more than `max_bytes`)."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        raw = _gunzip(raw, max_bytes)
    elif encoding != "identity":
        raise Rejection(415, "unsupported_encoding", f"Content-Encoding {encoding!r}: only gzip is accepted")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Rejection(400, "invalid_json", f"body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # a nesting bomb: Python's parser recurses once per level
        raise Rejection(400, "invalid_json", "body is not valid JSON: nested too deeply") from exc


def _gunzip(raw: bytes, max_bytes: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, max_bytes + 1)
    except zlib.error as exc:
        raise Rejection(400, "invalid_gzip", f"body is not valid gzip: {exc}") from exc
    if len(data) > max_bytes:
        raise Rejection(413, "body_too_large", f"body is larger than {max_bytes:,} bytes once decompressed")
    if not inflater.eof:
        raise Rejection(400, "invalid_gzip", "body is not valid gzip: the stream is truncated")
    return data


def accept_messages(
    path: str, document: Any, *, received_at: str, max_message_bytes: int
) -> list[dict[str, Any]]:
    """The request's messages, validated and stamped; raises Rejection naming every bad one."""
    raw_messages, defaults = _split(path, document)
    accepted: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_messages):
        label = f"batch[{index}]" if path in BATCH_PATHS else "message"
        try:
            accepted.append(_normalize(raw, defaults, received_at, max_message_bytes, label))
        except Rejection as rejection:
            message_id = raw.get("messageId") if isinstance(raw, dict) else None
            errors.append(
                {
                    "index": index,
                    "messageId": message_id,
                    "status": rejection.status,
                    "reason": rejection.message,
                }
            )
    if errors:
        status = 413 if any(e["status"] == 413 for e in errors) else 400
        summary = "; ".join(e["reason"] for e in errors[:_ERRORS_IN_MESSAGE])
        more = f" (and {len(errors) - _ERRORS_IN_MESSAGE} more)" if len(errors) > _ERRORS_IN_MESSAGE else ""
        code = "message_too_large" if status == 413 else "invalid_message"
        raise Rejection(
            status, code, f"{len(errors)} of {len(raw_messages)} rejected: {summary}{more}", errors
        )
    return accepted


def _split(path: str, document: Any) -> tuple[list[Any], dict[str, Any]]:
    """The raw messages of a request, and the batch-level fields each message inherits."""
    if not isinstance(document, dict):
        raise Rejection(400, "invalid_request", f"body must be a JSON object, got {type(document).__name__}")
    if path in BATCH_PATHS:
        batch = document.get("batch")
        if not isinstance(batch, list):
            raise Rejection(400, "invalid_request", "a batch body needs a 'batch' list of messages")
        defaults = {k: document[k] for k in ("context", "integrations", "sentAt") if k in document}
        return batch, defaults
    kind = SINGLE_PATHS[path]
    if document.get("type", kind) != kind:
        raise Rejection(400, "invalid_message", f"message type {document.get('type')!r} sent to {path}")
    return [{**document, "type": kind}], {}


def _normalize(
    raw: Any, defaults: dict[str, Any], received_at: str, max_message_bytes: int, label: str
) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Rejection(400, "invalid_message", f"{label} is not a JSON object")
    message = {k: v for k, v in raw.items() if k != "writeKey"}  # a secret: never written to disk
    label = f"{label} (messageId {message.get('messageId')!r})" if message.get("messageId") else label
    _require_valid_fields(message, label)
    for key, value in defaults.items():
        if key == "context" and isinstance(value, dict):
            message["context"] = {**value, **(message.get("context") or {})}
        else:
            message.setdefault(key, value)
    message["messageId"] = str(message.get("messageId") or uuid.uuid4())
    for key in ("userId", "anonymousId", "groupId", "previousId"):
        if message.get(key) is not None:
            message[key] = str(message[key])
    message.setdefault("timestamp", received_at)
    if message["timestamp"] is None:
        message["timestamp"] = received_at
    message["receivedAt"] = received_at
    size = len(json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode())
    if size > max_message_bytes:
        raise Rejection(413, "message_too_large", f"{label} is {size:,} bytes, over {max_message_bytes:,}")
    return message


def _require_valid_fields(message: dict[str, Any], label: str) -> None:
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        raise _invalid(f"{label} has type {kind!r}; expected one of {', '.join(MESSAGE_TYPES)}")
    message_id = message.get("messageId")
    if message_id is not None and not _is_id(message_id):
        raise _invalid(f"{label} has a messageId that is not a string or number")
    if not (_is_id(message.get("userId")) or _is_id(message.get("anonymousId"))):
        raise _invalid(f"{label} needs a non-empty userId or anonymousId")
    if kind == "track" and not (isinstance(message.get("event"), str) and message["event"].strip()):
        raise _invalid(f"{label}: a track message needs a non-empty 'event' name")
    if kind == "group" and not _is_id(message.get("groupId")):
        raise _invalid(f"{label}: a group message needs a groupId")
    if kind == "alias" and not _is_id(message.get("previousId")):
        raise _invalid(f"{label}: an alias message needs a previousId")
    for key in ("timestamp", "sentAt", "originalTimestamp"):
        if message.get(key) is not None and not _is_timestamp(message[key]):
            raise _invalid(f"{label}: {key} {message[key]!r} is not an ISO-8601 timestamp")
    for key in _OBJECT_FIELDS:
        if message.get(key) is not None and not isinstance(message[key], dict):
            raise _invalid(f"{label}: {key} must be a JSON object")


def _invalid(message: str) -> Rejection:
    return Rejection(400, "invalid_message", message)


def _is_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return (isinstance(value, str) and bool(value.strip())) or isinstance(value, int | float)


def _is_timestamp(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
