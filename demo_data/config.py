"""What a generation is asked for: `GeneratorConfig`, and the checks it must pass before anything is written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from demo_data.dirt import DirtRates


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate. The same seed, as_of values and rates give byte-identical files."""

    customers: int = 2_000
    """Persons in the base population (batch 0)."""
    days: int = 60
    """Length of batch 0's window, ending at as_of."""
    seed: int = 42
    increment: int = 0
    """0 for the base generation; K for the K-th incremental batch on top of it."""
    as_of: datetime | None = None
    """End of this batch's window (UTC; naive values are taken as UTC). Default: now (the base's to the minute).
    Nothing a batch writes is after its as_of, so with the default nothing is in the future."""
    rates: DirtRates | None = None
    """Dirt rates (default DirtRates()); an increment always reuses the base generation's rates."""
    part_lines: int = 100_000
    """Lines per part file before a new part starts."""
    gzip: bool = False
    """Write `.jsonl.gz` parts instead of `.jsonl` (the same lines; how the files travel, not what they say)."""
    new_people_share: float = 0.01
    """Persons added by each increment, as a share of those existing (fixed by the base generation)."""
    change_share: float = 0.01
    """Existing persons whose records change in each increment (fixed by the base generation)."""


def validate(config: GeneratorConfig) -> None:
    """Raise ValueError naming every problem of `config` at once."""
    problems = []
    if config.customers < 1:
        problems.append("customers must be at least 1")
    if config.days < 1:
        problems.append("days must be at least 1")
    if config.seed < 0:
        problems.append("seed must be a non-negative integer")
    if config.increment < 0:
        problems.append("increment must be 0 (base) or a batch number >= 1")
    if config.part_lines < 1:
        problems.append("part_lines must be at least 1")
    if not (0 <= config.new_people_share <= 1 and 0 <= config.change_share <= 1):
        problems.append("new_people_share and change_share must be within [0, 1]")
    if problems:
        raise ValueError("; ".join(problems))
