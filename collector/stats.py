"""What the collector did, counted across its request threads for the closing summary."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from collector.message_ids import Repeats


@dataclass
class CollectorStats:
    """What the collector did, for the closing summary; updated under a lock by the request threads."""

    messages_written: int = 0
    messages_rejected: int = 0
    """Messages refused one by one inside requests (a request refused whole counts in `statuses` only)."""
    redelivered_message_ids: int = 0
    """Messages stored again with the content of an earlier one (a client's retry): the loader keeps one."""
    conflicting_message_ids: int = 0
    """Messages stored with the id of an earlier one but other content: the loader keeps the earlier one."""
    statuses: Counter[int] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, status: int, messages: int = 0, rejected: int = 0) -> None:
        with self._lock:
            self.statuses[status] += 1
            self.messages_written += messages
            self.messages_rejected += rejected

    def record_repeats(self, repeats: Repeats) -> None:
        with self._lock:
            self.redelivered_message_ids += repeats.redelivered
            self.conflicting_message_ids += len(repeats.conflicting)

    @property
    def requests_accepted(self) -> int:
        return self.statuses[200]

    @property
    def requests_rejected(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)
