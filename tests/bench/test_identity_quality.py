"""Identity resolution on data nobody tuned it for: FEBRL1 and households through the real pipeline.

The slow tests write the landing files, load them with the real dlt sources, `dbt build` the identity models
and score `marts.customer_identity_map` pairwise (bench.identity_quality, the code `make bench` runs), and run
Splink 5 on FEBRL1's standardized records as the reference. The fast ones check the FEBRL mapping, the
households generator and the benchmark's bookkeeping. Figures and how to reproduce: docs/identity_benchmark.md.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from bench import febrl, households
from bench.identity_quality import Measurement, Side, dbt_failures, details, measure, merge_into_results
from bench.pairwise import PairCounts, false_merges, missed_pairs, read_truth, score
from bench.report import identity_lines, markdown

# Floors a little below the figures the committed match model measured (docs/identity_benchmark.md). The lead
# raises them as the model improves; the goals are precision >= 0.995 and F1 >= Splink's on the public
# sets, zero false merges on the households.
FEBRL1_MIN_PRECISION = 0.995
FEBRL1_MIN_RECALL = 0.97  # measured 0.976 (Fellegi-Sunter model with the shared-mobile rule); old score: 0.900
FEBRL1_MIN_F1 = 0.98  # measured 0.9879; Splink 0.999
HOUSEHOLDS_MAX_FALSE_MERGES = 0  # measured 0 (the old weighted score: 133 pairs of household members merged)
HOUSEHOLDS_MIN_RECALL = 0.98  # of the people registered twice; measured 1.000
SPLINK_FEBRL1_MIN_F1 = 0.99
"""The reference is sane: Splink's own FEBRL examples reach F1 ~0.99 and more on these sets."""


# --- the FEBRL mapping ------------------------------------------------------------------------------------


def record(**fields: str) -> febrl.FebrlRecord:
    blank = dict.fromkeys(febrl.FebrlRecord.__dataclass_fields__, "")
    return febrl.FebrlRecord(**{**blank, "rec_id": "rec-7-org", **fields})


def test_a_valid_yyyymmdd_becomes_an_iso_date_and_an_invalid_one_is_left_as_given() -> None:
    assert febrl.iso_date_of_birth("19560409") == "1956-04-09"
    assert febrl.iso_date_of_birth("19081239") == "19081239"
    assert febrl.iso_date_of_birth("19870229") == "19870229", "no 29 February in 1987"
    assert febrl.iso_date_of_birth("1956049") == "1956049"
    assert febrl.iso_date_of_birth("") is None


def test_a_seven_digit_soc_sec_id_is_an_australian_mobile_number_and_any_other_is_no_phone() -> None:
    assert febrl.phone("1804974") == "0401804974"
    assert febrl.phone("180497") is None
    assert febrl.phone("18049745") is None
    assert febrl.phone("") is None


def test_the_address_joins_number_street_and_second_line_that_are_present() -> None:
    full = record(street_number="54", address_1="hoseason street", address_2="lakefront retrmnt vlge")
    assert febrl.address(full) == "54 hoseason street, lakefront retrmnt vlge"
    assert febrl.address(record(street_number="7", address_1="wallaby place")) == "7 wallaby place"
    assert febrl.address(record(address_1="maltby circuit", address_2="coaling")) == "maltby circuit, coaling"
    assert febrl.address(record()) is None


def test_a_febrl_record_is_a_hubspot_contact_without_email_whose_truth_is_its_entity() -> None:
    row = record(
        rec_id="rec-552-dup-3",
        given_name="harley",
        surname="mccarthy",
        street_number="177",
        address_1="pridhamstreet",
        suburb="marsden",
        postcode="3165",
        state="nsw",
        date_of_birth="19080419",
        soc_sec_id="6089216",
    )

    contact = febrl.contact(row)
    properties = contact["properties"]

    assert contact["id"] == "rec-552-dup-3" and contact["archived"] is False
    assert (properties["firstname"], properties["lastname"]) == ("harley", "mccarthy")
    assert (properties["city"], properties["state"], properties["zip"]) == ("marsden", "nsw", "3165")
    assert (properties["country"], properties["date_of_birth"]) == ("Australia", "1908-04-19")
    assert (properties["phone"], properties["email"]) == ("0406089216", None)
    assert febrl.truth([row]) == {("crm", "rec-552-dup-3"): "552"}


def test_the_vendored_sets_have_their_documented_sizes_and_true_pairs() -> None:
    sizes = {name: febrl.read_dataset(name) for name in febrl.DATASETS}
    true_pairs = {name: score({}, febrl.truth(records)).true_pairs for name, records in sizes.items()}

    assert {name: len(records) for name, records in sizes.items()} == {
        "febrl1": 1_000,
        "febrl2": 5_000,
        "febrl4": 10_000,
    }
    assert true_pairs["febrl1"] == 500, "one duplicate per original"
    assert true_pairs["febrl4"] == 5_000, "each record of part a has its duplicate in part b"
    assert all(r.rec_id.endswith("-org") for r in febrl.read_file(febrl.FEBRL_DIR / "dataset4a.csv"))


def test_write_landing_writes_contacts_and_truth_the_pipeline_reads(tmp_path: Path) -> None:
    truth = febrl.write_landing("febrl1", tmp_path)

    files = sorted((tmp_path / "crm" / "contacts").glob("contacts-b0000-p*.jsonl"))
    lines = [json.loads(line) for path in files for line in path.read_text().splitlines()]

    assert len(lines) == len(truth) == 1_000
    assert read_truth(tmp_path) == truth
    assert {line["id"] for line in lines} == {source_id for _, source_id in truth}


# --- the households ---------------------------------------------------------------------------------------


def test_households_are_different_people_at_one_address_with_look_alike_names() -> None:
    generated = households.generate()

    assert len(generated) == households.HouseholdsConfig().households
    assert Counter(len(h.members) for h in generated).keys() == {2, 3}
    for household in generated:
        records = [r for member in household.members for r in member.records]
        assert len({(*r["address"].split()[:2], r["city"], r["state"], r["zip"]) for r in records}) == 1, "one address"
        assert len({m.last_name for m in household.members}) == 1, "one surname"
        assert len({m.person_id for m in household.members}) == len(household.members)
        assert len({m.first_name for m in household.members}) == len(household.members), "different people"
        assert len({m.date_of_birth for m in household.members}) == len(household.members)
        group = next(g for g in households.LOOK_ALIKE_NAMES if household.members[0].first_name in g)
        assert all(m.first_name in group for m in household.members), "names of one look-alike group"


def test_households_share_phones_and_miss_fields_as_configured() -> None:
    generated = households.generate()
    first_records = [m.records[0] for h in generated for m in h.members]
    shared_phone = [h for h in generated if len({m.phone for m in h.members}) == 1]

    assert 0.45 < len(shared_phone) / len(generated) < 0.75
    assert 0.2 < sum(r["date_of_birth"] is None for r in first_records) / len(first_records) < 0.4
    assert 0.15 < sum(r["phone"] is None for r in first_records) / len(first_records) < 0.35
    assert any(len(m.records) == 2 for h in generated for m in h.members), "some people registered twice"


def test_households_are_a_pure_function_of_the_seed() -> None:
    same = households.contacts_and_truth(households.generate())
    again = households.contacts_and_truth(households.generate())
    other = households.contacts_and_truth(households.generate(households.HouseholdsConfig(seed=7)))

    assert same == again
    assert same[0] != other[0]


def test_the_only_true_pairs_of_the_households_are_a_person_s_own_records() -> None:
    contacts, truth = households.contacts_and_truth(households.generate())
    all_one_customer = dict.fromkeys(truth, "everyone")

    overall = score(all_one_customer, truth)

    assert overall.true_pairs == sum(len(m.records) == 2 for h in households.generate() for m in h.members)
    assert overall.false_merges > 300
    assert {c["properties"]["email"] for c in contacts} == {None}


# --- the scoring and the results file ---------------------------------------------------------------------


def test_f1_is_the_harmonic_mean_and_errors_are_listed_by_kind() -> None:
    truth = {("crm", "1"): "p1", ("crm", "2"): "p1", ("crm", "3"): "p2", ("crm", "4"): "p3"}
    predicted = {("crm", "1"): "a", ("crm", "2"): "b", ("crm", "3"): "c", ("crm", "4"): "c"}

    counts = score(predicted, truth)

    assert counts == PairCounts(true_pairs=1, predicted_pairs=1, correct_pairs=0)
    assert (counts.precision, counts.recall, counts.f1, counts.false_merges) == (0.0, 0.0, 0.0, 1)
    assert false_merges(predicted, truth) == [(("crm", "3"), ("crm", "4"))]
    assert missed_pairs(predicted, truth) == [(("crm", "1"), ("crm", "2"))]
    assert PairCounts(4, 2, 2).f1 == pytest.approx(2 * 1.0 * 0.5 / 1.5)


def test_identity_figures_merge_into_the_results_beside_the_scales(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    out.write_text(json.dumps({"small": {"dbt_build_s": 1.0}, "identity_quality": {"febrl2": {"f1": 0.9}}}))
    side = Side(PairCounts(10, 9, 9), 3.0, {})
    measured = Measurement("febrl1", 20, {}, tmp_path, side, side, {}, [])

    results = merge_into_results(out, [measured])

    assert results["small"] == {"dbt_build_s": 1.0}
    assert results["identity_quality"]["febrl2"] == {"f1": 0.9}, "a set not measured now keeps its figures"
    assert results["identity_quality"]["febrl1"]["recall"] == 0.9
    assert results["identity_quality_splink"]["febrl1"]["precision"] == 1.0
    assert json.loads(out.read_text()) == results
    table = "\n".join(identity_lines(results))
    assert "| febrl1 | 20 | 1.0000 | 0.9000 | 0.9474 | 0 |" in table
    assert "| febrl2 |" in table
    report = markdown(results, {}, {})
    assert "## Identity resolution beside Splink 5" in report and table in report
    assert "| figure | small |" in report, "the identity sets are not scale columns"


# --- through the real pipeline ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Measurement]:
    work = tmp_path_factory.mktemp("identity_benchmark")
    return {
        "febrl1": measure("febrl1", work, with_splink=True),
        "households": measure("households", work, with_splink=False),
    }


@pytest.mark.slow
def test_febrl1_through_the_pipeline_meets_its_floors(measured: dict[str, Measurement]) -> None:
    result = measured["febrl1"]
    counts = result.product.counts
    print(f"\nFEBRL1: product {counts}, P {counts.precision:.4f} R {counts.recall:.4f} F1 {counts.f1:.4f}")

    assert result.dbt_failures == [], "dbt build passes its tests on FEBRL1"
    assert counts.true_pairs == 500
    assert counts.precision >= FEBRL1_MIN_PRECISION
    assert counts.recall >= FEBRL1_MIN_RECALL
    assert counts.f1 >= FEBRL1_MIN_F1


@pytest.mark.slow
def test_splink_reference_links_febrl1_well(measured: dict[str, Measurement]) -> None:
    reference = measured["febrl1"].splink
    assert reference is not None
    print(f"\nFEBRL1: Splink {reference.counts}, F1 {reference.counts.f1:.4f}")

    assert reference.scored_records == 1_000, "Splink sees every FEBRL contact"
    assert reference.counts.f1 > SPLINK_FEBRL1_MIN_F1


@pytest.mark.slow
def test_household_members_are_never_merged(measured: dict[str, Measurement]) -> None:
    result = measured["households"]
    counts = result.product.counts
    merged = details(result)["product"]["false_merges_listed"]
    print(f"\nHouseholds: {counts}; merged: {[(m['left']['record'], m['right']['record']) for m in merged]}")

    assert counts.false_merges <= HOUSEHOLDS_MAX_FALSE_MERGES, merged[:5]
    assert counts.recall >= HOUSEHOLDS_MIN_RECALL


def test_dbt_failures_name_the_nodes_of_dbt_s_summary() -> None:
    output = (
        "13:15:24  Failure in unit_test test_levels (models/intermediate/identity/_identity__models.yml)\n"
        "13:15:24    Compilation Error in model int_identity_records_standardized (models/x.yml)\n"
        "13:15:25  Done. PASS=118 WARN=0 ERROR=1 SKIP=78 NO-OP=0 TOTAL=197\n"
    )

    assert dbt_failures(output) == [
        "Error in model int_identity_records_standardized (models/x.yml)",
        "Failure in unit_test test_levels (models/intermediate/identity/_identity__models.yml)",
    ]
    assert dbt_failures("13:15:25  Done. PASS=118 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=118\n") == []
