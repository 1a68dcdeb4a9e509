"""Regenerate the reference seeds: `python -m scripts.reference [seed ...]` (every seed when none is named)."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
from types import ModuleType

from scripts.reference import seeds

log = logging.getLogger(__name__)
PACKAGE = "scripts.reference"


def seed_modules() -> list[ModuleType]:
    """Every module of this package that defines a seed (`SEED` and `rows`), by name."""
    modules = []
    for info in sorted(pkgutil.iter_modules(importlib.import_module(PACKAGE).__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "seeds":
            continue
        module = importlib.import_module(f"{PACKAGE}.{info.name}")
        if hasattr(module, "SEED") and hasattr(module, "rows"):
            modules.append(module)
    return modules


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("seed", nargs="*", help="seed names (default: every seed)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    modules = seed_modules()
    unknown = set(args.seed) - {module.SEED.name for module in modules}
    if unknown:
        parser.error(f"no reference module writes {', '.join(sorted(unknown))}")
    for module in modules:
        if not args.seed or module.SEED.name in args.seed:
            path = seeds.write_seed(module)
            log.info("wrote %s from %s %s", path.relative_to(seeds.REPOSITORY), module.SEED.source.distribution,
                     module.SEED.source.version)


if __name__ == "__main__":
    main()
