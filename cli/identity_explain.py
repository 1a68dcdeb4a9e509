"""Why a customer is one customer: its records and every edge between them, as `warehouse explain` prints them.

Reads the warehouse (read-only): marts.customer_identity_map for the customer's records, the standardized
attributes the match model compared, and intermediate.int_identity_edges for the edges among those records,
with their rule, probability and per-field weights (bits of evidence; negative = against a match).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

FIELDS = ("first_name", "last_name", "date_of_birth", "phone", "address", "postal_code", "city")
"""The match model's comparisons, in the order int_identity_edges lists their weights."""


@dataclass(frozen=True)
class Explanation:
    """A customer's records (with the attributes compared) and the edges among them, as column names and rows."""

    customer_id: str
    record_columns: list[str]
    records: list[tuple]
    edge_columns: list[str]
    edges: list[tuple]
    split_by_cap: str | None


def _fetch(con: duckdb.DuckDBPyConnection, query: str, parameters: list) -> tuple[list[str], list[tuple]]:
    cursor = con.execute(query, parameters)
    return [d[0] for d in cursor.description or []], cursor.fetchall()


def explain(warehouse_path: Path, customer_id: str) -> Explanation:
    """The explanation of `customer_id`; no records when the warehouse does not know it."""
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        record_columns, records = _fetch(
            con,
            """
            select
                map.source_system || ':' || map.source_id as record_key,
                map.match_rule as strongest_rule,
                person.first_name_normalized as first_name,
                person.last_name_normalized as last_name,
                person.date_of_birth,
                person.phone_e164 as phone,
                person.address_normalized as address,
                person.postal_code_normalized as postal_code,
                person.city_normalized as city
            from marts.customer_identity_map as map
            left join intermediate.int_identity_records_standardized as person
                on person.record_key = map.source_system || ':' || map.source_id
            where map.customer_id = ?
            order by record_key
            """,
            [customer_id],
        )
        weights = ", ".join(f"round(edges.weight_{field}, 1) as {field}" for field in FIELDS)
        edge_columns, edges = _fetch(
            con,
            f"""
            with members as (
                select source_system || ':' || source_id as record_key
                from marts.customer_identity_map
                where customer_id = ?
            )
            select
                edges.left_record_key as left_record,
                edges.right_record_key as right_record,
                edges.match_rule as rule,
                round(edges.match_probability, 6) as probability,
                round(edges.match_weight, 1) as weight,
                {weights},
                edges.evidence
            from intermediate.int_identity_edges as edges
            where edges.left_record_key in (select record_key from members)
                and edges.right_record_key in (select record_key from members)
            order by edges.match_probability desc, left_record, right_record, rule
            """,
            [customer_id],
        )
        split = con.execute(
            "select max(split_by_cap) from intermediate.int_identity_records_capped as capped"
            " inner join marts.customer_identity_map as map"
            " on capped.record_key = map.source_system || ':' || map.source_id where map.customer_id = ?",
            [customer_id],
        ).fetchone()
    return Explanation(customer_id, record_columns, records, edge_columns, edges, split[0] if split else None)
