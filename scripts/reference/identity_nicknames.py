"""Seed identity/identity_nicknames: first names that may name the same person, from the `nicknames` package.

The package (carltonnorthern/nicknames, Apache-2.0) ships one hand-curated CSV of `name1,has_nickname,name2`
triples (robert has_nickname bob). A nickname is not an equivalence class: chris is a nickname of christopher
and of christine, who are different people, so grouping names transitively would put Christopher and
Christine in one group. The seed is therefore a relation of equivalent pairs, the package's triples in both
directions (bob,robert and robert,bob), never a closure.

Two nicknames of one formal name (chris and tina, both christine) are not paired: at one address they are as
often two people (husband and wife) as one, and the match model's Jaro-Winkler levels still see kris/chris.
Names are normalized as the dbt macro `identity_normalize_name` does (accents stripped, lower-case ASCII
letters only). The seed lives under seeds/identity/ with the identity model's other seeds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nicknames

from scripts.reference.seeds import SEEDS_DIR, Seed, Source

RELATIONSHIP = "has_nickname"


@dataclass(frozen=True)
class IdentitySeed(Seed):
    """A seed of the identity model: its CSV sits in seeds/identity/."""

    @property
    def path(self) -> Path:
        return SEEDS_DIR / "identity" / f"{self.name}.csv"


SEED = IdentitySeed(
    name="identity_nicknames",
    header=("first_name", "equivalent_first_name"),
    source=Source(
        distribution="nicknames",
        licence="Apache-2.0",
        derivation="every has_nickname triple of names.csv, normalized, in both directions (not transitive)",
    ),
)


def normalize_name(name: str) -> str:
    """The dbt macro identity_normalize_name in Python: 'José-Luis ' -> 'joseluis' ('' when nothing is left)."""
    stripped = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return re.sub(r"[^a-z]", "", stripped.lower())


def equivalent_pairs(triples: Iterable[tuple[str, str, str]]) -> Iterator[tuple[str, str]]:
    """Each (name, equivalent name) of the `has_nickname` triples, both directions, normalized."""
    for formal, relationship, nickname in triples:
        left, right = normalize_name(formal), normalize_name(nickname)
        if relationship == RELATIONSHIP and left and right and left != right:
            yield left, right
            yield right, left


def rows() -> Iterator[tuple[str, str]]:
    return equivalent_pairs((t.name1, t.relationship, t.name2) for t in nicknames.name_triplets())
