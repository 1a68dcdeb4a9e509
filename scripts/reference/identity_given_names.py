"""Seed identity/identity_given_names: the given names a list knows, so a name no list knows reads as a typo.

Two sources, both installed packages:

- `names` (treyhunner/names, MIT) ships the US Census Bureau's 1990 given-name frequency lists,
  `dist.male.first` and `dist.female.first` (public domain, a work of the US government): every given name
  held by at least one person in 100,000 of the 1990 sample, one name a line, followed by its frequencies.
- `nicknames` (carltonnorthern/nicknames, Apache-2.0): every name of its `names.csv`, formal names and
  nicknames alike (bob, robert), so a nickname is a known given name too.

The identity model's household guards read it: two first names both known (Daniel and Danielle, John and Joan)
are two people at one address; a first name no list knows ('danlel', 'jushua') beside a close one is a keying
error, which the match weights price. Names are normalized as the dbt macro `identity_normalize_name` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources

import nicknames

from scripts.reference.identity_nicknames import IdentitySeed, normalize_name
from scripts.reference.seeds import Source

CENSUS_FILES = ("dist.male.first", "dist.female.first")

SEED = IdentitySeed(
    name="identity_given_names",
    header=("first_name",),
    source=Source(
        distribution="names",
        licence="MIT (package); the US Census 1990 name lists it ships are public domain",
        derivation=(
            "the first column of dist.male.first and dist.female.first (US Census 1990), plus every name of the "
            "nicknames package's names.csv, normalized"
        ),
    ),
)


def census_given_names() -> Iterator[str]:
    """The given names of the US Census 1990 lists the `names` package ships (first column of each line)."""
    package = resources.files("names")
    for file_name in CENSUS_FILES:
        for line in package.joinpath(file_name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield line.split()[0]


def nickname_package_names() -> Iterator[str]:
    """Every name of the nicknames package's triples, formal names and nicknames."""
    for triple in nicknames.name_triplets():
        yield triple.name1
        yield triple.name2


def rows() -> Iterator[tuple[str]]:
    for name in (*census_given_names(), *nickname_package_names()):
        normalized = normalize_name(name)
        if normalized:
            yield (normalized,)
