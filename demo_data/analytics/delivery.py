"""Delivery dirt on a batch's messages: late arrivals and re-deliveries, as Segment's pipeline produces them."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from demo_data.dirt import DirtLedger
from demo_data.keys import segment_time


def deliver(
    messages: list[dict[str, Any]],
    rng: random.Random,
    ledger: DirtLedger,
    window: tuple[datetime, datetime],
    batch: int,
) -> Iterator[tuple[dict[str, Any], bool]]:
    """Apply delivery dirt: yields (message, is_redelivery). A late message is received hours after its
    timestamp (in an increment, its timestamp falls before the batch window); a redelivered one comes
    twice, up to 15 minutes later but never after the window's end."""
    window_start, window_end = window
    for message in messages:
        if ledger.roll("late_event", rng):
            received = datetime.fromisoformat(message["receivedAt"])
            hours_back = timedelta(seconds=rng.randint(3_600, 12 * 3_600))
            happened = (window_start if batch > 0 else received) - hours_back
            message["timestamp"] = segment_time(happened)
        yield message, False
        if ledger.roll("duplicate_event", rng):
            again = dict(message)
            received = datetime.fromisoformat(message["receivedAt"]) + timedelta(seconds=rng.randint(1, 900))
            again["receivedAt"] = segment_time(min(received, window_end))
            yield again, True
