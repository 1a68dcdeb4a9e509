"""Landing data per scale and seed, generated once and cached; each run sees it through hard links.

The cache holds batch 0 (the base) and batch 1 (the ~1% increment) in one generator directory. A run's
landing directory starts with links to batch 0's files only; `add_batch(..., 1)` links batch 1's files in
later, exactly as a new delivery would arrive. Nothing ever writes to a linked file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

from bench.scales import AS_OF, Scale

READY = "bench-ready.json"
_BATCH = re.compile(r"-b(\d{4})-p\d{4}\.jsonl(\.gz)?$")


def cache_dir(work: Path, scale: Scale, seed: int) -> Path:
    """Where the landing files of `scale` and `seed` are kept between runs."""
    gzip = "-gz" if scale.gzip else ""
    return work / "data" / f"{scale.name}-c{scale.customers}-d{scale.days}-s{seed}-{AS_OF:%Y%m%d}{gzip}"


def is_cached(work: Path, scale: Scale, seed: int) -> bool:
    return (cache_dir(work, scale, seed) / READY).exists()


def generate_cached(work: Path, scale: Scale, seed: int) -> dict[str, object]:
    """Generate batch 0 and batch 1 unless already cached; returns rows per folder and seconds per batch."""
    from demo_data.generator import GeneratorConfig, generate

    target = cache_dir(work, scale, seed)
    ready = target / READY
    if ready.exists():
        return {**json.loads(ready.read_text()), "cached": True}
    shutil.rmtree(target, ignore_errors=True)
    config = GeneratorConfig(customers=scale.customers, days=scale.days, seed=seed, as_of=AS_OF, gzip=scale.gzip)
    base = generate(config, target)
    increment = generate(replace(config, increment=1, as_of=scale.increment_as_of), target)
    summary = {
        "base_rows": base.rows,
        "increment_rows": increment.rows,
        "base_generate_s": round(base.seconds, 3),
        "increment_generate_s": round(increment.seconds, 3),
    }
    ready.write_text(json.dumps(summary, indent=2))
    return {**summary, "cached": False}


def add_batch(source: Path, landing: Path, batch: int, systems: tuple[str, ...] | None = None) -> list[Path]:
    """Link every landing file of `batch` (of `systems`, default all) from the cache `source` into `landing`.

    Ground truth is left out; files already in `landing` are left as they are.
    """
    added = []
    for file in sorted(source.glob("*/*/*.jsonl*")):
        system = file.parts[-3]
        if system.startswith("_") or (systems is not None and system not in systems):
            continue
        match = _BATCH.search(file.name)
        if not match or int(match.group(1)) != batch:
            continue
        destination = landing / file.relative_to(source)
        if destination.exists():
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(file, destination)
        except OSError:
            shutil.copyfile(file, destination)
        added.append(destination)
    return added


def warm_page_cache(files: list[Path]) -> int:
    """Read files once so neither side of a comparison pays the first disk read; returns bytes read."""
    total = 0
    for file in files:
        with file.open("rb") as handle:
            while chunk := handle.read(1 << 24):
                total += len(chunk)
    return total
