"""The generation's manifest (`_truth/manifest.json`): what batch 0 fixed, and each batch's window and size.

An increment reads nothing else back: the seed, the rates and the batches' as_of values re-derive everything
earlier batches wrote.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from demo_data.catalog import product_count
from demo_data.config import GeneratorConfig
from demo_data.dirt import DirtRates
from demo_data.people import Timeline
from demo_data.writers import read_manifest

FORMAT_VERSION = 1
FIRST_ORDER_NUMBER = 1001


def base_manifest(config: GeneratorConfig, as_of: datetime) -> dict[str, Any]:
    rates = config.rates or DirtRates()
    return {
        "generator": "demo_data",
        "format_version": FORMAT_VERSION,
        "seed": config.seed,
        "customers": config.customers,
        "days": config.days,
        "part_lines": config.part_lines,
        "new_people_share": config.new_people_share,
        "change_share": config.change_share,
        "product_count": product_count(config.customers),
        "next_order_number": FIRST_ORDER_NUMBER,
        "rates": rates.as_dict(),
        "batches": [
            _batch_entry(0, as_of - timedelta(days=config.days), as_of, config.customers, config.customers)
        ],
    }


def _batch_entry(batch: int, start: datetime, as_of: datetime, total: int, new: int) -> dict[str, Any]:
    return {
        "batch": batch,
        "window_start": start.isoformat(),
        "as_of": as_of.isoformat(),
        "people_total": total,
        "new_people": new,
    }


def increment_manifest(config: GeneratorConfig, out_dir: Path, as_of: datetime) -> dict[str, Any]:
    """The base manifest extended by this batch, after checking that this batch can follow it."""
    manifest = read_manifest(out_dir)
    if manifest is None:
        raise ValueError(
            f"--increment {config.increment}: no earlier generation in {out_dir} "
            "(its _truth/manifest.json is missing); run the base generation (increment 0) first"
        )
    next_batch = len(manifest["batches"])
    if config.increment != next_batch:
        raise ValueError(
            f"--increment {config.increment}: {out_dir} holds batches 0..{next_batch - 1}, "
            f"so the next one is {next_batch}"
        )
    if config.rates is not None and config.rates.as_dict() != manifest["rates"]:
        raise ValueError("an increment reuses the base generation's dirt rates; do not pass other rates")
    previous = manifest["batches"][-1]
    previous_as_of = datetime.fromisoformat(previous["as_of"])
    if as_of <= previous_as_of and config.as_of is None:
        raise ValueError(
            f"the previous batch ends at {previous_as_of.isoformat()}, not before now ({as_of.isoformat()}): "
            "an increment covers the time since then, so pass a later --as-of for it"
        )
    if as_of <= previous_as_of:
        raise ValueError(
            f"--as-of {as_of.isoformat()} must be after the previous batch's as_of "
            f"{previous_as_of.isoformat()}"
        )
    total = previous["people_total"]
    new = max(1, round(total * manifest["new_people_share"]))
    manifest["batches"].append(_batch_entry(next_batch, previous_as_of, as_of, total + new, new))
    return manifest


def timeline_of(manifest: dict[str, Any]) -> Timeline:
    batches = manifest["batches"]
    return Timeline(
        start=datetime.fromisoformat(batches[0]["window_start"]),
        as_ofs=tuple(datetime.fromisoformat(b["as_of"]) for b in batches),
        people_totals=tuple(b["people_total"] for b in batches),
        change_share=manifest["change_share"],
    )
