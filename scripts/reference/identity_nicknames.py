"""Derive the identity nickname seed from the `nicknames` package (carltonnorthern/nicknames, Apache-2.0).

The package ships one hand-curated CSV of `name1,has_nickname,name2` triples (robert has_nickname bob). A
nickname is not an equivalence class: chris is a nickname of christopher and of christine, who are different
people, so grouping names transitively would put Christopher and Christine in one group. The seed is
therefore a relation of equivalent pairs, exactly the package's triples in both directions:

    first_name,equivalent_first_name
    bob,robert
    robert,bob

Two nicknames of one formal name (chris and tina, both christine) are not paired: in a household they are
as often two people (husband and wife) as one, and the match model's Jaro-Winkler levels still see kris/chris.
Names are normalized as the dbt macro `identity_normalize_name` does (accents stripped, lower-case ASCII
letters only); the output is sorted and deduplicated, so the same package version writes the same bytes.

    python -m scripts.reference.identity_nicknames            # writes dbt_project/seeds/identity/...
    python -m scripts.reference.identity_nicknames --out x.csv
"""

from __future__ import annotations

import argparse
import csv
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import nicknames

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_SEED = REPOSITORY / "dbt_project" / "seeds" / "identity" / "identity_nicknames.csv"
HEADER = ("first_name", "equivalent_first_name")
RELATIONSHIP = "has_nickname"


def normalize_name(name: str) -> str:
    """The dbt macro identity_normalize_name in Python: 'José-Luis ' -> 'joseluis' ('' when nothing is left)."""
    stripped = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return re.sub(r"[^a-z]", "", stripped.lower())


def equivalent_pairs(triples: Iterable[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """Every (name, equivalent name) of the `has_nickname` triples, both directions, normalized, sorted."""
    pairs: set[tuple[str, str]] = set()
    for formal, relationship, nickname in triples:
        if relationship != RELATIONSHIP:
            continue
        left, right = normalize_name(formal), normalize_name(nickname)
        if left and right and left != right:
            pairs.add((left, right))
            pairs.add((right, left))
    return sorted(pairs)


def package_triples() -> list[tuple[str, str, str]]:
    """The package's (name1, relationship, name2) rows, as it ships them."""
    return [(t.name1, t.relationship, t.name2) for t in nicknames.name_triplets()]


def write_seed(pairs: Iterable[tuple[str, str]], out: Path) -> int:
    """Write the seed CSV (LF line ends); returns the number of rows."""
    rows = list(pairs)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    return len(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_SEED, help="Seed CSV to write.")
    args = parser.parse_args(argv)
    rows = write_seed(equivalent_pairs(package_triples()), args.out)
    print(f"{rows} pairs from nicknames {nicknames.__version__} -> {args.out}")


if __name__ == "__main__":
    main()
