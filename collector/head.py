"""Judging a request by its head, before a byte of its body is read: path, Basic auth, Content-Length.

A request refused here is answered at once, so a client about to send a large or unwanted body learns why
without sending it (and, with `Expect: 100-continue`, never sends it).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

from collector.messages import BATCH_PATHS, SINGLE_PATHS, Rejection

ROUTES = frozenset(BATCH_PATHS) | frozenset(SINGLE_PATHS)


@dataclass(frozen=True)
class Head:
    """What the head of an accepted request decided."""

    route: str
    authorized: bool
    """True when Basic auth carries the write key; False when there is none (the body may carry the key)."""
    length: int
    """The body's Content-Length, within the request size limit."""


def judge_head(path: str, headers: Message, write_key: str, max_request_bytes: int) -> Head:
    """The route, the Basic auth and the body's length, checked in that order; raises the first Rejection."""
    route = urlsplit(path).path.rstrip("/")
    if route not in ROUTES:
        raise Rejection(404, "not_found", f"no endpoint {route}; use {', '.join(sorted(ROUTES))}")
    authorized = _check_basic_auth(headers.get("Authorization"), write_key)
    return Head(route, authorized, _content_length(headers, max_request_bytes))


def check_body_write_key(document: Any, write_key: str) -> None:
    """A request without Basic auth must carry the write key as `writeKey` in its body."""
    key = document.get("writeKey") if isinstance(document, dict) else None
    if not isinstance(key, str) or not _same_key(key, write_key):
        raise _unauthorized("missing or invalid write key")


def _check_basic_auth(header: str | None, write_key: str) -> bool:
    if header is None:
        return False
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "basic":
        raise _unauthorized("only HTTP basic auth with the write key as user name is accepted")
    try:
        user = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _unauthorized("malformed basic auth credentials") from exc
    if not _same_key(user, write_key):
        raise _unauthorized("invalid write key")
    return True


def _content_length(headers: Message, limit: int) -> int:
    if headers.get("Transfer-Encoding", "identity").strip().lower() != "identity":
        raise Rejection(411, "length_required", "chunked bodies are not accepted: send a Content-Length")
    length_header = headers.get("Content-Length")
    if length_header is None:
        raise Rejection(411, "length_required", "a Content-Length header is required")
    try:
        length = int(length_header)
        if length < 0:  # int() takes "-5"; reading a negative length would fail the handler
            raise ValueError(length_header)
    except ValueError as exc:
        raise Rejection(
            400, "invalid_request", f"Content-Length {length_header!r} is not a number of bytes"
        ) from exc
    if length > limit:
        raise Rejection(413, "body_too_large", f"body is {length:,} bytes, over the {limit:,} limit")
    return length


def _same_key(offered: str, write_key: str) -> bool:
    # surrogatepass: a lone surrogate in a JSON writeKey is a wrong key, not an encoding error
    return hmac.compare_digest(offered.encode("utf-8", "surrogatepass"), write_key.encode("utf-8", "surrogatepass"))


def _unauthorized(message: str) -> Rejection:
    return Rejection(401, "unauthorized", message)
