"""The collector's limits: sizes, file rotation, timeouts and connections, all positive."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CollectorLimits:
    """Size, rotation, time and connection limits; the size defaults are Segment's (500 KB a batch, 32 KB a message)."""

    max_request_bytes: int = 500 * 1024
    max_message_bytes: int = 32 * 1024
    max_file_bytes: int = 64 * 1024 * 1024
    max_file_age_seconds: float = 300.0
    idle_timeout_seconds: float = 15.0
    """How long a connection may stay silent before a request (or between two); then it is closed unanswered."""
    request_timeout_seconds: float = 30.0
    """How long a request may take from its first byte to its body's last; then it is answered 408."""
    max_connections: int = 64
    """Connections served at once (a thread each); more wait in the listen backlog until one ends."""
    listen_backlog: int = 128
    """Connections the kernel holds while every slot is busy (capped by the kernel's `somaxconn`)."""
    remembered_message_ids: int = 100_000
    """Recent client message ids kept to tell a retry from a reused id with other content (message_ids.py)."""

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value <= 0:
                raise ValueError(f"collector limit {name} must be positive, got {value}")
