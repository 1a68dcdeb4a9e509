"""Turning a Segment HTTP Tracking API request body into validated Segment Spec messages, or a clear refusal.

What a message must carry follows the Segment Spec: a known `type`, a `messageId` (assigned when absent), a
`userId` or `anonymousId`, an `event` name for track, a `groupId` for group, a `previousId` for alias, and
timestamps (`timestamp`, the receive time when absent; `sentAt`, also the batch's; `originalTimestamp`) that the
loader can cast: the check is the loader's own SQL (contract.py), on the message as it will be written.
Ids are stored as text so the loader sees one type per column.

A batch with some bad messages: Segment answers 200 and drops the bad ones where only its debugger shows them.
Here the good ones are stored, and the answer is a 400 that names every bad message
(`errors`: index, messageId, field, reason) and says how many were `stored`, so the client is told and can fix
and resend the bad ones; resending the whole batch is harmless for messages with a `messageId` (the loader keeps
one delivery per id). A request whose body cannot be read at all (not JSON, not a batch) is refused whole.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

from collector.contract import LoaderContract
from ingestion.sources.analytics.batch import batch_defaults, inherit_batch_defaults, unusable_defaults

MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
BATCH_PATHS = ("/v1/batch", "/v1/import")
SINGLE_PATHS = {f"/v1/{kind}": kind for kind in MESSAGE_TYPES}
_OBJECT_FIELDS = ("context", "properties", "traits", "integrations")
_NOT_IN_DIGEST = ("sentAt",)
"""A retry re-stamps `sentAt`; without it, a retry has the content of the first delivery."""
_ERRORS_IN_MESSAGE = 3


@dataclass
class Rejection(Exception):
    """Why a request (or one of its messages) is refused: HTTP status, a machine `code` and a `message`.

    `code` and `message` are the fields the official Segment clients read from an error response; `errors`
    lists the bad messages of a batch, `field_name` the message field at fault, `details` more of the answer.
    """

    status: int
    code: str
    message: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    field_name: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"success": False, "code": self.code, "message": self.message, **self.details}
        if self.errors:
            body["errors"] = self.errors
        return body


@dataclass(frozen=True)
class AcceptedMessage:
    """A message ready to be written: its line, its id, and the digest of its content when the client named it."""

    index: int
    message_id: str
    line: bytes
    digest: bytes | None
    """None when the collector assigned the id: such a message cannot collide with another."""


@dataclass
class Batch:
    """A request's messages: those to write, and the refused ones with their reasons."""

    total: int
    accepted: list[AcceptedMessage]
    errors: list[dict[str, Any]]

    @property
    def lines(self) -> bytes:
        return b"".join(message.line for message in self.accepted)

    def rejection(self, stored: int, details: dict[str, Any] | None = None) -> Rejection | None:
        """The answer for the refused messages once `stored` others are on disk; None when none was refused."""
        if not self.errors:
            return None
        errors = self.errors
        status = 413 if any(e["status"] == 413 for e in errors) else 400
        summary = "; ".join(e["reason"] for e in errors[:_ERRORS_IN_MESSAGE])
        more = f" (and {len(errors) - _ERRORS_IN_MESSAGE} more)" if len(errors) > _ERRORS_IN_MESSAGE else ""
        code = "message_too_large" if status == 413 else "invalid_message"
        message = f"{len(errors)} of {self.total} messages rejected, {stored} stored: {summary}{more}"
        return Rejection(status, code, message, errors, details={"stored": stored, **(details or {})})


def decode_body(raw: bytes, content_encoding: str | None, max_bytes: int) -> Any:
    """The JSON document in a request body, gunzipped if need be (never to more than `max_bytes`).

    Refuses what Python's parser would take but JSON cannot carry on: NaN and Infinity (not JSON) and numbers
    past a 64-bit float (they would be written as `Infinity`), and integers longer than Python converts.
    """
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        raw = _gunzip(raw, max_bytes)
    elif encoding != "identity":
        raise Rejection(415, "unsupported_encoding", f"Content-Encoding {encoding!r}: only gzip is accepted")
    try:
        return json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _not_json(str(exc)) from exc
    except RecursionError as exc:  # a nesting bomb: Python's parser recurses once per level
        raise _not_json("nested too deeply") from exc
    except ValueError as exc:  # int() past sys.get_int_max_str_digits(): the only other ValueError of loads
        raise _not_json(f"a number has more digits than the collector reads ({exc})") from exc


def _not_json(reason: str) -> Rejection:
    return Rejection(400, "invalid_json", f"body is not valid JSON: {reason}")


def _refuse_constant(name: str) -> Any:
    raise _not_json(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise _not_json(f"the number {text[:40]} is beyond a 64-bit float")
    return number


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
    path: str, document: Any, *, received_at: str, max_message_bytes: int, contract: LoaderContract
) -> Batch:
    """The request's messages, validated, stamped and serialized, and the bad ones with their reasons.

    Raises Rejection only when the request as a whole is unreadable (not an object, no batch list).
    """
    raw_messages, defaults = _split(path, document)
    label_of = (lambda i: f"batch[{i}]") if path in BATCH_PATHS else (lambda i: "message")
    candidates: list[tuple[AcceptedMessage, dict[str, Any], str]] = []
    errors: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_messages):
        label = _label(label_of(index), raw)
        try:
            message, digest = _normalize(raw, defaults, received_at, label)
            line = _serialize(message, label, max_message_bytes)
        except Rejection as rejection:
            errors.append(_error(index, raw, rejection.status, rejection.field_name, rejection.message))
            continue
        candidates.append((AcceptedMessage(index, message["messageId"], line, digest), message, label))
    misfits = contract.misfits([message for _, message, _ in candidates])
    accepted_messages = []
    for (accepted, _, label), found in zip(candidates, misfits, strict=True):
        if found:
            reason = f"{label}: " + "; ".join(misfit.reason for misfit in found)
            errors.append(_error(accepted.index, raw_messages[accepted.index], 400, found[0].field, reason))
        else:
            accepted_messages.append(accepted)
    errors.sort(key=lambda error: error["index"])
    return Batch(total=len(raw_messages), accepted=accepted_messages, errors=errors)


def _label(label: str, raw: Any) -> str:
    message_id = raw.get("messageId") if isinstance(raw, dict) else None
    return f"{label} (messageId {message_id!r})" if message_id else label


def _error(index: int, raw: Any, status: int, field_name: str | None, reason: str) -> dict[str, Any]:
    message_id = raw.get("messageId") if isinstance(raw, dict) else None
    return {"index": index, "messageId": message_id, "status": status, "field": field_name, "reason": reason}


def _split(path: str, document: Any) -> tuple[list[Any], dict[str, Any]]:
    """The raw messages of a request, and the batch-level fields each message inherits."""
    if not isinstance(document, dict):
        raise Rejection(400, "invalid_request", f"body must be a JSON object, got {type(document).__name__}")
    if path in BATCH_PATHS:
        batch = document.get("batch")
        if not isinstance(batch, list):
            raise Rejection(400, "invalid_request", "a batch body needs a 'batch' list of messages")
        defaults = batch_defaults(document)  # shared with the landing reader: ingestion/sources/analytics/batch.py
        if (refused := unusable_defaults(defaults)) is not None:
            raise Rejection(400, "invalid_request", refused)
        return batch, defaults
    kind = SINGLE_PATHS[path]
    if document.get("type", kind) != kind:
        raise Rejection(400, "invalid_message", f"message type {document.get('type')!r} sent to {path}")
    return [{**document, "type": kind}], {}


def _normalize(
    raw: Any, defaults: dict[str, Any], received_at: str, label: str
) -> tuple[dict[str, Any], bytes | None]:
    """The message as it will be stored, and the digest of the client's content when the client named it."""
    if not isinstance(raw, dict):
        raise _invalid(f"{label} is not a JSON object")
    message = {k: v for k, v in raw.items() if k != "writeKey"}  # a secret: never written to disk
    _require_valid_fields(message, label)
    digest = _digest(message) if message.get("messageId") is not None else None
    message = inherit_batch_defaults(message, defaults)
    message["messageId"] = str(message.get("messageId") or uuid.uuid4())
    for key in ("userId", "anonymousId", "groupId", "previousId"):
        if message.get(key) is not None:
            message[key] = str(message[key])
    if message.get("timestamp") is None:
        message["timestamp"] = received_at
    message["receivedAt"] = received_at
    return message, digest


def _serialize(message: dict[str, Any], label: str, max_message_bytes: int) -> bytes:
    """The message's JSON line (with the newline); refuses lone surrogates and oversize messages."""
    text = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
    try:
        line = text.encode() + b"\n"
    except UnicodeEncodeError as exc:  # "\ud800" in the body: a lone surrogate, which no UTF-8 file can hold
        where = next((k for k, v in message.items() if not _encodes(json.dumps({k: v}, ensure_ascii=False))), None)
        surrogate = f"U+{ord(exc.object[exc.start]):04X}"
        raise _invalid(
            f"{label}: a string holds a lone surrogate ({surrogate}), which is not Unicode text", where
        ) from exc
    size = len(line) - 1
    if size > max_message_bytes:
        raise Rejection(413, "message_too_large", f"{label} is {size:,} bytes, over {max_message_bytes:,}")
    return line


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _digest(message: dict[str, Any]) -> bytes:
    content = {k: v for k, v in message.items() if k not in _NOT_IN_DIGEST}
    return hashlib.blake2b(json.dumps(content, sort_keys=True).encode(), digest_size=16).digest()


def _require_valid_fields(message: dict[str, Any], label: str) -> None:
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        raise _invalid(f"{label} has type {kind!r}; expected one of {', '.join(MESSAGE_TYPES)}", "type")
    message_id = message.get("messageId")
    if message_id is not None and not _is_id(message_id):
        raise _invalid(f"{label} has a messageId that is not a string or number", "messageId")
    if not (_is_id(message.get("userId")) or _is_id(message.get("anonymousId"))):
        raise _invalid(f"{label} needs a non-empty userId or anonymousId", "anonymousId")
    if kind == "track" and not (isinstance(message.get("event"), str) and message["event"].strip()):
        raise _invalid(f"{label}: a track message needs a non-empty 'event' name", "event")
    if kind == "group" and not _is_id(message.get("groupId")):
        raise _invalid(f"{label}: a group message needs a groupId", "groupId")
    if kind == "alias" and not _is_id(message.get("previousId")):
        raise _invalid(f"{label}: an alias message needs a previousId", "previousId")
    for key in _OBJECT_FIELDS:
        if message.get(key) is not None and not isinstance(message[key], dict):
            raise _invalid(f"{label}: {key} must be a JSON object", key)


def _invalid(message: str, field_name: str | None = None) -> Rejection:
    return Rejection(400, "invalid_message", message, field_name=field_name)


def _is_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return (isinstance(value, str) and bool(value.strip())) or isinstance(value, int | float)
