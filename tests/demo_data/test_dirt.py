"""The generator's own dirt: drawn from its own lists, never the cleaning's, and of kinds the cleaning was not
shown (households, flats, married surnames, placeholder birth dates, a throttled scraper, varied fuzzy
evidence), each present at demo scale with its ground truth."""

from __future__ import annotations

import ast
import json
import math
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import pytest
from nicknames import NickNamer

from demo_data.dirt import DirtRates
from demo_data.dirt_sources import NICKNAMES, PLACEHOLDER_DATES_OF_BIRTH
from demo_data.generator import GeneratorConfig, generate
from demo_data.reference.internet import BROWSER_USER_AGENTS
from tests.demo_data.test_generator import lines as _lines
from tests.demo_data.test_generator import truth as _truth

GENERATOR_DIR = Path(__file__).resolve().parents[2] / "demo_data"
REFERENCE_PACKAGES = {"nicknames", "pycountry", "phonenumbers", "crawler_user_agents", "babel"}
"""Where the cleaning's reference seeds come from: the generator must use none of them."""
MIN_UNLISTED_NICKNAME_SHARE = 0.25
"""Share of the generator's (formal, nickname) pairs the `nicknames` package must not know."""
Record = tuple[str, str]


def _within(hits: int, n: int, rate: float) -> bool:
    """Binomial tolerance: four standard deviations (plus one for tiny samples)."""
    return abs(hits - n * rate) <= 4 * math.sqrt(n * rate * (1 - rate)) + 1


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo scale of conftest's built_warehouse (2,000 persons, 60 days, seed 42)."""
    out = tmp_path_factory.mktemp("demo")
    generate(GeneratorConfig(customers=2_000, days=60, seed=42, as_of=datetime(2026, 11, 23, 12, tzinfo=UTC)), out)
    return out


@pytest.fixture(scope="module")
def records(demo: Path) -> dict[Record, dict[str, Any]]:
    """First version of every CRM contact and Shopify customer, with the person behind it."""
    person_of = {(r["source_system"], r["source_id"]): r["person_id"] for r in _truth(demo, "identity.csv")}
    found: dict[Record, dict[str, Any]] = {}
    for contact in _lines(demo, "crm/contacts"):
        p = contact["properties"]
        found.setdefault(
            ("crm", contact["id"]),
            {
                "system": "crm",
                "person_id": person_of[("crm", contact["id"])],
                "first_name": p["firstname"],
                "last_name": p["lastname"],
                "email": (p["email"] or "").strip().lower() or None,
                "phone": _digits(p["phone"] or p["mobilephone"]),
                "date_of_birth": p["date_of_birth"],
                "address": p["address"],
                "address2": "",
                "zip": p["zip"],
            },
        )
    for customer in _lines(demo, "shop/customers"):
        address = customer["default_address"]
        found.setdefault(
            ("shop", str(customer["id"])),
            {
                "system": "shop",
                "person_id": person_of[("shop", str(customer["id"]))],
                "first_name": customer["first_name"],
                "last_name": customer["last_name"],
                "email": customer["email"],
                "phone": _digits(customer["phone"] or address["phone"]),
                "date_of_birth": None,
                "address": address["address1"],
                "address2": address["address2"],
                "zip": address["zip"],
            },
        )
    streets = {
        (r["source_system"], r["source_id"]): r["true_value"]
        for r in _truth(demo, "record_dirt.csv")
        if r["kind"] == "apartment"
    }
    for key, record in found.items():
        record["street"] = streets.get(key, record["address"])
    return found


def _digits(phone: str | None) -> str | None:
    return re.sub(r"\D", "", phone)[-7:] if phone else None


def _by_person(records: dict[Record, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    people: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records.values():
        people[record["person_id"]].append(record)
    return people


# --- independence from the cleaning's sources ------------------------------------------------------------


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _code_strings(path: Path) -> list[str]:
    """String constants of the module other than docstrings (bare string statements)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_the_generator_imports_no_reference_package_of_the_cleaning() -> None:
    modules = sorted(GENERATOR_DIR.rglob("*.py"))
    assert len(modules) >= 10
    for module in modules:
        imported = {name.split(".")[0] for name in _imported_modules(module)}
        assert not imported & REFERENCE_PACKAGES, (module.name, imported & REFERENCE_PACKAGES)
        assert not imported & {"dbt", "ingestion", "orchestration"}, module.name


def test_the_generator_reads_nothing_from_the_dbt_project() -> None:
    for module in sorted(GENERATOR_DIR.rglob("*.py")):
        strings = _code_strings(module)
        assert not [s for s in strings if "dbt_project" in s or "seeds" in s or s.endswith(".csv") and "/" in s], (
            module.name
        )


def test_a_share_of_the_generators_nicknames_is_unknown_to_the_nicknames_package() -> None:
    namer = NickNamer()
    pairs = [(formal, nickname) for formal, nicknames in NICKNAMES.items() for nickname in nicknames]
    unknown = [
        (formal, nickname)
        for formal, nickname in pairs
        if nickname.lower() not in namer.nicknames_of(formal.lower())
        and formal.lower() not in namer.canonicals_of(nickname.lower())
    ]
    assert len(unknown) >= MIN_UNLISTED_NICKNAME_SHARE * len(pairs), unknown


def test_nicknames_outside_the_package_reach_the_records_with_their_formal_name(
    demo: Path, records: dict[Record, dict[str, Any]]
) -> None:
    namer = NickNamer()
    rows = [r for r in _truth(demo, "record_dirt.csv") if r["kind"] == "nickname"]
    written = [(r["true_value"], records[(r["source_system"], r["source_id"])]) for r in rows]
    for formal, record in written:
        assert record["first_name"] in NICKNAMES[formal] or record["last_name"] in NICKNAMES[formal]
    unlisted = [
        formal
        for formal, record in written
        if formal.lower() not in namer.canonicals_of(record["first_name"].lower())
        and formal.lower() not in namer.canonicals_of(record["last_name"].lower())
    ]
    assert len(rows) >= 50
    assert len(unlisted) >= 0.1 * len(rows)


# --- households: different people at one address ---------------------------------------------------------


def test_households_are_different_people_sharing_surname_and_address(
    demo: Path, records: dict[Record, dict[str, Any]]
) -> None:
    households: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _truth(demo, "households.csv"):
        households[row["household_id"]].append(row)
    people = _by_person(records)
    visible, same_surname = 0, 0
    for members in households.values():
        person_ids = [m["person_id"] for m in members]
        assert len(person_ids) == 2 and len(set(person_ids)) == 2, members
        written = [people[p] for p in person_ids]
        if not all(written):
            continue  # a member known to the web analytics only
        visible += 1
        head_places, member_places = ({(r["zip"], r["street"]) for r in recs if r["street"]} for recs in written)
        assert head_places & member_places, members
        surnames = [{r["last_name"] for r in recs} | {r["first_name"] for r in recs} for recs in written]
        same_surname += bool(surnames[0] & surnames[1])  # wherever a swap put it, unless a typo changed it
        if "phone" in members[0]["shared"]:
            phones = [{r["phone"] for r in recs if r["phone"]} for recs in written]
            assert not all(phones) or phones[0] & phones[1], members
    assert visible >= 15
    assert same_surname >= 0.8 * visible


def test_household_members_often_have_look_alike_given_names_and_miss_a_dob_or_phone(
    demo: Path, records: dict[Record, dict[str, Any]]
) -> None:
    people = _by_person(records)
    pairs = defaultdict(list)
    for row in _truth(demo, "households.csv"):
        pairs[row["household_id"]].append(row["person_id"])
    look_alike, incomplete, shared_phone = 0, 0, 0
    for head, member in pairs.values():
        if not (people[head] and people[member]):
            continue
        names = [{r["first_name"] for r in people[p]} for p in (head, member)]
        if any(SequenceMatcher(None, a, b).ratio() >= 0.6 and a != b for a in names[0] for b in names[1]):
            look_alike += 1
        incomplete += any(
            r["phone"] is None or (r["system"] == "crm" and r["date_of_birth"] is None) for r in people[member]
        )
        shared_phone += bool({r["phone"] for r in people[head]} & {r["phone"] for r in people[member]} - {None})
    assert look_alike >= 5
    assert incomplete >= 5
    assert shared_phone >= 3


def test_households_are_different_people_in_the_identity_truth(demo: Path) -> None:
    person_ids = {r["person_id"] for r in _truth(demo, "identity.csv")}
    by_household = defaultdict(set)
    for row in _truth(demo, "households.csv"):
        by_household[row["household_id"]].add(row["person_id"])
    assert by_household and all(len(members) == 2 for members in by_household.values())
    assert sum(members <= person_ids for members in by_household.values()) >= 15


# --- flats, married surnames, placeholder dates of birth -------------------------------------------------


def test_flats_are_written_inline_on_line_two_or_not_at_all(demo: Path, records: dict[Record, dict[str, Any]]) -> None:
    rows = [r for r in _truth(demo, "record_dirt.csv") if r["kind"] == "apartment"]
    fields = Counter(r["field"] for r in rows)
    assert fields["address"] >= 30 and fields["address1"] >= 5 and fields["address2"] >= 20, fields
    for row in rows:
        record = records[(row["source_system"], row["source_id"])]
        if row["field"] == "address2":
            assert record["address"] == row["true_value"] and record["address2"], row
        else:
            street_number = re.search(r"\d+", row["true_value"])
            assert street_number and record["address"] != row["true_value"], row
            assert row["true_value"].replace(street_number.group(), "") in record["address"].replace(
                street_number.group(), ""
            ), (row, record["address"])


def test_married_surname_duplicates_come_later_and_keep_the_email_or_the_phone_and_dob(
    demo: Path, records: dict[Record, dict[str, Any]]
) -> None:
    rows = [r for r in _truth(demo, "record_dirt.csv") if r["kind"] == "married_surname"]
    people = _by_person(records)
    assert len(rows) >= 15
    kept_email = 0
    for row in rows:
        renamed = records[(row["source_system"], row["source_id"])]
        assert row["true_value"] not in (renamed["last_name"], renamed["first_name"]), row
        others = [r for r in people[renamed["person_id"]] if r is not renamed]
        assert others, row
        same_email = any(renamed["email"] and r["email"] == renamed["email"] for r in others)
        same_phone = any(renamed["phone"] and r["phone"] == renamed["phone"] for r in others)
        assert same_email or (same_phone and renamed["date_of_birth"]), row
        kept_email += same_email
    assert 0 < kept_email < len(rows)


def test_placeholder_dates_of_birth_are_listed_as_invalid(demo: Path, records: dict[Record, dict[str, Any]]) -> None:
    rows = [r for r in _truth(demo, "invalid.csv") if r["reason"] == "placeholder_date_of_birth"]
    assert len(rows) >= 5
    written = {records[("crm", r["source_id"])]["date_of_birth"] for r in rows}
    assert written <= set(PLACEHOLDER_DATES_OF_BIRTH) and len(written) >= 2


# --- varied evidence of fuzzy duplicates -------------------------------------------------------------------


def test_fuzzy_duplicates_carry_varying_evidence(demo: Path) -> None:
    evidence = Counter(r["evidence"] for r in _truth(demo, "fuzzy_pairs.csv"))
    tokens = Counter(token for kinds, n in evidence.items() for token in kinds.split("+") for _ in range(n))
    sizes = Counter(len(kinds.split("+")) for kinds in evidence.elements())
    assert tokens["phone_one_digit_off"] >= 3 and tokens["date_of_birth_day_month_swapped"] >= 1, tokens
    assert len(sizes) >= 2, sizes  # not always the same number of corroborating attributes


# --- the throttled scraper ---------------------------------------------------------------------------------


def test_a_throttled_scraper_browses_for_hours_under_any_rate_limit_with_a_browser_agent(demo: Path) -> None:
    scrapers = {r["anonymous_id"] for r in _truth(demo, "bots.csv") if r["reason"] == "throttled_scraper"}
    assert scrapers and all(r["is_bot"] == "true" for r in _truth(demo, "bots.csv") if r["anonymous_id"] in scrapers)
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in _lines(demo, "analytics/events"):
        if event["anonymousId"] in scrapers:
            events[event["anonymousId"]].append(event)
    for scraper, seen in events.items():
        received = sorted(datetime.fromisoformat(e["receivedAt"]) for e in seen)
        per_minute = Counter(moment.replace(second=0, microsecond=0) for moment in received)
        assert {e["type"] for e in seen} == {"page"}, scraper  # no identify, no cart
        assert {e["context"]["userAgent"] for e in seen} <= set(BROWSER_USER_AGENTS)
        assert not any(e["userId"] for e in seen)
        assert max(per_minute.values()) <= 5, scraper
        assert (received[-1] - received[0]).total_seconds() >= 1.5 * 3_600, scraper


# --- rates ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["household", "apartment", "married_surname", "placeholder_dob", "throttled_scraper"])
def test_new_dirt_rates_are_realized(demo: Path, kind: str) -> None:
    report = json.loads((demo / "_truth" / "manifest.json").read_text())["batches"][0]["dirt"][kind]
    assert report["asked"] == getattr(DirtRates(), kind)
    assert report["hits"] > 0
    assert _within(report["hits"], report["eligible"], report["asked"]), report
