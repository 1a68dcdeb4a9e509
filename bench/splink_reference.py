"""Splink 5 on the records the product compares: the reference the identity benchmark measures beside.

The input is the warehouse's `int_identity_records_standardized` (one row per CRM contact or Shopify customer,
cleaned by staging and normalized by the identity models) and the staging models' valid emails, so both sides
start from the same values. Segment's anonymous and user ids, which the product links by exact keys, are not
Splink's input: on the generator's data Splink is scored over the CRM and Shopify records only. Splink is
trained without labels, as its own FEBRL examples train it:

- comparisons: first name and surname (`NameComparison`: exact, Jaro-Winkler >= 0.92 / 0.88 / 0.7, with
  term-frequency adjustment), date of birth (`DateOfBirthComparison`: exact, one edit, within a month, a year,
  ten years), phone (Damerau-Levenshtein <= 1, 2), address (Jaro-Winkler >= 0.95, 0.88), postal code (exact,
  Damerau-Levenshtein <= 1, with term frequencies), city (exact, with term frequencies), email
  (`EmailComparison`: exact, exact local part, Jaro-Winkler; the FEBRL and households contacts have none);
- blocking rules for prediction: first name and surname, the two swapped, date of birth, phone, postal code,
  email;
- the prior (probability that two random records match) from deterministic rules (same email; same phone; same
  names and date of birth) at an assumed recall of 0.8; u by random sampling (10 million pairs, a fixed seed); m by
  expectation maximisation over pairs blocked on date of birth, then on postal code;
- a link is a pair scored at or above `THRESHOLD` (0.9) match probability; customers are the connected
  components of the links.

Splink is a dev/bench dependency only (pyproject.toml's dev extra): the product does not import it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from bench.pairwise import Record

THRESHOLD = 0.9
"""Match probability at or above which Splink's pair is a link (the product's documented link threshold too)."""
U_MAX_PAIRS = 1e7
U_SEED = 24
PRIOR_RECALL = 0.8
"""Assumed recall of the deterministic rules that estimate the prior, as in Splink's FEBRL4 example."""

COLUMNS: dict[str, str] = {
    "first_name": "first_name_normalized",
    "surname": "last_name_normalized",
    "date_of_birth": "date_of_birth",
    "phone": "phone_e164",
    "address": "address_normalized",
    "postcode": "postal_code_normalized",
    "city": "city_normalized",
}
"""Splink's column -> the column of int_identity_records_standardized it reads."""


@dataclass
class SplinkResult:
    clusters: dict[Record, str]
    links: int
    """Pairs scored at or above the threshold."""
    parameters: dict[str, Any] = field(default_factory=dict)
    """The trained model (Splink's settings dictionary with m and u), for the details file."""


def read_records(warehouse_path: Path) -> duckdb.DuckDBPyConnection:
    """The warehouse's standardized records, with the valid email staging kept for each (the standardized
    records leave emails to the exact-key edges), as table `records` of a new in-memory DuckDB, where Splink
    then writes its own tables (the warehouse is only read)."""
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    select = ", ".join(f"records.{source} as {name}" for name, source in COLUMNS.items())
    con.execute(f"attach '{warehouse_path}' as warehouse (read_only)")
    con.execute(
        f"""
        create table records as
        with emails as (
            select 'crm:' || contact_id as record_key, email
            from warehouse.staging.stg_crm__contacts where is_email_valid
            union all
            select 'shop:' || cast(shop_customer_id as varchar), email
            from warehouse.staging.stg_shop__customers where is_email_valid
        )
        select records.record_key as unique_id, {select}, emails.email
        from warehouse.intermediate.int_identity_records_standardized as records
        left join emails on records.record_key = emails.record_key
        """
    )
    con.execute("detach warehouse")
    return con


def settings() -> Any:
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[
            block_on("first_name", "surname"),
            "l.first_name = r.surname and l.surname = r.first_name",
            block_on("date_of_birth"),
            block_on("phone"),
            block_on("postcode"),
            block_on("email"),
        ],
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=False),
            cl.DamerauLevenshteinAtThresholds("phone", [1, 2]),
            cl.JaroWinklerAtThresholds("address", [0.95, 0.88]),
            cl.DamerauLevenshteinAtThresholds("postcode", [1]).configure(term_frequency_adjustments=True),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
            cl.EmailComparison("email"),
        ],
        retain_intermediate_calculation_columns=False,
    )


def run(warehouse_path: Path, threshold: float = THRESHOLD) -> SplinkResult:
    """Train Splink on the warehouse's standardized records, predict, cluster at `threshold`."""
    from splink import DuckDBAPI, Linker, block_on

    db_api = DuckDBAPI(connection=read_records(warehouse_path))
    linker = Linker(db_api.register("records", dataset_display_name="records"), settings(), log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("phone"), block_on("first_name", "surname", "date_of_birth")],
        recall=PRIOR_RECALL,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=U_SEED)
    for rule in (block_on("date_of_birth"), block_on("postcode")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule, estimate_without_term_frequencies=True)
    predictions = linker.inference.predict(threshold_match_probability=threshold)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold
    )
    rows = clusters.as_duckdbpyrelation().select("unique_id, cluster_id").fetchall()
    (links,) = predictions.as_duckdbpyrelation().aggregate("count(*)").fetchone()
    return SplinkResult(
        clusters={_record(unique_id): str(cluster_id) for unique_id, cluster_id in rows},
        links=links,
        parameters=linker.misc.save_model_to_json(),
    )


def _record(unique_id: str) -> Record:
    """`crm:123` -> ("crm", "123"): the record key the identity models build (identity_record_key)."""
    system, _, source_id = unique_id.partition(":")
    return system, source_id
