"""The demo data generator's contract: API shapes, determinism, dirt rates, ground truth, increments."""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import pytest

from demo_data.dirt import DirtRates, parse_rate_options
from demo_data.dirt_sources import PLACEHOLDER_DATES_OF_BIRTH
from demo_data.generator import GeneratorConfig, generate

AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SHOP_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
UTC_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MONEY = re.compile(r"^-?\d+\.\d\d$")
VALID_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
Record = tuple[str, str]
"""(source_system, source_id), as in _truth/identity.csv."""
RAISED_RATES = {
    "invalid_email": 0.2,
    "crm_duplicate": 0.3,
    "bot": 0.1,
    "test_order": 0.1,
    "duplicate_event": 0.05,
    "fuzzy_duplicate": 0.2,
    "namesake": 0.1,
}


def lines(out: Path, subdir: str) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted((out / subdir).glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def truth(out: Path, name: str) -> list[dict[str, str]]:
    with (out / "_truth" / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("base")
    generate(
        GeneratorConfig(customers=250, days=21, seed=3, as_of=AS_OF, part_lines=2_000, change_share=0.1), out
    )
    return out


@pytest.fixture(scope="module")
def incremented(base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("increment") / "landing"
    shutil.copytree(base, out)
    generate(GeneratorConfig(seed=3, increment=1, as_of=AS_OF + timedelta(days=2)), out)
    return out


@pytest.fixture(scope="module")
def raised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("raised")
    rates = DirtRates().with_overrides(RAISED_RATES)
    generate(GeneratorConfig(customers=400, days=14, seed=11, as_of=AS_OF, rates=rates), out)
    return out


def within(hits: int, n: int, rate: float) -> bool:
    """Binomial tolerance: four standard deviations (plus one for tiny samples)."""
    return abs(hits - n * rate) <= 4 * math.sqrt(n * rate * (1 - rate)) + 1


def test_every_line_of_every_file_is_a_json_object(base: Path) -> None:
    files = sorted(base.glob("*/*/*.jsonl"))
    assert len(files) >= 6
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            assert isinstance(json.loads(line), dict), path


def test_crm_contacts_have_the_hubspot_v3_shape(base: Path) -> None:
    for contact in lines(base, "crm/contacts"):
        assert {"id", "properties", "createdAt", "updatedAt", "archived"} <= contact.keys()
        assert isinstance(contact["id"], str) and contact["id"].isdigit()
        assert isinstance(contact["archived"], bool)
        assert UTC_MILLIS.match(contact["createdAt"]) and UTC_MILLIS.match(contact["updatedAt"])
        assert all(v is None or isinstance(v, str) for v in contact["properties"].values())
        assert contact["properties"]["hs_email_optout"] in ("true", "false")


def test_shop_customers_have_the_shopify_shape(base: Path) -> None:
    for customer in lines(base, "shop/customers"):
        assert isinstance(customer["id"], int) and isinstance(customer["orders_count"], int)
        assert MONEY.match(customer["total_spent"]) and customer["currency"] in {
            "USD",
            "CAD",
            "GBP",
            "EUR",
            "AUD",
        }
        assert SHOP_TIME.match(customer["created_at"]) and SHOP_TIME.match(customer["updated_at"])
        assert customer["email_marketing_consent"]["state"] in {
            "subscribed",
            "not_subscribed",
            "unsubscribed",
        }
        assert isinstance(customer["accepts_marketing"], bool)
        assert customer["default_address"]["country_code"] == customer["addresses"][0]["country_code"]


def test_shop_orders_have_the_shopify_shape(base: Path) -> None:
    orders = lines(base, "shop/orders")
    assert orders
    for order in orders:
        assert isinstance(order["id"], int) and isinstance(order["customer"]["id"], int)
        for key in ("total_price", "subtotal_price", "total_tax", "total_discounts"):
            assert MONEY.match(order[key]), key
        for key in ("created_at", "updated_at", "processed_at"):
            assert SHOP_TIME.match(order[key]), key
        assert isinstance(order["test"], bool) and order["line_items"]
        assert all(isinstance(i["quantity"], int) and MONEY.match(i["price"]) for i in order["line_items"])
        assert all(MONEY.match(t["amount"]) for r in order["refunds"] for t in r["transactions"])


def test_products_and_checkouts_have_the_shopify_shape(base: Path) -> None:
    products = lines(base, "shop/products")
    assert 50 <= len(products) <= 200
    assert all(
        p["product_type"] and p["variants"] and MONEY.match(p["variants"][0]["price"]) for p in products
    )
    checkouts = lines(base, "shop/checkouts")
    assert any(c["completed_at"] is None for c in checkouts) and any(c["completed_at"] for c in checkouts)
    assert all(SHOP_TIME.match(c["created_at"]) and MONEY.match(c["total_price"]) for c in checkouts)


def test_events_are_segment_spec_messages(base: Path) -> None:
    events = lines(base, "analytics/events")
    assert {e["type"] for e in events} == {"identify", "track", "page"}
    for event in events:
        assert UTC_MILLIS.match(event["timestamp"]) and UTC_MILLIS.match(event["receivedAt"])
        assert event["messageId"] and event["anonymousId"]
        assert {"userAgent", "ip", "page"} <= event["context"].keys()
        assert (event["type"] == "track") == isinstance(event["event"], str)
        assert (event["type"] == "page") == isinstance(event["name"], str)
    assert {"Product Viewed", "Product Added", "Checkout Started", "Order Completed"} <= {
        e["event"] for e in events
    }


def test_same_seed_and_as_of_give_byte_identical_files(tmp_path: Path) -> None:
    for name in ("a", "b"):
        generate(GeneratorConfig(customers=60, days=7, seed=5, as_of=AS_OF), tmp_path / name)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


def test_gzip_parts_hold_the_same_lines_and_a_new_base_removes_them(tmp_path: Path) -> None:
    config = GeneratorConfig(customers=60, days=7, seed=5, as_of=AS_OF, part_lines=500)
    generate(config, tmp_path / "plain")
    generate(replace(config, gzip=True), tmp_path / "gz")
    generate(replace(config, gzip=True), tmp_path / "gz-again")

    plain = sorted(p.relative_to(tmp_path / "plain") for p in (tmp_path / "plain").rglob("*.jsonl"))
    zipped = sorted(p.relative_to(tmp_path / "gz") for p in (tmp_path / "gz").rglob("*.jsonl.gz"))
    assert len(plain) > 6 and [Path(f"{p}.gz") for p in plain] == zipped
    assert not list((tmp_path / "gz").rglob("*.jsonl"))
    for part in plain:
        zipped_bytes = (tmp_path / "gz" / f"{part}.gz").read_bytes()
        assert gzip.decompress(zipped_bytes) == (tmp_path / "plain" / part).read_bytes()
        assert zipped_bytes == (tmp_path / "gz-again" / f"{part}.gz").read_bytes()
    generate(config, tmp_path / "gz")  # a new plain base in the same directory replaces the gzip parts
    assert not list((tmp_path / "gz").rglob("*.jsonl.gz"))


def test_a_different_seed_gives_different_data(tmp_path: Path) -> None:
    for name, seed in (("a", 5), ("b", 6)):
        generate(GeneratorConfig(customers=60, days=7, seed=seed, as_of=AS_OF), tmp_path / name)
    contacts = "crm/contacts/contacts-b0000-p0000.jsonl"
    assert (tmp_path / "a" / contacts).read_bytes() != (tmp_path / "b" / contacts).read_bytes()


def test_invalid_email_rate_is_realized(raised: Path) -> None:
    first_versions = {c["id"] for c in lines(raised, "crm/contacts")}
    invalid = [r for r in truth(raised, "invalid.csv") if r["field"] == "email"]
    assert within(len(invalid), len(first_versions), RAISED_RATES["invalid_email"])


def test_duplicate_contact_rate_is_realized(raised: Path) -> None:
    per_person = Counter(r["person_id"] for r in truth(raised, "identity.csv") if r["source_system"] == "crm")
    duplicated = sum(1 for n in per_person.values() if n == 2)
    assert within(duplicated, len(per_person), RAISED_RATES["crm_duplicate"])


def test_bot_rate_is_realized(raised: Path) -> None:
    bots = [r for r in truth(raised, "bots.csv") if r["reason"] == "bot_user_agent"]
    assert within(len(bots), 400, RAISED_RATES["bot"])


def test_test_order_rate_is_realized(raised: Path) -> None:
    orders = lines(raised, "shop/orders")
    test_orders = [r for r in truth(raised, "invalid.csv") if r["reason"] == "test_order"]
    assert within(len(test_orders), len(orders), RAISED_RATES["test_order"])


def test_redelivered_event_rate_is_realized(raised: Path) -> None:
    ids = Counter(e["messageId"] for e in lines(raised, "analytics/events"))
    repeated = sum(n - 1 for n in ids.values())
    assert repeated > 0 and within(repeated, len(ids), RAISED_RATES["duplicate_event"])


def test_manifest_reports_asked_and_realized_rates(raised: Path) -> None:
    manifest = json.loads((raised / "_truth" / "manifest.json").read_text())
    dirt = manifest["batches"][0]["dirt"]
    assert dirt["invalid_email"]["asked"] == RAISED_RATES["invalid_email"]
    assert all(d["realized"] == round(d["hits"] / d["eligible"], 6) for d in dirt.values() if d["eligible"])
    assert manifest["as_of"] if "as_of" in manifest else manifest["batches"][0]["as_of"] == AS_OF.isoformat()


def _ids_in_data(out: Path) -> set[tuple[str, str]]:
    ids = {("crm", c["id"]) for c in lines(out, "crm/contacts")}
    ids |= {("shop", str(c["id"])) for c in lines(out, "shop/customers")}
    for event in lines(out, "analytics/events"):
        ids.add(("analytics", event["anonymousId"]))
        if event["userId"]:
            ids.add(("analytics", event["userId"]))
    ids |= {("helpdesk", str(u["id"])) for u in lines(out, "helpdesk/users") if u["role"] == "end-user"}
    return ids


def test_identity_truth_covers_exactly_the_ids_in_the_data(base: Path) -> None:
    rows = truth(base, "identity.csv")
    assert {(r["source_system"], r["source_id"]) for r in rows} == _ids_in_data(base)
    assert len(rows) == len({(r["source_system"], r["source_id"]) for r in rows})


def test_bots_truth_lists_every_anonymous_id_once(base: Path) -> None:
    rows = truth(base, "bots.csv")
    anonymous_ids = {e["anonymousId"] for e in lines(base, "analytics/events")}
    assert sorted(r["anonymous_id"] for r in rows) == sorted(anonymous_ids)
    assert {r["is_bot"] for r in rows} == {"true", "false"}


def test_invalid_rows_point_at_records_whose_value_is_invalid(raised: Path) -> None:
    contacts = {c["id"]: c["properties"] for c in lines(raised, "crm/contacts")}
    orders = {str(o["id"]): o for o in lines(raised, "shop/orders")}
    for row in truth(raised, "invalid.csv"):
        if row["field"] == "email" and row["source_system"] == "crm":
            assert not VALID_EMAIL.match(contacts[row["source_id"]]["email"].strip().lower())
        elif row["reason"] == "placeholder_date_of_birth":
            assert contacts[row["source_id"]]["date_of_birth"] in PLACEHOLDER_DATES_OF_BIRTH
        elif row["field"] == "date_of_birth":
            years = [int(y) for y in re.findall(r"\d{4}", contacts[row["source_id"]]["date_of_birth"])]
            assert any(y < 1900 or y > AS_OF.year for y in years)
        else:
            order = orders[row["source_id"]]
            assert order["test"] or order["email"].startswith("test+")


def _digits(phone: str | None) -> str | None:
    return re.sub(r"\D", "", phone)[-7:] if phone else None


def _person_records(out: Path) -> dict[Record, dict[str, str | None]]:
    """The identity attributes of every CRM contact (first version) and Shopify customer, by record."""
    records: dict[Record, dict[str, str | None]] = {}
    for c in lines(out, "crm/contacts"):
        p = c["properties"]
        records.setdefault(
            ("crm", c["id"]),
            {
                "first_name": p["firstname"],
                "last_name": p["lastname"],
                "email": (p["email"] or "").strip().lower() or None,
                "phone": _digits(p["phone"] or p["mobilephone"]),
                "date_of_birth": p["date_of_birth"],
                "zip": p["zip"],
                "address": p["address"],
            },
        )
    for c in lines(out, "shop/customers"):
        records.setdefault(
            ("shop", str(c["id"])),
            {
                "first_name": c["first_name"],
                "last_name": c["last_name"],
                "email": c["email"],
                "phone": _digits(c["phone"]),
                "date_of_birth": None,
                "zip": c["default_address"]["zip"],
                "address": c["default_address"]["address1"],
            },
        )
    return records


def _fuzzy_pairs(out: Path) -> dict[frozenset[Record], str]:
    """The record pairs the generator made linkable only fuzzily, with the attributes they share."""
    return {
        frozenset({(r["source_system"], r["source_id"]), (r["other_source_system"], r["other_source_id"])}): r[
            "evidence"
        ]
        for r in truth(out, "fuzzy_pairs.csv")
    }


def test_records_of_one_person_share_an_email_or_phone_unless_a_fuzzy_pair(base: Path) -> None:
    person_of = {(r["source_system"], r["source_id"]): r["person_id"] for r in truth(base, "identity.csv")}
    fuzzy = _fuzzy_pairs(base)
    by_person: dict[str, list[Record]] = defaultdict(list)
    records = _person_records(base)
    for record in records:
        by_person[person_of[record]].append(record)
    pairs = [(a, b) for recs in by_person.values() for i, a in enumerate(recs) for b in recs[i + 1 :]]
    ordinary = [(a, b) for a, b in pairs if frozenset({a, b}) not in fuzzy]
    assert fuzzy and ordinary and len(pairs) == len(ordinary) + len(fuzzy)
    for a, b in ordinary:
        ra, rb = records[a], records[b]
        assert (ra["email"] and ra["email"] == rb["email"]) or (ra["phone"] and ra["phone"] == rb["phone"]), (a, b)


def _name_similarity(a: dict[str, str | None], b: dict[str, str | None]) -> float:
    """Similarity of two written names, first and last in either order (nicknames are not forgiven here)."""

    def name(r: dict[str, str | None]) -> list[str]:
        return sorted((r["first_name"] or "").lower().split() + (r["last_name"] or "").lower().split())

    return SequenceMatcher(None, " ".join(name(a)), " ".join(name(b))).ratio()


def _streets(out: Path) -> dict[Record, str]:
    """The street address behind each record that writes a flat inline or on line 2 (_truth/record_dirt.csv)."""
    return {
        (r["source_system"], r["source_id"]): r["true_value"]
        for r in truth(out, "record_dirt.csv")
        if r["kind"] == "apartment"
    }


def test_fuzzy_pairs_share_no_email_or_phone_only_a_similar_name_and_varying_evidence(raised: Path) -> None:
    records = _person_records(raised)
    streets = _streets(raised)
    fuzzy = _fuzzy_pairs(raised)
    assert len(fuzzy) >= 40
    similar = 0
    for pair, evidence in fuzzy.items():
        (ka, a), (kb, b) = ((r, records[r]) for r in sorted(pair))
        assert not (a["email"] and a["email"] == b["email"]), pair
        assert not (a["phone"] and a["phone"] == b["phone"]), pair
        assert evidence.startswith("name+"), evidence
        if "date_of_birth" in evidence:
            assert a["date_of_birth"] and b["date_of_birth"], pair
        if "phone_one_digit_off" in evidence:
            assert a["phone"] and b["phone"], pair
            assert sum(x != y for x, y in zip(a["phone"], b["phone"], strict=True)) == 1, pair
        if "address" in evidence:
            street_a, street_b = streets.get(ka, a["address"]), streets.get(kb, b["address"])
            assert street_a and (street_a, a["zip"]) == (street_b, b["zip"]), pair
        if "postal_code" in evidence:
            assert a["zip"] and a["zip"] == b["zip"], pair
        similar += _name_similarity(a, b) >= 0.6
    # a nickname ("Bob" for "Robert") can look unlike the name; typos and swaps do not
    assert similar >= 0.8 * len(fuzzy)
    # the evidence varies: not always the same two attributes
    assert len(set(fuzzy.values())) >= 5


def test_fuzzy_duplicate_rate_is_realized(raised: Path) -> None:
    fuzzy_contacts = {r["source_id"] for r in truth(raised, "fuzzy_pairs.csv")}
    people = {
        r["person_id"]
        for r in truth(raised, "identity.csv")
        if r["source_system"] != "analytics" and r["source_id"] not in fuzzy_contacts
    }
    assert within(len(fuzzy_contacts), len(people), RAISED_RATES["fuzzy_duplicate"])


def test_namesakes_are_different_people_with_one_name_and_a_city_or_birth_year(raised: Path) -> None:
    person_of = {(r["source_system"], r["source_id"]): r["person_id"] for r in truth(raised, "identity.csv")}
    people_by_name: dict[tuple[str, str], set[str]] = defaultdict(set)
    zips_by_name: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for record, r in _person_records(raised).items():
        name = ((r["first_name"] or "").lower(), (r["last_name"] or "").lower())
        if person_of[record] not in people_by_name[name]:
            zips_by_name[name][r["zip"] or ""] += 1
        people_by_name[name].add(person_of[record])
    shared = [name for name, people in people_by_name.items() if len(people) > 1]
    neighbours = [name for name in shared if zips_by_name[name].most_common(1)[0][1] > 1]
    # 400 persons at rate 0.1: ~40 namesakes, ~3/4 of them visible in the CRM or the shop
    assert len(shared) >= 10
    assert len(neighbours) >= 2


def test_every_human_device_is_identified_by_user_id_or_email(base: Path) -> None:
    person_of = {(r["source_system"], r["source_id"]): r["person_id"] for r in truth(base, "identity.csv")}
    emails = {(c["properties"]["email"] or "").strip().lower() for c in lines(base, "crm/contacts")}
    emails |= {c["email"] for c in lines(base, "shop/customers")}
    identified = {
        e["anonymousId"]
        for e in lines(base, "analytics/events")
        if e["userId"] or (e["type"] == "identify" and e["traits"].get("email") in emails)
    }
    humans = {r["anonymous_id"] for r in truth(base, "bots.csv") if r["is_bot"] == "false"}
    # the people a CRM or shop record names (the emails above): a visitor who only wrote to the helpdesk is not one
    people_with_records = {person_of[k] for k in person_of if k[0] in ("crm", "shop")}
    expected = {a for a in humans if person_of[("analytics", a)] in people_with_records}
    assert expected and expected <= identified


def test_part_files_rotate_at_the_configured_line_count(base: Path) -> None:
    parts = sorted((base / "analytics/events").glob("events-b0000-p*.jsonl"))
    assert len(parts) >= 2
    assert all(len(p.read_text().splitlines()) <= 2_000 for p in parts)


def test_increment_delivers_new_contacts(base: Path, incremented: Path) -> None:
    before = {c["id"] for c in lines(base, "crm/contacts")}
    batch1 = [
        json.loads(x)
        for x in (incremented / "crm/contacts/contacts-b0001-p0000.jsonl").read_text().splitlines()
    ]
    assert {c["id"] for c in batch1} - before


def test_increment_redelivers_changed_contacts_with_a_later_updated_at(base: Path, incremented: Path) -> None:
    latest: dict[str, dict[str, Any]] = {}
    for c in lines(base, "crm/contacts"):
        latest[c["id"]] = c
    batch1 = [
        json.loads(x)
        for x in (incremented / "crm/contacts/contacts-b0001-p0000.jsonl").read_text().splitlines()
    ]
    changed = [c for c in batch1 if c["id"] in latest]
    assert changed
    for contact in changed:
        previous = latest[contact["id"]]
        assert contact["updatedAt"] > previous["updatedAt"]
        assert contact["properties"] != previous["properties"] or contact["archived"] != previous["archived"]


def test_increment_events_fall_after_the_previous_as_of_unless_late(incremented: Path) -> None:
    path = incremented / "analytics/events/events-b0001-p0000.jsonl"
    events = [json.loads(x) for x in path.read_text().splitlines()]
    start = AS_OF.isoformat().replace("+00:00", ".000Z")
    early = [e for e in events if e["timestamp"] < start]
    assert events and all(e["receivedAt"] >= start for e in early)
    assert len(early) < 0.1 * len(events)


def test_increment_extends_identity_truth_and_manifest(base: Path, incremented: Path) -> None:
    assert len(truth(incremented, "identity.csv")) > len(truth(base, "identity.csv"))
    assert {(r["source_system"], r["source_id"]) for r in truth(incremented, "identity.csv")} == _ids_in_data(
        incremented
    )
    manifest = json.loads((incremented / "_truth/manifest.json").read_text())
    assert [b["batch"] for b in manifest["batches"]] == [0, 1]


def test_increment_without_a_base_generation_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no earlier generation"):
        generate(GeneratorConfig(increment=1, as_of=AS_OF), tmp_path)


def test_increment_must_be_the_next_batch(base: Path, tmp_path: Path) -> None:
    shutil.copytree(base, tmp_path / "landing")
    with pytest.raises(ValueError, match="the next one is 1"):
        generate(GeneratorConfig(seed=3, increment=2, as_of=AS_OF + timedelta(days=1)), tmp_path / "landing")


STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def _timestamps(value: Any, path: str = "") -> Iterator[tuple[str, datetime]]:
    """Every (json path, moment) in a landing record: HubSpot, Shopify and Segment all write ISO-8601 strings."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _timestamps(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _timestamps(item, f"{path}[]")
    elif isinstance(value, str) and STAMP.match(value):
        yield path, datetime.fromisoformat(value.replace("Z", "+00:00"))


def _batch_timestamps(out: Path, batch: int) -> Iterator[tuple[str, str, datetime]]:
    """(landing directory, json path, moment) of every timestamp batch `batch` wrote."""
    for part in sorted(out.glob(f"*/*/*-b{batch:04d}-p*.jsonl")):
        directory = part.parent.relative_to(out).as_posix()
        for line in part.read_text(encoding="utf-8").splitlines():
            for path, moment in _timestamps(json.loads(line)):
                yield directory, path, moment


def test_increments_typed_without_as_of_write_nothing_after_now(tmp_path: Path) -> None:
    """The README's commands typed one after another, here seconds apart: every batch ends now, so the raw
    check `no_future_timestamps` passes however short an increment's window is."""
    from typer.testing import CliRunner

    from cli.main import app

    landing = tmp_path / "landing"
    for increment in (0, 1, 2):
        command = ["generate", "--customers", "300", "--days", "3", "--seed", "9", "--out", str(landing)]
        result = CliRunner().invoke(app, [*command, "--increment", str(increment)])
        assert result.exit_code == 0, result.output
    now = datetime.now(UTC) + timedelta(seconds=2)

    manifest = json.loads((landing / "_truth/manifest.json").read_text())
    assert [b["batch"] for b in manifest["batches"]] == [0, 1, 2]
    for batch in (1, 2):
        stamps = list(_batch_timestamps(landing, batch))
        assert {directory for directory, _, _ in stamps} >= {"crm/contacts", "shop/customers", "analytics/events"}
        future = [(d, p, m.isoformat()) for d, p, m in stamps if m > now]
        assert not future, future[:5]
    assert all(moment <= now for _, _, moment in _batch_timestamps(landing, 0))


@pytest.mark.parametrize("windows", [(1, 0.5, 10), (3, 60, 2)])
def test_no_batch_writes_after_its_as_of_however_short_its_window(tmp_path: Path, windows: tuple) -> None:
    """Windows in minutes. Sessions near a batch's end are moved inside it (squeezed if longer than it), CDC
    versions and re-deliveries capped at it; what an increment receives, it receives inside its window."""
    ends = [AS_OF]
    generate(GeneratorConfig(customers=300, days=5, seed=13, as_of=AS_OF), tmp_path)
    for increment, minutes in enumerate(windows, start=1):
        ends.append(ends[-1] + timedelta(minutes=minutes))
        generate(GeneratorConfig(seed=13, increment=increment, as_of=ends[-1]), tmp_path)

    for batch, end in enumerate(ends):
        stamps = list(_batch_timestamps(tmp_path, batch))
        assert stamps
        late = [(d, p, m.isoformat()) for d, p, m in stamps if m > end]
        assert not late, (batch, end.isoformat(), late[:5])
        if batch:
            received = [m for d, p, m in stamps if p in (".receivedAt", ".updatedAt", ".updated_at")]
            assert received and min(received) >= ends[batch - 1], batch


def test_same_seed_and_as_ofs_give_byte_identical_increments(tmp_path: Path) -> None:
    for name in ("a", "b"):
        generate(GeneratorConfig(customers=80, days=4, seed=5, as_of=AS_OF), tmp_path / name)
        for increment, minutes in ((1, 3), (2, 600)):
            as_of = AS_OF + timedelta(minutes=minutes)
            generate(GeneratorConfig(seed=5, increment=increment, as_of=as_of), tmp_path / name)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert any("-b0002-" in f.name for f in files)
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


def test_increment_after_a_base_that_ends_in_the_future_asks_for_as_of(tmp_path: Path) -> None:
    ahead = datetime.now(UTC) + timedelta(hours=1)
    generate(GeneratorConfig(customers=20, days=2, seed=5, as_of=ahead), tmp_path)
    with pytest.raises(ValueError, match="not before now.*pass a later --as-of"):
        generate(GeneratorConfig(seed=5, increment=1), tmp_path)


def test_rate_options_override_known_rates_and_reject_unknown_ones() -> None:
    assert DirtRates().with_overrides(parse_rate_options(["bot=0.5"])).bot == 0.5
    with pytest.raises(ValueError, match="unknown dirt rate"):
        DirtRates().with_overrides(parse_rate_options(["bots=0.5"]))
