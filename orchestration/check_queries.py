"""A quality suite's expectations as DuckDB SQL over its whole relation: counts, bounds and a few failing rows.

A Great Expectations suite declares column expectations (not null, between, in set, matching a regex, unique);
GX's pandas path evaluates them on a frame holding every row, which at scale is a whole event table in memory.
Here each expectation becomes what GX would count, computed by DuckDB: the rows it judges (GX ignores nulls,
except in the not-null rule), the rows that fail it, and the observed minimum and maximum. Only these counts and
`limit` failing rows per expectation ever leave DuckDB. The semantics follow GX 1.x's: `mostly` is the share of
judged rows that must pass, `between` is inclusive unless strict, a regex is searched for (Python's `re.search`,
DuckDB's `regexp_matches`), `unique` fails every row of a repeated value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Rule:
    """One expectation as SQL: the predicates GX applies to each row, named as GX names its result."""

    label: str
    column: str
    mostly: float
    judged: str
    """SQL predicate: the rows the expectation judges."""
    failing: str | None
    """SQL predicate of a failing row; None for `unique`, which compares rows with each other."""
    bounded: bool
    """Whether the observed minimum and maximum are worth reporting (a range rule)."""


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A Python value of an expectation's arguments as a DuckDB literal."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def rule(expectation: Any) -> Rule:
    """The SQL of one GX expectation; an expectation this module cannot express is refused, never skipped."""
    kind = expectation.expectation_type
    column = expectation.column
    col = quote_identifier(column)
    mostly = float(expectation.mostly)
    present = f"{col} IS NOT NULL"
    label = f"{kind}({column})"
    if kind == "expect_column_values_to_not_be_null":
        return Rule(label, column, mostly, "TRUE", f"{col} IS NULL", bounded=False)
    if kind == "expect_column_values_to_be_between":
        bounds = []
        if expectation.min_value is not None:
            bounds.append(f"{col} {'>' if expectation.strict_min else '>='} {literal(expectation.min_value)}")
        if expectation.max_value is not None:
            bounds.append(f"{col} {'<' if expectation.strict_max else '<='} {literal(expectation.max_value)}")
        return Rule(label, column, mostly, present, f"{present} AND NOT ({' AND '.join(bounds)})", bounded=True)
    if kind == "expect_column_values_to_be_in_set":
        values = ", ".join(literal(v) for v in expectation.value_set)
        return Rule(label, column, mostly, present, f"{present} AND {col} NOT IN ({values})", bounded=False)
    if kind == "expect_column_values_to_match_regex":
        matches = f"regexp_matches(CAST({col} AS VARCHAR), {literal(expectation.regex)})"
        return Rule(label, column, mostly, present, f"{present} AND NOT {matches}", bounded=False)
    if kind == "expect_column_values_to_be_unique":
        return Rule(label, column, mostly, present, None, bounded=False)
    raise ValueError(f"{kind} has no DuckDB translation in orchestration.check_queries; add one before using it")


def counts_sql(relation: str, rules: Sequence[Rule]) -> str:
    """One row over the whole relation: `rows`, then per rule `judged_<i>`, `unexpected_<i>`, `min_<i>`,
    `max_<i>` (null where a rule has none). One scan for the row rules; a grouped count per `unique` rule."""
    columns = ["count(*) AS rows"]
    for i, r in enumerate(rules):
        col = quote_identifier(r.column)
        columns.append(f"count(*) FILTER (WHERE {r.judged}) AS judged_{i}")
        if r.failing is not None:
            columns.append(f"count(*) FILTER (WHERE {r.failing}) AS unexpected_{i}")
        else:
            repeated = f"SELECT count(*) AS n FROM relation WHERE {r.judged} GROUP BY {col} HAVING count(*) > 1"
            columns.append(f"(SELECT coalesce(sum(n), 0) FROM ({repeated})) AS unexpected_{i}")
        columns.append(f"min({col}) AS min_{i}" if r.bounded else f"NULL AS min_{i}")
        columns.append(f"max({col}) AS max_{i}" if r.bounded else f"NULL AS max_{i}")
    return f"WITH relation AS ({relation}) SELECT {', '.join(columns)} FROM relation"


def failing_rows_sql(relation: str, r: Rule, limit: int) -> str:
    """At most `limit` failing rows, the same ones on every run of the same data (ordered by every column)."""
    if r.failing is not None:
        where = r.failing
    else:
        col = quote_identifier(r.column)
        where = f"{col} IN (SELECT {col} FROM relation WHERE {r.judged} GROUP BY {col} HAVING count(*) > 1)"
    return f"WITH relation AS ({relation}) SELECT * FROM relation WHERE {where} ORDER BY ALL LIMIT {int(limit)}"
