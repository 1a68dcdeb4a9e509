"""Bad input never stops a load and is never lost: it lands in quarantine; new fields land as text columns."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import duckdb

from collector.contract import LoaderContract
from core.settings import Settings
from ingestion.landing.sql import _structure
from ingestion.pipelines import load
from ingestion.spec import Column, ColumnType
from tests.ingestion.records import columns, contact, event, rows, write_jsonl
from tests.test_layout import LAYERS

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_malformed_lines_are_quarantined_with_file_line_and_reason(settings: Settings) -> None:
    path = settings.landing_dir / "crm/contacts/contacts-b0000-p0000.jsonl"
    path.parent.mkdir(parents=True)
    good = json.dumps(contact("1", "2024-01-02T00:00:00Z", "a@x.com")).encode()
    wrong_type = json.dumps(contact("2", "not a date", "b@x.com")).encode()
    no_key = json.dumps({"properties": {"email": "c@x.com"}}).encode()
    bad_utf8 = b'{"id": "3", "properties": {"email": "\xff@x.com"}}'
    path.write_bytes(b"\n".join([good, b'{"id": "9", broken', wrong_type, no_key, bad_utf8]) + b"\n")

    load(["crm"], settings)

    assert rows(settings, "SELECT id FROM raw_crm.contacts") == [("1",)]
    quarantined = rows(
        settings,
        "SELECT source_file, source_line, resource, reason FROM raw_crm.quarantine ORDER BY source_line",
    )
    assert quarantined == [
        ("crm/contacts/contacts-b0000-p0000.jsonl", 2, "contacts", "not valid JSON"),
        (
            "crm/contacts/contacts-b0000-p0000.jsonl",
            3,
            "contacts",
            "updated_at: not a date is not a timestamp",
        ),
        ("crm/contacts/contacts-b0000-p0000.jsonl", 4, "contacts", "missing primary key id"),
        ("crm/contacts/contacts-b0000-p0000.jsonl", 5, "contacts", "invalid UTF-8"),
    ]


def test_quarantine_keeps_the_raw_line(settings: Settings) -> None:
    path = write_jsonl(settings, "analytics/events/e.jsonl", [])
    path.write_bytes(b'{"messageId": "m-1", "timestamp": 42}\n')

    load(["analytics"], settings)

    assert rows(settings, "SELECT raw_line, reason FROM raw_analytics.quarantine") == [
        ('{"messageId": "m-1", "timestamp": 42}', "timestamp: 42 is not a timestamp")
    ]


def test_bad_child_item_quarantines_its_parent_record(settings: Settings) -> None:
    bad_order = {"id": 1, "updated_at": "2024-01-01T00:00:00Z", "line_items": [{"id": 5, "price": "cheap"}]}
    write_jsonl(settings, "shop/orders/o.jsonl", [bad_order])

    load(["shop"], settings)

    assert rows(settings, "SELECT reason FROM raw_shop.quarantine") == [
        ("line_items[1] price: cheap is not a decimal",)
    ]
    assert rows(settings, "SELECT count(*) FROM raw_shop.orders") == [(0,)]  # the table exists, without the order


def test_new_field_becomes_a_json_text_column(settings: Settings) -> None:
    write_jsonl(
        settings, "analytics/events/e-1.jsonl", [event("m-1", channel="web", integrations={"All": True})]
    )

    load(["analytics"], settings)

    assert rows(settings, "SELECT channel, integrations FROM raw_analytics.events") == [
        ('"web"', '{"All":true}')
    ]


def test_a_new_field_with_quotes_commas_and_brackets_in_its_name_keeps_its_value(
    settings: Settings,
) -> None:
    """The reader groups each line's keys as JSON text to find new fields: any key survives that round trip."""
    key = 'utm "source", [a]/~b ü'
    write_jsonl(settings, "analytics/events/e-1.jsonl", [event("m-1", **{key: "mail"}), event("m-2")])

    load(["analytics"], settings)

    drift = [name for name in columns(settings, "raw_analytics", "events") if "utm" in name]
    assert len(drift) == 1
    assert rows(settings, f'SELECT message_id, "{drift[0]}" FROM raw_analytics.events ORDER BY 1') == [
        ("m-1", '"mail"'),
        ("m-2", None),
    ]


def test_a_field_named_like_a_known_one_but_for_case_stays_apart(settings: Settings) -> None:
    """A struct cannot hold `type` and `Type` apart, so such a batch is extracted path by path: same rows."""
    plain = event("m-1", context={"userAgent": "UA", "ip": "10.0.0.1", "page": {"url": "u", "Url": "U"}})
    write_jsonl(settings, "analytics/events/e-1.jsonl", [event("m-0", Type="Page"), plain])

    summary = load(["analytics"], settings)

    assert summary.rows_quarantined == 0
    assert rows(
        settings,
        "SELECT message_id, type, extra__type, context__page__url, context_page__context__page__url "
        "FROM raw_analytics.events ORDER BY 1",
    ) == [("m-0", "track", '"Page"', "https://x/p", None), ("m-1", "track", None, "u", '"U"')]


def test_pointers_that_no_struct_can_hold_are_read_path_by_path() -> None:
    assert _structure([("/a/b", "VARCHAR"), ("/a/c", "JSON")]) == {"a": {"b": "VARCHAR", "c": "JSON"}}
    assert _structure([("/type", "VARCHAR"), ("/Type", "JSON")]) is None  # a struct ignores case
    assert _structure([("/a", "JSON"), ("/a/b", "VARCHAR")]) is None  # a value and a field inside it
    assert _structure([("/", "VARCHAR")]) is None  # the empty key
    assert _structure([("/a~1b", "VARCHAR")]) == {"a/b": "VARCHAR"}


def test_later_type_change_of_a_new_field_does_not_corrupt_it(settings: Settings) -> None:
    write_jsonl(settings, "analytics/events/e-1.jsonl", [event("m-1", score=5)])
    load(["analytics"], settings)
    write_jsonl(
        settings, "analytics/events/e-2.jsonl", [event("m-2", score={"value": 5}), event("m-3", score="high")]
    )

    summary = load(["analytics"], settings)

    assert summary.rows_quarantined == 0
    assert rows(settings, "SELECT message_id, score FROM raw_analytics.events ORDER BY 1") == [
        ("m-1", "5"),
        ("m-2", '{"value":5}'),
        ("m-3", '"high"'),
    ]


def test_valid_json_that_is_not_an_object_is_quarantined_and_blank_lines_skipped(
    settings: Settings,
) -> None:
    path = write_jsonl(settings, "analytics/events/e.jsonl", [])
    good = json.dumps(event("m-1"))
    path.write_text("\n".join(["[1, 2]", "  \t ", good, '"just text"', "", "  " + good.replace("m-1", "m-2")]) + "\n")

    summary = load(["analytics"], settings)

    assert (summary.table("analytics", "events").loaded, summary.rows_quarantined) == (2, 2)
    assert rows(settings, "SELECT source_line, reason FROM raw_analytics.quarantine ORDER BY 1") == [
        (1, "not a JSON object"),
        (4, "not a JSON object"),
    ]
    assert rows(settings, "SELECT message_id, _source_line FROM raw_analytics.events ORDER BY 1") == [
        ("m-1", 3),
        ("m-2", 6),
    ]


# -- one cast rule, public, for the loader and the collector's door ---------------------------------------------

ODD_TIMESTAMPS = ("2026-12-06T10:00:00Z", "2026-12-06 10:00:00", "20261206T100000Z", "2026-W49-7", "yesterday")


def test_the_cast_rule_is_public_and_says_why_a_value_does_not_fit() -> None:
    stamp, count, flag = (Column(n, f"/{n}", t) for n, t in [("ts", ColumnType.TIMESTAMP), ("n", ColumnType.BIGINT),
                                                            ("b", ColumnType.BOOL)])  # fmt: skip
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")

        def misfit(column: Column, value: str) -> str | None:
            return con.execute(f"SELECT {column.misfit_sql('$1::VARCHAR')}", [value]).fetchone()[0]

        assert [misfit(stamp, v) for v in ODD_TIMESTAMPS] == [
            None, None, "ts: 20261206T100000Z is not a timestamp", "ts: 2026-W49-7 is not a timestamp",
            "ts: yesterday is not a timestamp",
        ]  # fmt: skip
        assert [misfit(count, v) for v in ("42", "-7", "1e3", "7.0")] == [
            None, None, "n: 1e3 is not a bigint", "n: 7.0 is not a bigint",
        ]  # fmt: skip
        assert [misfit(flag, v) for v in ("true", "false", "yes")] == [None, None, "b: yes is not a bool"]
        cast = con.execute(f"SELECT {stamp.cast_sql('$1::VARCHAR')}", ["2026-12-06 10:00:00"]).fetchone()[0]
        assert cast.isoformat() == "2026-12-06T10:00:00+00:00", "no offset: read in the session's zone (UTC)"


def test_the_collector_judges_timestamps_by_the_rule_the_loader_quarantines_by(settings: Settings) -> None:
    messages = [event(f"m-{i}", timestamp=value) for i, value in enumerate(ODD_TIMESTAMPS)]
    write_jsonl(settings, "analytics/events/e.jsonl", messages)

    load(["analytics"], settings)

    quarantined = dict(rows(settings, "SELECT source_line, reason FROM raw_analytics.quarantine"))
    contract = LoaderContract()
    try:
        at_the_door = contract.misfits(messages)
    finally:
        contract.close()
    assert [[m.reason for m in found] for found in at_the_door] == [
        [quarantined[line]] if line in quarantined else [] for line in range(1, len(messages) + 1)
    ]
    assert len(quarantined) == 3


def test_no_module_imports_a_private_name_of_the_landing_reader() -> None:
    """The collector used `ingestion.landing._typed`: a rule others rely on is public, documented, in one place.
    Inside ingestion/landing its modules share their helpers; from outside only public names are used."""
    private = []
    reader = PROJECT_ROOT / "ingestion" / "landing"
    product = [p for package in LAYERS for p in (PROJECT_ROOT / package).rglob("*.py") if reader not in p.parents]
    for path in sorted(product):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            landing_module = isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ingestion.landing")
            if landing_module:
                private += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith("_")]
            attribute = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            if attribute and node.value.id == "landing" and node.attr.startswith("_") and node.attr[:2] != "__":
                private.append(f"{path.name}: landing.{node.attr}")
    assert private == []
