"""Collector under load: `clients` concurrent senders post Segment batches at `rate` events/s for `seconds`.

`run_collector_load(seconds=60, rate=1000, clients=4)` is the collector's long load test (1,000 events/s from
several clients on loopback for a minute, nothing lost); tests/reliability/test_load.py runs a short one.
The collector runs in this process on a free loopback port and writes into a temporary directory (never the
project's data paths); each sender paces its batches on its own schedule and retries nothing, so every
acknowledged message must be on disk exactly once. Every wait is bounded: a run ends by `seconds * 3 + 30`.

    python -m bench.collector_load --seconds 60 --rate 1000 --clients 4
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from collector import make_server

WRITE_KEY = "bench-write-key"
BATCH_SIZE = 25
"""Messages per request: the official libraries batch up to 100 (and 500 KB); smaller batches mean more requests."""
REQUEST_TIMEOUT = 10.0


def run_collector_load(seconds: float = 60.0, rate: int = 1_000, clients: int = 4) -> dict[str, Any]:
    """Send `seconds * rate` messages from `clients` threads, then count what landed.

    Returns sent, acknowledged (200), rejected (other statuses or connection errors), landed (lines on disk),
    lost (acknowledged but not on disk), duplicates (lines beyond the first per messageId), unexpected (lines
    on disk never sent), the achieved rate, and request latency percentiles in milliseconds.
    """
    if seconds <= 0 or rate <= 0 or clients <= 0:
        raise ValueError("seconds, rate and clients must be positive")
    total = int(seconds * rate)
    with tempfile.TemporaryDirectory(prefix="collector-load-") as directory:
        server = make_server("127.0.0.1", 0, Path(directory), WRITE_KEY)
        server.serve_in_background()
        deadline = time.monotonic() + seconds * 3 + 30
        outcomes = [_Sender(server.url, worker, total, clients, rate, deadline) for worker in range(clients)]
        started = time.monotonic()
        threads = [threading.Thread(target=sender.run, daemon=True) for sender in outcomes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        elapsed = time.monotonic() - started
        server.stop()
        landed = Counter(
            json.loads(line)["messageId"]
            for path in sorted(server.events_dir.glob("events-*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()
        )
    sent = {m for sender in outcomes for m in sender.sent}
    acknowledged = {m for sender in outcomes for m in sender.acknowledged}
    latencies = sorted(latency for sender in outcomes for latency in sender.latencies_ms)
    return {
        "seconds": seconds,
        "rate": rate,
        "clients": clients,
        "sent": len(sent),
        "acknowledged": len(acknowledged),
        "rejected": sum(sender.rejected for sender in outcomes),
        "landed": sum(landed.values()),
        "lost": len(acknowledged - set(landed)),
        "duplicates": sum(count - 1 for count in landed.values()),
        "unexpected": len(set(landed) - sent),
        "finished_in_time": all(not thread.is_alive() for thread in threads),
        "elapsed_s": round(elapsed, 3),
        "achieved_rate": round(len(acknowledged) / elapsed, 1) if elapsed else 0.0,
        "latency_p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "latency_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2) if latencies else None,
    }


class _Sender:
    """One client: its share of the messages in batches, each batch due at its place in the schedule."""

    def __init__(self, url: str, worker: int, total: int, clients: int, rate: int, deadline: float) -> None:
        self.url, self.worker, self.deadline = url, worker, deadline
        self.count = total // clients + (1 if worker < total % clients else 0)
        self.interval = BATCH_SIZE * clients / rate
        self.sent: list[str] = []
        self.acknowledged: list[str] = []
        self.latencies_ms: list[float] = []
        self.rejected = 0

    def run(self) -> None:
        auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
        start = time.monotonic()
        with requests.Session() as session:
            session.headers["Authorization"] = auth
            for number, first in enumerate(range(0, self.count, BATCH_SIZE)):
                due = start + number * self.interval
                if due > self.deadline:
                    return
                time.sleep(max(0.0, due - time.monotonic()))
                batch = [self._message(n) for n in range(first, min(first + BATCH_SIZE, self.count))]
                self._post(session, batch)

    def _message(self, n: int) -> dict[str, Any]:
        return {
            "type": "track",
            "event": "Product Viewed",
            "messageId": f"load-{self.worker}-{n}",
            "anonymousId": f"anon-{self.worker}-{n % 50}",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "properties": {"product_id": n % 500, "category": "tea"},
        }

    def _post(self, session: requests.Session, batch: list[dict[str, Any]]) -> None:
        ids = [m["messageId"] for m in batch]
        self.sent += ids
        sent_at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        began = time.perf_counter()
        try:
            response = session.post(
                f"{self.url}/v1/batch", json={"batch": batch, "sentAt": sent_at}, timeout=REQUEST_TIMEOUT
            )
        except requests.RequestException:
            self.rejected += 1
            return
        self.latencies_ms.append((time.perf_counter() - began) * 1000)
        if response.status_code == 200:
            self.acknowledged += ids
        else:
            self.rejected += 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.collector_load", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=1_000, help="events per second, all clients together")
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    print(json.dumps(run_collector_load(args.seconds, args.rate, args.clients), indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
