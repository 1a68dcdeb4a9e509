"""Named benchmark scales: how many customers, how many days of history, and the increment on top."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
"""End of the base generation's window: fixed, so cached landing data stays valid and runs are comparable."""

DAYS = 100
"""History of every scale. At ~0.95 events per customer-day this gives ~1M events per 10k customers (the
generator's orders are ~0.012 per customer-day, so 100k customers make ~0.12M orders, not 1M: events are the
volume that matters). The same window at every scale keeps the record ratio between scales = customer ratio."""


@dataclass(frozen=True)
class Scale:
    name: str
    customers: int
    days: int = DAYS
    gzip: bool = False
    """Landing files as `.jsonl.gz` (a ninth of the disk); both sides of the events comparison read them."""
    first_build_only: bool = False
    """Stop after the first `dbt build`: no raw-SQL copy of the warehouse, no increment, no full refresh."""
    dbt_disabled_compression_methods: str | None = None
    """DBT_DISABLED_COMPRESSION_METHODS for this scale's steps; None: the environment's (profile default fsst)."""
    dbt_memory_limit: str | None = None
    """DBT_MEMORY_LIMIT for this scale's steps; None: the environment's (profile default 2GB)."""

    @property
    def increment_as_of(self) -> datetime:
        """The 1% increment: one hundredth of the window (at least a day) after the base as_of."""
        return AS_OF + timedelta(days=max(1.0, self.days / 100))


SCALES: dict[str, Scale] = {
    "toy": Scale("toy", customers=300, days=10),
    "small": Scale("small", customers=10_000),
    "medium": Scale("medium", customers=100_000),
    "large": Scale(
        "large",
        customers=1_000_000,
        gzip=True,
        first_build_only=True,
        dbt_disabled_compression_methods="",
        dbt_memory_limit="4GB",
    ),
}
"""`toy` is for the harness's own smoke test; `large` runs only when asked (`--scales large`).

`large` is what the issue asks of it: that the whole chain completes on this machine's 24 GiB. Its 90 GB of
JSON would not fit the disk beside a warehouse of 46 GiB, so its landing files are gzip-compressed (11 GB),
dbt stores strings with FSST (DuckDB's default: a fifth less disk, a little more time), and it stops after the
first build: the raw-SQL reference needs a second copy of the warehouse, and the increment and full refresh
would rewrite it again. dbt's DuckDB gets 4GB, 2GB for each of its two threads: at 2GB in all, two models
writing 14M sessions and 1M profiles side by side ran out of memory (each passes alone)."""

DEFAULT_SCALES = ("small", "medium")
