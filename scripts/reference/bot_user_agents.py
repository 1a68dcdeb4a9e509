"""Seed bot_user_agents: regular expressions of the user agents of crawlers, scrapers, monitors and libraries.

From the PyPI package crawler-user-agents (Martin Monperrus and contributors, MIT): its
crawler-user-agents.json, one entry per crawler with a `pattern` (a regular expression, matched
case-sensitively as the package's own `is_crawler` does), a `description` and `tags`. The warehouse matches
the patterns with DuckDB, whose regular expressions are RE2: a pattern RE2 cannot compile (look-arounds,
back-references) is dropped, and `dropped_patterns()` says which (the seed's YAML states the count).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources

import duckdb

from scripts.reference.seeds import Seed, Source

SEED = Seed(
    name="bot_user_agents",
    header=("user_agent_pattern", "traffic_kind", "reason"),
    source=Source(
        distribution="crawler-user-agents",
        licence="MIT",
        derivation="every entry of crawleruseragents/crawler-user-agents.json that DuckDB (RE2) compiles: "
        "pattern; traffic_kind monitoring when tagged monitoring, else bot; reason = the description",
    ),
)


def entries() -> list[dict]:
    """The package's crawler entries, as it ships them."""
    text = resources.files("crawleruseragents").joinpath("crawler-user-agents.json").read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _compiles_in_duckdb(pattern: str) -> bool:
    try:
        duckdb.sql("select regexp_matches('', $pattern)", params={"pattern": pattern}).fetchall()
    except duckdb.Error:
        return False
    return True


def dropped_patterns() -> list[str]:
    """The package's patterns that DuckDB's regular expressions (RE2) cannot compile."""
    return sorted(entry["pattern"] for entry in entries() if not _compiles_in_duckdb(entry["pattern"]))


def rows() -> Iterator[tuple[str, str, str]]:
    for entry in entries():
        if not _compiles_in_duckdb(entry["pattern"]):
            continue
        kind = "monitoring" if "monitoring" in entry.get("tags", []) else "bot"
        reason = " ".join((entry.get("description") or entry["pattern"]).split())
        yield entry["pattern"], kind, reason
