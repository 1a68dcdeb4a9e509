"""The dbt project parses cleanly, builds and tests green on small contract-shaped raw data, and standardizes
what staging promises in docs/contracts.md section 3; its incremental model equals a full refresh.

Each test builds its own warehouse, one after the other at the same path (`WarehouseSlot`) with one salt: dbt's
partial parse is valid for one profile, which names the warehouse file and the salt, so the tests start from the
module build's parse instead of each parsing the whole project again (only the parse test must parse anew).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from core.dbt_cli import DbtResult, run_dbt
from core.settings import Settings, get_settings
from tests.dbt_project.test_raw_rows import (
    BOT,
    EVENTS_BATCH_2,
    LOAD_2,
    LOAD_3,
    append_events,
    create_empty_raw_tables,
    create_raw_tables,
    event,
)

pytestmark = pytest.mark.slow  # dbt builds of the whole project


SALT = "test-project"
PARSE = "partial_parse.msgpack"


class WarehouseSlot:
    """The one warehouse path the tests of this module use in turn, emptied for each, and the partial parse
    dbt last wrote for it (`keep_parse`), which a test's new target directory starts from (`target`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def settings(self, directory: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
        """An empty warehouse at the slot's path; the test's other files (landing, serving, dlt) in `directory`."""
        for path in self.folder.glob("warehouse.duckdb*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        monkeypatch.setenv("WAREHOUSE_PATH", str(self.folder / "warehouse.duckdb"))
        monkeypatch.setenv("ERASURE_SALT", SALT)
        monkeypatch.setenv("LANDING_DIR", str(directory / "landing"))
        monkeypatch.setenv("SERVING_PATH", str(directory / "serving.duckdb"))
        monkeypatch.setenv("DLT_PIPELINES_DIR", str(directory / ".dlt"))
        return get_settings()

    def target(self, target: Path) -> Path:
        """`target` for dbt, holding the slot's partial parse if one was kept."""
        target.mkdir(parents=True, exist_ok=True)
        if (self.folder / PARSE).exists() and not (target / PARSE).exists():
            shutil.copyfile(self.folder / PARSE, target / PARSE)
        return target

    def keep_parse(self, target: Path) -> None:
        if (target / PARSE).exists():
            shutil.copyfile(target / PARSE, self.folder / PARSE)


@pytest.fixture(scope="module")
def slot(tmp_path_factory: pytest.TempPathFactory) -> WarehouseSlot:
    return WarehouseSlot(tmp_path_factory.mktemp("dbt_project_warehouse"))


def _query(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def built(slot: WarehouseSlot, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, DbtResult]]:
    """A warehouse with the hand-written raw rows and a complete `dbt build` over them, moved out of the slot
    (the other tests' warehouses take its place) into a folder of its own."""
    directory = tmp_path_factory.mktemp("dbt_build")
    with pytest.MonkeyPatch.context() as monkeypatch:
        settings = slot.settings(directory, monkeypatch)
        create_raw_tables(settings.warehouse_path)
        result = run_dbt(["build"], settings, target_path=slot.target(directory / "target"), check=False)
        slot.keep_parse(directory / "target")
        for file in (settings.warehouse_path, settings.warehouse_path.with_name("warehouse.duckdb.wal")):
            if file.exists():
                shutil.move(file, directory / file.name)
        monkeypatch.setenv("WAREHOUSE_PATH", str(directory / "warehouse.duckdb"))
        yield get_settings(), result


def test_dbt_parse_reports_no_warnings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    settings = get_settings()
    result = run_dbt(["parse", "--no-partial-parse"], settings, target_path=tmp_path / "target", check=False)
    assert result.success, result.output
    assert "[WARNING]" not in result.output and "Deprecat" not in result.output, result.output


def test_full_build_passes_every_model_and_test(built: tuple[Settings, DbtResult]) -> None:
    _, result = built
    assert result.success, result.output
    assert " ERROR=0 " in result.output and " WARN=0 " in result.output, result.output


def test_staging_emails_are_trimmed_lowercased_and_invalid_ones_nulled(
    built: tuple[Settings, DbtResult],
) -> None:
    settings, _ = built
    rows = _query(settings, "select contact_id, email, is_email_valid from staging.stg_crm__contacts")
    assert sorted(rows) == [
        ("101", "ada.lovelace@example.com", True),
        ("102", None, False),
        ("103", "alan@example.co.uk", True),
    ]


def test_staging_phones_become_e164_using_the_country(built: tuple[Settings, DbtResult]) -> None:
    settings, _ = built
    rows = _query(settings, "select contact_id, phone_e164, mobile_phone_e164 from staging.stg_crm__contacts")
    assert sorted(rows) == [
        ("101", "+14155550134", None),  # (415) 555-0134 in the US
        ("102", "+49301234567", "+491512345678"),  # national 030 ... in Germany, international +49 ...
        ("103", "+442079460958", None),  # +44 (0)20 ...: the bracketed trunk prefix is dropped
    ]


def test_staging_country_spellings_map_to_iso_alpha2(built: tuple[Settings, DbtResult]) -> None:
    settings, _ = built
    rows = _query(settings, "select contact_id, country_code from staging.stg_crm__contacts")
    assert sorted(rows) == [("101", "US"), ("102", "DE"), ("103", "GB")]  # "U.S.A.", "Deutschland", "uk"


def test_staging_dates_of_birth_are_parsed_and_impossible_ones_nulled_with_a_reason(
    built: tuple[Settings, DbtResult],
) -> None:
    settings, _ = built
    rows = _query(
        settings,
        "select contact_id, cast(date_of_birth as varchar), invalid_reason from staging.stg_crm__contacts",
    )
    by_id = {contact_id: (dob, reason) for contact_id, dob, reason in rows}
    assert by_id["101"] == ("1985-07-03", None)  # "07/03/1985" in the US is month first
    assert by_id["103"] == ("1912-06-23", None)  # "June 23, 1912"
    assert by_id["102"][0] is None and "date of birth" in by_id["102"][1]  # "1985-02-30"


def test_incremental_events_equal_a_full_refresh_after_late_arrivals(
    slot: WarehouseSlot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = slot.settings(tmp_path, monkeypatch)
    target = slot.target(tmp_path / "target")
    create_raw_tables(settings.warehouse_path)
    first_build = ["build", "--select", "+fct_events", "--resource-type", "seed", "--resource-type", "model"]
    run_dbt(first_build, settings, target_path=target)
    append_events(settings.warehouse_path, EVENTS_BATCH_2)
    # dbt_updated_at is when a run wrote the row: the one column that differs by design
    select_events = "select * exclude (dbt_updated_at) from marts.fct_events order by message_id"

    run_dbt(["run", "--select", "+fct_events"], settings, target_path=target)
    incremental = _query(settings, select_events)
    run_dbt(["run", "--select", "+fct_events", "--full-refresh"], settings, target_path=target)
    full_refresh = _query(settings, select_events)

    assert {row[0] for row in incremental} >= {row[0] for row in EVENTS_BATCH_2}
    assert incremental == full_refresh


def test_incremental_event_models_follow_a_bot_burst_and_a_week_late_event(
    slot: WarehouseSlot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither the rate rule nor lateness nor identity has a window. A burst in a later load makes an anonymous
    id's earlier events non-human and removes their sessions; an event arriving after newer ones, a week after
    it happened, joins the session it belongs to; a login on a device re-attributes the device's events of
    sessions no new event touches. Every event model, fct_sessions included, equals a full refresh."""
    settings = slot.settings(tmp_path, monkeypatch)
    target = slot.target(tmp_path / "target")
    create_raw_tables(settings.warehouse_path)
    selection = ["--select", "+fct_events", "+fct_sessions"]
    run_dbt(["build", *selection, "--resource-type", "seed", "--resource-type", "model"], settings, target_path=target)
    second_load = [
        event("h1", "page", "Home", "anon-3", None, "2026-11-21 08:00:00+00"),
        event("w1", "page", "Home", "anon-2", "1002", "2026-11-28 09:00:00+00"),
        # an unknown device: two sessions a day apart, nobody logged in
        event("d0", "page", "Home", "anon-4", None, "2026-11-22 08:00:00+00"),
        event("d1", "page", "Home", "anon-4", None, "2026-11-23 08:00:00+00"),
        # 20 events in one minute: human, until the next load adds 11 more to the same minute
        *(event(f"f{i:02d}", "page", "Home", "anon-5", None, f"2026-11-22 10:00:{i:02d}+00") for i in range(20)),
    ]
    append_events(settings.warehouse_path, second_load, LOAD_2)
    run_dbt(["run", *selection], settings, target_path=target)
    attributed = "select message_id, customer_id from intermediate.int_events_attributed"
    before_login = dict(_query(settings, attributed))
    flagged = "select message_id, non_human_reason from intermediate.int_events_bot_flagged"
    flags_before = dict(_query(settings, flagged))
    assert flags_before["f00"] is None
    burst = [event(f"b{i:02d}", "page", "Home", "anon-3", None, f"2026-11-21 09:00:{i:02d}+00") for i in range(31)]
    # 30 minutes after m3 (2026-11-20 11:00), anon-1's last event of that day, and a week before w1
    late = event("late", "page", "Home", "anon-1", "1001", "2026-11-20 11:30:00+00")
    # a day later the device logs in as 1002: d1's session is re-sessionized, d0's is not
    login = event("d2", "identify", None, "anon-4", "1002", "2026-11-24 08:00:00+00")
    # a crawler's hit on a person's device: non-human itself, the device's sessions stay
    crawled = event("c1", "page", "Home", "anon-2", "1002", "2026-11-29 09:00:00+00", user_agent=BOT)
    fill = [event(f"f{i:02d}", "page", "Home", "anon-5", None, f"2026-11-22 10:00:{i:02d}+00") for i in range(20, 31)]
    append_events(settings.warehouse_path, [*burst, *fill, late, login, crawled], LOAD_3)
    run_dbt(["run", *selection], settings, target_path=target)
    queries = {
        "flags": "select message_id, non_human_reason from intermediate.int_events_bot_flagged order by 1",
        # the run stamps differ by design
        "sessions": "select * exclude (judged_at, sessionized_at) from intermediate.int_events_sessionized"
        " order by message_id",
        "facts": "select * exclude (dbt_updated_at) from marts.fct_events order by message_id",
        "attributed": "select * exclude (sessionized_at, attributed_at) from intermediate.int_events_attributed"
        " order by message_id",
        "fct_sessions": "select * exclude (dbt_updated_at) from marts.fct_sessions order by session_key",
    }
    incremental = {name: _query(settings, sql) for name, sql in queries.items()}
    run_dbt(["run", *selection, "--full-refresh"], settings, target_path=target)
    full_refresh = {name: _query(settings, sql) for name, sql in queries.items()}

    flags = dict(incremental["flags"])
    assert flags["h1"] is not None and flags["h1"].startswith("rate:")
    assert flags["m2"] is None  # anon-1 is untouched by anon-3's burst
    assert all(flags[f"f{i:02d}"].startswith("rate:") for i in range(31))  # the minute of old and new events
    assert "h1" not in {row[0] for row in incremental["sessions"]}
    assert flags["c1"] is not None and "anon-2" in {row[1] for row in incremental["fct_sessions"]}
    session_of = {row[0]: row[1] for row in incremental["facts"]}
    assert session_of["late"] is not None and session_of["late"] == session_of["m3"]
    customer_of = {row[0]: row[-1] for row in incremental["attributed"]}  # customer_id is the last column
    assert before_login["d0"] != before_login["m5"]
    assert customer_of["d0"] == customer_of["d2"] == customer_of["m5"]  # the person behind user 1002
    assert "h1" not in customer_of
    assert incremental == full_refresh


def test_the_incremental_event_models_pick_up_events_after_an_empty_first_build(
    slot: WarehouseSlot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A watermark of an empty table (no events yet, or all erased) must mean "everything", not "nothing"."""
    settings = slot.settings(tmp_path, monkeypatch)
    target = slot.target(tmp_path / "target")
    with duckdb.connect(str(settings.warehouse_path)) as con:
        create_empty_raw_tables(con)
    models = ["stg_analytics__events", "int_events_bot_flagged", "int_events_sessionized"]
    build = ["run", "--select", *models]
    # the first run also loads the seeds these models read, in the same dbt invocation
    seeds = "+int_events_sessionized,resource_type:seed"
    first = ["build", "--resource-type", "seed", "--resource-type", "model", "--select", *models, seeds]
    run_dbt(first, settings, target_path=target)
    append_events(settings.warehouse_path, EVENTS_BATCH_2, LOAD_2)
    run_dbt(build, settings, target_path=target)

    counts = _query(
        settings,
        "select (select count(*) from staging.stg_analytics__events),"
        " (select count(*) from intermediate.int_events_bot_flagged),"
        " (select count(*) from intermediate.int_events_sessionized)",
    )
    assert counts == [(len(EVENTS_BATCH_2),) * 3]


def test_sessions_cut_into_slices_equal_those_of_one_statement(
    slot: WarehouseSlot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB's window keeps its input in memory, so a run with more than var session_slice_events events
    sessionizes the anonymous ids slice by slice (query, then post-hook). First build and incremental run, the
    sessions are those one statement makes, and a later slice still sees the loads an earlier one took in.
    The sliced runs and the whole ones each keep their target directory: dbt's partial parse holds one set of
    vars, and each switch would parse the whole project again."""
    settings = slot.settings(tmp_path, monkeypatch)
    target, whole = tmp_path / "target", slot.target(tmp_path / "whole")
    create_raw_tables(settings.warehouse_path)
    models = ["run", "--select", "+int_events_sessionized"]
    sliced = [*models, "--vars", "{session_slice_events: 2}"]
    seeded_and_sliced = ["build", "--resource-type", "seed", "--resource-type", "model", *sliced[1:]]
    # the run stamps (this model's, and int_events_bot_flagged's judged_at) differ between runs by design
    stamps = "exclude (sessionized_at, judged_at)"
    sessions = f"select * {stamps} from intermediate.int_events_sessionized order by message_id"
    later = [
        event(f"v{i}-{n}", "page", "Home", f"anon-{i}", None, f"2026-11-21 {9 + n * 2:02d}:{i:02d}:00+00")
        for i in range(3, 9)
        for n in range(3)
    ]  # six more devices, three events each, two hours apart: three sessions each

    log = target / "logs" / "dbt.log"
    staged = "create or replace temp table int_events_sessionized__slice"

    run_dbt(seeded_and_sliced, settings, target_path=target)  # the first run loads the seeds the models read
    first_sliced = _query(settings, sessions)
    first_log = log.read_text()
    run_dbt([*models, "--full-refresh"], settings, target_path=whole)
    first_whole = _query(settings, sessions)
    append_events(settings.warehouse_path, [*EVENTS_BATCH_2, *later])
    run_dbt(sliced, settings, target_path=target)
    incremental_sliced = _query(settings, sessions)
    run_dbt([*models, "--full-refresh"], settings, target_path=whole)

    assert first_sliced == first_whole
    assert len(incremental_sliced) == len(first_whole) + 2 + len(later)
    assert incremental_sliced == _query(settings, sessions)
    # the first build inserts the later slices as they are (nothing of theirs to replace), a later run stages them
    assert re.search(r"insert into \S*int_events_sessionized\S* by name", first_log) and staged not in first_log
    assert staged in log.read_text()[len(first_log) :]


def test_staging_skips_messages_it_holds_even_beside_a_null_message_id(
    slot: WarehouseSlot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message an earlier run staged is not staged again; one bad row (a null id, which the not_null test
    flags) must not make the run drop every new event, as `not in (select message_id ...)` would."""
    settings = slot.settings(tmp_path, monkeypatch)
    target = slot.target(tmp_path / "target")
    with duckdb.connect(str(settings.warehouse_path)) as con:
        create_empty_raw_tables(con)
    build = ["run", "--select", "stg_analytics__events"]
    first = event("e1", "page", "Home", "anon-1", None, "2026-11-20 08:00:00+00")
    append_events(settings.warehouse_path, [first], LOAD_2)
    run_dbt(build, settings, target_path=target)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("insert into staging.stg_analytics__events (message_id, _dlt_load_id) values (null, ?)", [LOAD_2])
    second = event("e2", "page", "Home", "anon-1", None, "2026-11-20 08:01:00+00")
    append_events(settings.warehouse_path, [first, second], LOAD_3)
    run_dbt(build, settings, target_path=target)

    staged = "select message_id, count(*) from staging.stg_analytics__events group by all order by all"
    assert _query(settings, staged) == [("e1", 1), ("e2", 1), (None, 1)]


def test_the_hash_first_unique_test_reports_exactly_the_repeated_values(
    slot: WarehouseSlot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """macros/tests/unique.sql (through repeated_values) replaces dbt's `unique` on DuckDB: it must still fail on
    a repeated value, name each one once with its count, and ignore nulls, as dbt's own test does."""
    settings = slot.settings(tmp_path, monkeypatch)
    target = slot.target(tmp_path / "target")
    run_dbt(["seed", "--select", "country_codes"], settings, target_path=target)
    test = ["test", "--select", "unique_country_codes_country_code", "unique_country_codes_iso3_code"]
    test += ["--store-failures"]
    assert run_dbt(test, settings, target_path=target, check=False).success

    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute(
            "insert into seeds.country_codes (country_code, iso3_code, country_name) values"
            " ('US', 'US1', 'Repeat'), ('US', 'US2', 'Repeat'), (null, null, 'Blank'), (null, null, 'Blank')"
        )
    result = run_dbt(test, settings, target_path=target, check=False)

    assert not result.success
    compiled = next((target / "compiled").rglob("unique_country_codes_country_code.sql")).read_text()
    assert "hash(country_code)" in compiled  # the project's hash-first macro ran, not dbt's
    failures = _query(
        settings,
        "select unique_field, n_records from dbt_test__audit.unique_country_codes_country_code",
    )
    assert failures == [("US", 3)]
    assert "FAIL 1 unique_country_codes_country_code" in result.output
    assert "PASS unique_country_codes_iso3_code" in result.output
