"""The message ids the collector stored lately, to tell a client's retry from a reused id with other content.

The loader keeps one delivery per `messageId` (the first), counts a retry (same content, a new `sentAt`) as a
re-delivery, and quarantines a delivery with other content as a conflict: a client bug. The collector sees both
at the door: it counts each kind, and it names the conflicting ids in its answer and its log, so the client is
told at once. It remembers a bounded
number of recent ids (`CollectorLimits.remembered_message_ids`), and forgets them on restart: the loader's
de-duplication, not this memory, is what keeps `raw_analytics.events` exactly-once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass
class Repeats:
    """What one request's stored messages repeated: how many retries, and which ids came with other content."""

    redelivered: int = 0
    conflicting: list[str] = field(default_factory=list)


class RecentMessageIds:
    """The content digests of the last `capacity` client-given message ids stored; thread-safe."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._digests: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, messages: list[tuple[str, bytes | None]]) -> Repeats:
        """Remember (message id, content digest) pairs just stored, in order; say which repeat earlier ones.

        A message without a digest (its id assigned by the collector) cannot repeat another and is skipped. A
        conflicting id keeps the digest of its first delivery: that is the version the loader keeps.
        """
        repeats = Repeats()
        with self._lock:
            for message_id, digest in messages:
                if digest is None:
                    continue
                known = self._digests.get(message_id)
                if known is None:
                    self._digests[message_id] = digest
                    if len(self._digests) > self.capacity:
                        self._digests.popitem(last=False)
                    continue
                self._digests.move_to_end(message_id)
                if known == digest:
                    repeats.redelivered += 1
                else:
                    repeats.conflicting.append(message_id)
        return repeats
