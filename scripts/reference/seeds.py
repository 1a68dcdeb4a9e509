"""What every reference seed module shares: its provenance, the seeds folder, and a deterministic CSV writer."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType

REPOSITORY = Path(__file__).resolve().parents[2]
SEEDS_DIR = REPOSITORY / "dbt_project" / "seeds"


VENDOR_DIR = Path(__file__).resolve().parent / "vendor"


@dataclass(frozen=True)
class Source:
    """Where a seed's rows come from: a package, its licence, and how the rows are derived.

    The package is an installed Python distribution (pinned in constraints.txt) or, when `vendored`, a copy
    of a package of another ecosystem under scripts/reference/vendor/<distribution>/ with its licence and
    its package.json.
    """

    distribution: str
    licence: str
    derivation: str
    vendored: bool = False

    @property
    def version(self) -> str:
        """The package's version, so a seed and its source can be compared."""
        if self.vendored:
            manifest = json.loads((VENDOR_DIR / self.distribution / "package.json").read_text(encoding="utf-8"))
            return str(manifest["version"])
        return metadata.version(self.distribution)


@dataclass(frozen=True)
class Seed:
    """A seed file: its name (the CSV under dbt_project/seeds/), its header, and its source."""

    name: str
    header: tuple[str, ...]
    source: Source

    @property
    def path(self) -> Path:
        return SEEDS_DIR / f"{self.name}.csv"


def render(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    """The CSV text of a seed: header, then the distinct rows sorted, `\\n` line ends (byte-stable)."""
    distinct = sorted(set(rows))
    for row in distinct:
        if len(row) != len(header):
            raise ValueError(f"row {row!r} does not have the {len(header)} columns {header!r}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(distinct)
    return buffer.getvalue()


def seed_text(module: ModuleType) -> str:
    """What `module` writes to its seed file."""
    seed: Seed = module.SEED
    return render(seed.header, module.rows())


def write_seed(module: ModuleType) -> Path:
    """Write `module`'s seed file and return its path."""
    seed: Seed = module.SEED
    seed.path.write_text(seed_text(module), encoding="utf-8")
    return seed.path


def normalized_spelling(text: str) -> str:
    """A spelling as the cleaning compares it (macro `normalized_spelling`): accents and case folded away, and
    everything but letters and digits dropped, spaces too. "U.S.A." -> "usa", "Côte d'Ivoire" ->
    "cotedivoire", "Guinea-Bissau" and "Guinea Bissau" -> "guineabissau". Keep in step with the macro in
    dbt_project/macros/standardize/text.sql (tests/scripts/test_reference_seeds.py compares the two).
    """
    decomposed = unicodedata.normalize("NFD", text)
    # recomposed, so that scripts whose letters decompose without marks (Hangul syllables) stay as written
    unaccented = unicodedata.normalize("NFC", "".join(char for char in decomposed if not unicodedata.combining(char)))
    return "".join(char for char in unaccented.lower() if char.isalnum())
