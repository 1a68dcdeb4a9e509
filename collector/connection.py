"""A connection's defences against slow and hostile clients: reads under a deadline, and lingering after a refusal.

A connection silent for the idle timeout is closed; once a request's first byte has arrived, every read gets only
the time the request has left, so a body trickled in a byte at a time still ends at its deadline.
"""

from __future__ import annotations

import socket
import time
from typing import Any

READ_BUFFER = 64 * 1024
LINGER_SECONDS = 2.0
"""How long a refused body is read and dropped after the answer, so the client can read the answer."""


class TimedReads(socket.SocketIO):
    """A connection's reads, each given the idle timeout, or once a request began only the time it has left."""

    def __init__(self, connection: socket.socket, idle_timeout: float) -> None:
        super().__init__(connection, "rb")
        self._connection = connection
        self.idle_timeout = idle_timeout
        self.deadline: float | None = None
        """When the request being read must be complete (time.monotonic()); None between requests."""

    def readinto(self, buffer: Any) -> int | None:
        timeout = self.idle_timeout if self.deadline is None else self.deadline - time.monotonic()
        if timeout <= 0:
            raise TimeoutError("the request took longer than it may")
        self._connection.settimeout(timeout)
        return super().readinto(buffer)


def linger(connection: socket.socket, budget: int) -> None:
    """Read and drop what the client still sends of a refused body (at most `budget` bytes), for a short while:
    closing a socket with unread bytes resets the connection, and a client still sending would lose the answer
    it was given."""
    deadline = time.monotonic() + LINGER_SECONDS
    try:
        connection.shutdown(socket.SHUT_WR)
        while budget > 0 and (left := deadline - time.monotonic()) > 0:
            connection.settimeout(left)
            chunk = connection.recv(min(budget, READ_BUFFER))
            if not chunk:
                return
            budget -= len(chunk)
    except OSError:
        return
