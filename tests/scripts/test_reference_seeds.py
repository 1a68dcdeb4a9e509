"""The reference seeds come from packages, reproducibly, and the standardize macros read them as documented.

Every module of scripts/reference regenerates exactly its checked-in seed (FS's identity_nicknames included);
each seed's YAML names its package, version and licence; DuckDB compiles every bot pattern. The macros that read
the seeds (normalized_spelling, to_e164/phone_problem, parse_date_of_birth, is_role_email) are compiled by dbt
once and run in DuckDB over the seeds dbt loaded, case by case.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from core.dbt_cli import run_dbt
from core.settings import DBT_PROJECT_DIR, get_settings
from scripts.reference import bot_user_agents, country_aliases, phone_country_codes, seeds
from scripts.reference.__main__ import seed_modules

MODULES = seed_modules()
SEED_ENTRIES = [
    entry
    for path in sorted((DBT_PROJECT_DIR / "seeds").rglob("_*.yml"))
    for entry in yaml.safe_load(path.read_text(encoding="utf-8")).get("seeds", [])
]


def seed_config(name: str) -> dict:
    """The YAML entry of seed `name` (dbt_project/seeds/_seeds.yml or a folder's own YAML)."""
    entries = [entry for entry in SEED_ENTRIES if entry["name"] == name]
    assert len(entries) == 1, f"seed {name} should be described once in the seeds' YAML"
    return entries[0]


def test_the_reference_modules_cover_the_seeds_taken_from_packages() -> None:
    names = {module.SEED.name for module in MODULES}
    assert {"bot_user_agents", "country_aliases", "country_codes", "month_names", "phone_country_codes",
            "role_email_local_parts"} <= names


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.SEED.name)
def test_each_module_regenerates_exactly_its_checked_in_seed(module) -> None:
    assert module.SEED.path.exists(), f"run `python -m scripts.reference {module.SEED.name}`"
    assert seeds.seed_text(module) == module.SEED.path.read_text(encoding="utf-8"), (
        f"{module.SEED.path.name} differs from what {module.__name__} writes: "
        f"run `python -m scripts.reference {module.SEED.name}`"
    )


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.SEED.name)
def test_each_seed_yaml_names_its_package_version_and_licence(module) -> None:
    source = module.SEED.source
    config = seed_config(module.SEED.name)
    meta = config["config"]["meta"]
    assert meta["source_package"] == source.distribution
    assert str(meta["source_version"]) == source.version  # bumped with the package, the seed regenerated
    assert meta["source_licence"] and meta["source_licence"].split()[0].rstrip(";") in source.licence
    assert meta["generated_by"] == f"scripts/reference/{module.__name__.rsplit('.', 1)[-1]}.py"
    description = " ".join(config["description"].split())
    assert source.distribution in description and source.version in description
    assert meta["source_licence"].split()[0].rstrip(";") in description


def test_the_bot_seed_yaml_states_how_many_patterns_duckdb_could_not_compile() -> None:
    meta = seed_config("bot_user_agents")["config"]["meta"]
    assert meta["source_patterns"] == len(bot_user_agents.entries())
    assert meta["patterns_dropped_not_re2"] == len(bot_user_agents.dropped_patterns())


def test_duckdb_compiles_every_bot_pattern_and_their_alternation() -> None:
    with bot_user_agents.SEED.path.open(encoding="utf-8", newline="") as file:
        patterns = [row["user_agent_pattern"] for row in csv.DictReader(file)]
    with duckdb.connect() as con:
        for pattern in patterns:
            con.execute("select regexp_matches('', $pattern)", {"pattern": pattern})
        alternation = "|".join(sorted(patterns))
        googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        chrome = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.0.0 Safari/537.36")
        matches = "select regexp_matches($agent, $pattern)"
        assert con.execute(matches, {"agent": googlebot, "pattern": alternation}).fetchone() == (True,)
        assert con.execute(matches, {"agent": chrome, "pattern": alternation}).fetchone() == (False,)


def test_duckdb_reads_the_phone_plans_mobile_numbers_as_libphonenumber_types_them() -> None:
    """Every mobile and fixed-line pattern compiles in DuckDB (RE2), anchored as phone_is_mobile anchors it."""
    with phone_country_codes.SEED.path.open(encoding="utf-8", newline="") as file:
        plans = {row["country_code"]: row for row in csv.DictReader(file)}
    with duckdb.connect() as con:
        def full_match(number: str, pattern: str) -> bool:
            query = "select regexp_matches($number, '^(?:' || $pattern || ')$')"
            return con.execute(query, {"number": number, "pattern": pattern}).fetchone() == (True,)

        for plan in plans.values():
            for pattern in (plan["mobile_pattern"], plan["fixed_line_pattern"]):
                full_match("", pattern)
        australia, britain, usa = plans["AU"], plans["GB"], plans["US"]
        assert full_match("412345678", australia["mobile_pattern"])  # 0412 345 678
        assert not full_match("412345678", australia["fixed_line_pattern"])
        assert full_match("2012345678", britain["fixed_line_pattern"])  # 020 1234 5678
        assert not full_match("2012345678", britain["mobile_pattern"])
        assert full_match("4155550134", usa["mobile_pattern"]) == full_match("4155550134", usa["fixed_line_pattern"])


# --- the macros over the seeds -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A warehouse with the reference seeds loaded by dbt; yields (warehouse path, dbt target path)."""
    directory = tmp_path_factory.mktemp("reference_seeds")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("WAREHOUSE_PATH", str(directory / "warehouse.duckdb"))
        selection = ["country_codes", "country_aliases", "phone_country_codes", "month_names",
                     "role_email_local_parts", "bot_user_agents"]
        run_dbt(["seed", "--select", *selection], get_settings(), target_path=directory / "target")
        yield directory / "warehouse.duckdb", directory / "target"


COMPILED: dict[str, str] = {}


def compiled(warehouse: tuple[Path, Path], sql: str) -> str:
    """`sql` with its Jinja (the project's macros) compiled by dbt, once per query text and test run."""
    if sql not in COMPILED:
        path, target = warehouse
        with pytest.MonkeyPatch.context() as monkeypatch:
            monkeypatch.setenv("WAREHOUSE_PATH", str(path))
            compile_inline = ["compile", "--quiet", "--inline", sql]
            COMPILED[sql] = run_dbt(compile_inline, get_settings(), target_path=target).output.strip()
    return COMPILED[sql]


def evaluate(warehouse: tuple[Path, Path], expression: str, rows: list[tuple], columns: str) -> list[tuple]:
    """`expression` (Jinja over the text `columns`) for each of `rows`, in their order."""
    query = compiled(warehouse, f"select {expression} as result from input_rows order by row_number")
    row_sql = "(" + ", ".join(["cast(? as varchar)"] * len(columns.split(", "))) + ")"
    with duckdb.connect(str(warehouse[0])) as con:
        con.execute(
            f"create temp table input_rows as select row_number() over () as row_number, * "
            f"from (values {', '.join([row_sql] * len(rows))}) as given({columns})",
            [value for row in rows for value in row],
        )
        return [row[0] for row in con.execute(query).fetchall()]


def test_the_macro_normalizes_every_spelling_as_the_seed_generator_does(warehouse) -> None:
    spellings = sorted({spelling for _, spelling, _ in country_aliases.spellings()})
    in_sql = evaluate(warehouse, "{{ normalized_spelling('spelling') }}", [(s,) for s in spellings], "spelling")
    differing = [(s, sql) for s, sql in zip(spellings, in_sql, strict=True)
                 if sql != (seeds.normalized_spelling(s) or None)]
    assert not differing, differing[:20]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("U.S.A.", "US"), ("united states of america", "US"), ("UK", "GB"), ("Deutschland", "DE"),
        ("ESPAÑA", "ES"), ("Éire", "IE"), ("Côte d'Ivoire", "CI"), ("Atlantis", None),
    ],
)
def test_countries_are_recognized_in_their_codes_names_and_own_languages(warehouse, written, expected) -> None:
    assert evaluate(warehouse, "{{ country_to_iso2('spelling') }}", [(written,)], "spelling") == [expected]


@pytest.mark.parametrize(
    ("phone", "country", "e164", "problem"),
    [
        ("(415) 555-0134", "US", "+14155550134", None),
        ("030 1234567", "DE", "+49301234567", None),  # trunk prefix 0 dropped
        ("06 1 234 5678", "HU", "+3612345678", None),  # Hungary's trunk prefix is 06
        ("8 (495) 123-45-67", "RU", "+74951234567", None),  # Russia's is 8
        ("06 12345678", "IT", "+390612345678", None),  # Italy has none: the 0 is part of the number
        ("+44 (0)20 7946 0958 ext. 12", "US", "+442079460958", "phone extension dropped"),
        ("0000000000", "US", None, "junk phone"),
        ("+1 111 111 1111", "GB", None, "junk phone"),
        ("12345", "GB", None, "junk phone"),  # shorter than any GB number
        ("+999 123456789", "US", None, "invalid phone"),  # no such calling code
        ("call me", "US", None, "invalid phone"),
    ],
)
def test_phones_become_e164_and_junk_is_nulled_with_a_reason(warehouse, phone, country, e164, problem) -> None:
    rows = [(phone, country)]
    assert evaluate(warehouse, "{{ to_e164('phone', 'country') }}", rows, "phone, country") == [e164]
    assert evaluate(warehouse, "{{ phone_problem('phone', 'country') }}", rows, "phone, country") == [problem]


@pytest.mark.parametrize(
    ("written", "country", "expected"),
    [
        ("1985-03-07", "FR", date(1985, 3, 7)),
        ("03/07/1985", "US", date(1985, 3, 7)),  # the US writes the month first (CLDR)
        ("03/07/1985", "FR", date(1985, 7, 3)),
        ("13/07/1985", "US", date(1985, 7, 13)),  # 13 cannot be a month
        ("07.03.1985", "DE", date(1985, 3, 7)),
        ("19850307", None, date(1985, 3, 7)),
        ("07031985", "DE", date(1985, 3, 7)),
        ("March 7th, 1985", "US", date(1985, 3, 7)),
        ("7 Mar 85", "GB", date(1985, 3, 7)),
        ("7. März 1985", "DE", date(1985, 3, 7)),
        ("7 de marzo de 1985", "ES", date(1985, 3, 7)),
        ("3 июля 1985", "RU", date(1985, 7, 3)),
        ("1985-03-07T00:00:00Z", "US", date(1985, 3, 7)),
        ("7/3/05", "GB", date(2005, 3, 7)),
    ],
)
def test_dates_of_birth_are_read_by_their_parts(warehouse, written, country, expected) -> None:
    rows = [(written, country)]
    assert evaluate(warehouse, "{{ parse_date_of_birth('dob', 'country') }}", rows, "dob, country") == [expected]
    assert evaluate(warehouse, "{{ date_of_birth_problem('dob', 'country') }}", rows, "dob, country") == [None]


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("1900-01-01", "placeholder date of birth"),
        ("01/01/1970", "placeholder date of birth"),
        ("2999-01-01", "impossible date of birth"),
        ("1890-05-05", "impossible date of birth"),
        ("0000-00-00", "unparseable date of birth"),
        ("31/04/1990", "unparseable date of birth"),  # there is no 31 April
        ("7 Foo 1985", "unparseable date of birth"),
        ("1/2/3/4", "unparseable date of birth"),
        ("n/a", "unparseable date of birth"),
    ],
)
def test_junk_dates_of_birth_are_nulled_with_their_reason(warehouse, written, problem) -> None:
    rows = [(written, "GB")]
    assert evaluate(warehouse, "{{ parse_date_of_birth('dob', 'country') }}", rows, "dob, country") == [None]
    assert evaluate(warehouse, "{{ date_of_birth_problem('dob', 'country') }}", rows, "dob, country") == [problem]


@pytest.mark.parametrize(
    ("email", "is_role"),
    [
        ("info@shop.example", True), (" Sales@Example.com ", True), ("noreply@example.com", True),
        ("no-reply@example.com", True), ("test+order-7@example.com", True), ("admin@example.com", True),
        ("ada.lovelace@example.com", False), ("information.desk.person@example.com", False), (None, None),
    ],
)
def test_role_emails_are_recognized_by_their_local_part(warehouse, email, is_role) -> None:
    assert evaluate(warehouse, "{{ is_role_email('email') }}", [(email,)], "email") == [is_role]


GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
          "Safari/537.36")


def test_bot_user_agents_are_matched_by_one_alternation_of_the_seed(warehouse) -> None:
    query = compiled(warehouse, "select {{ is_bot_user_agent('agent') }} as result from input_rows")
    assert "exists" not in query  # the seed is loaded: its patterns are one literal alternation
    agents = [(GOOGLEBOT,), ("python-requests/2.32.3",), ("curl/8.5.0",), (CHROME,), (None,)]
    assert evaluate(warehouse, "{{ is_bot_user_agent('agent') }}", agents, "agent") == [True, True, True, False, False]


def test_the_bot_model_compiles_before_the_seed_is_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`dbt compile` on a warehouse without seeds (bench's raw-SQL step) reads the patterns row by row instead."""
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "empty.duckdb"))
    result = run_dbt(
        ["compile", "--quiet", "--select", "int_events_bot_flagged"], get_settings(), target_path=tmp_path / "target"
    )
    assert "exists (" in result.output and "bot_patterns.bot_pattern" in result.output

