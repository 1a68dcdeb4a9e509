"""`generate()`: write one batch of landing files and ground truth, streaming one person at a time.

Batch 0 is the base generation over [as_of - days, as_of]. Batch K (`increment=K`) reads the manifest of the
generation in the same directory, adds ~1% new persons, changes ~1% of existing records (CDC versions) and
writes the orders and events between the previous as_of and this one (by default now, however short that
window is). No timestamp a batch writes is after its as_of. Every person, order plan and change is re-derived
from the seed, so nothing but the manifest is read back, and memory stays flat at any scale.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from demo_data.batch import Batch, write_batch
from demo_data.catalog import build_catalog
from demo_data.config import GeneratorConfig, validate
from demo_data.dirt import DirtLedger, DirtRates
from demo_data.manifest import base_manifest, increment_manifest, timeline_of
from demo_data.writers import Outputs, remove_generation, write_manifest

__all__ = ["GenerationResult", "GeneratorConfig", "generate"]  # the config is defined in demo_data.config


@dataclass(frozen=True)
class GenerationResult:
    batch: int
    rows: dict[str, int]
    """Lines written per landing directory, e.g. {"crm/contacts": 2300, "shop/orders": 1800, ...}."""
    truth_rows: dict[str, int]
    seconds: float
    out_dir: Path

    @property
    def rows_per_second(self) -> float:
        return sum(self.rows.values()) / self.seconds if self.seconds > 0 else 0.0


def generate(config: GeneratorConfig, out_dir: Path, console: Console | None = None) -> GenerationResult:
    """Write batch `config.increment` into `out_dir` (landing layout of docs/contracts.md section 1)."""
    validate(config)
    began = time.perf_counter()
    out_dir = Path(out_dir)
    as_of = _as_of(config.as_of, config.increment)
    if config.increment == 0:
        remove_generation(out_dir)
        manifest = base_manifest(config, as_of)
    else:
        manifest = increment_manifest(config, out_dir, as_of)
    rates = DirtRates(**manifest["rates"])
    timeline = timeline_of(manifest)
    batch = config.increment
    outputs = Outputs(out_dir, batch, manifest["part_lines"], config.gzip)
    run = Batch(
        seed=manifest["seed"],
        batch=batch,
        timeline=timeline,
        catalog=build_catalog(manifest["seed"], manifest["product_count"], timeline.start),
        ledger=DirtLedger(rates),
        scratch=DirtLedger(rates),
        outputs=outputs,
        next_order_number=manifest["next_order_number"],
    )
    try:
        write_batch(run, console)
    finally:
        outputs.close()
    rows = outputs.row_counts()
    truth_rows = outputs.truth_row_counts()
    manifest["next_order_number"] = run.next_order_number
    manifest["batches"][batch].update(rows=rows, truth_rows=truth_rows, dirt=run.ledger.report())
    write_manifest(out_dir, manifest)
    return GenerationResult(
        batch=batch, rows=rows, truth_rows=truth_rows, seconds=time.perf_counter() - began, out_dir=out_dir
    )


def _as_of(value: datetime | None, increment: int) -> datetime:
    """Aware UTC. The default is now: for the base truncated to the minute (so a rerun in the same minute is
    identical), for an increment exact (so one typed right after the previous batch still has a window, and the
    newest batch always ends now: nothing it writes is in the future)."""
    if value is None:
        now = datetime.now(UTC)
        return now if increment else now.replace(second=0, microsecond=0)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

