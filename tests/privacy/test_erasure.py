"""Consent, erasure and metadata hygiene, end to end on one small generated warehouse.

One build (dlt load, dbt build, serving publish), then two erasure requests (`warehouse erase --customer-id`,
`warehouse erase --email`), a re-delivery of every old landing file, and one `warehouse run` of the Dagster graph.
Every test below reads what that sequence left behind.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from typer.testing import CliRunner

from core.settings import Settings, get_settings
from orchestration.headless import RunReport
from privacy.erasure import erase_from_warehouse
from privacy.ledger import ErasureLedger, subject_hash
from privacy.registry import PiiColumn, PiiRegistry, read_registry, registry_from_manifest
from tests.conftest import settings_for

pytestmark = pytest.mark.slow

CUSTOMERS = 80
DAYS = 7
REDELIVERED = "b9999"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass
class Person:
    """One generated person: their records (ground truth) and the values that must vanish with them."""

    person_id: str
    records: dict[str, list[str]]
    """source_system -> source ids."""
    lines: list[str] = field(default_factory=list)
    files: set[str] = field(default_factory=set)
    """Landing folders (`shop/orders`, ...) holding the person's lines."""
    emails: set[str] = field(default_factory=set)
    last_names: set[str] = field(default_factory=set)
    first_names: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    customer_ids: set[str] = field(default_factory=set)

    def needles(self) -> list[tuple[str, str]]:
        """(mode, value): `text` is searched case-insensitively inside every text value, `exact` must not be any
        column's whole value (short numeric ids would otherwise match inside unrelated numbers)."""
        ids = [i for system in ("crm", "shop", "analytics") for i in self.records.get(system, [])]
        values = (*self.emails, *self.last_names, *self.first_names, *self.phones, *self.customer_ids)
        found = [("text", v.lower()) for v in values]
        found += [("text" if len(i) >= 10 else "exact", i.lower()) for i in ids]
        return found


@dataclass
class Scenario:
    settings: Settings
    erased_by_customer_id: Person
    erased_by_email: Person
    email_used: str
    data_emails: set[str]
    report: RunReport
    instance: dg.DagsterInstance


def _landing_lines(landing: Path) -> dict[str, list[str]]:
    return {
        str(path.relative_to(landing)): path.read_text().splitlines() for path in sorted(landing.glob("*/*/*.jsonl"))
    }


def _people(landing: Path) -> dict[str, Person]:
    records: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    with (landing / "_truth" / "identity.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            records[row["person_id"]][row["source_system"]].append(row["source_id"])
    return {person_id: Person(person_id, dict(by_system)) for person_id, by_system in records.items()}


def _attach_landing_values(person: Person, files: dict[str, list[str]]) -> None:
    """The person's landing lines, and the emails, phones and last names their own records carry."""
    crm, shop = set(person.records.get("crm", [])), set(person.records.get("shop", []))
    analytics = set(person.records.get("analytics", []))
    for name, lines in files.items():
        for line in lines:
            record = json.loads(line)
            props = record.get("properties") or {}
            customer = record.get("customer") or {}
            mine = (
                (name.startswith("crm/") and str(record.get("id")) in crm)
                or (name.startswith("shop/customers") and str(record.get("id")) in shop)
                or (name.startswith(("shop/orders", "shop/checkouts")) and str(customer.get("id")) in shop)
                or (name.startswith("analytics/") and {record.get("anonymousId"), record.get("userId")} & analytics)
            )
            if not mine:
                continue
            person.lines.append(line)
            person.files.add(name.rsplit("/", 1)[0])
            source = props if name.startswith("crm/") else record
            if name.startswith(("crm/", "shop/customers")):
                person.emails.update(e.strip().lower() for e in [source.get("email")] if e and e.strip())
                for key, names in (("lastname", person.last_names), ("firstname", person.first_names)):
                    value = source.get(key) or source.get(key.replace("name", "_name"))
                    names.update([value.strip()] if value and value.strip() else [])
                for key in ("phone", "mobilephone"):
                    phone = (source.get(key) or "").strip()
                    if sum(ch.isdigit() for ch in phone) >= 7:
                        person.phones.add(phone)


def _pick(people: dict[str, Person], files: dict[str, list[str]], taken: set[str], with_orders: bool) -> Person:
    """A person with CRM, shop and analytics records (and orders) and names, whose emails no other line holds."""
    all_lines = [line for lines in files.values() for line in lines]
    for person in sorted(people.values(), key=lambda p: p.person_id):
        if person.person_id in taken or not {"crm", "shop", "analytics"} <= set(person.records):
            continue
        _attach_landing_values(person, files)
        if not (person.emails and person.last_names and person.first_names):
            continue
        if with_orders and "shop/orders" not in person.files:
            continue
        own = set(person.lines)
        if any(email in line.lower() for line in all_lines if line not in own for email in person.emails):
            continue
        return person
    raise AssertionError("the generated data has no person fit for the erasure test")


def _give_unique_names(person: Person, landing: Path, files: dict[str, list[str]], tag: str) -> None:
    """Rename the person, in their own landing lines only, to names nobody else has: so that finding the name
    anywhere after the erasure can only be a trace of them (common names are shared by other people)."""
    renames = {n.lower(): f"Zqx{tag}family" for n in person.last_names}
    renames.update({n.lower(): f"Zqx{tag}given" for n in person.first_names})

    def renamed(value: object) -> object:
        if isinstance(value, dict):
            return {k: renamed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [renamed(v) for v in value]
        if isinstance(value, str):
            return renames.get(value.strip().lower(), value)
        return value

    own = set(person.lines)
    for name, lines in files.items():
        if any(line in own for line in lines):
            rewritten = [
                json.dumps(renamed(json.loads(line)), ensure_ascii=False) if line in own else line for line in lines
            ]
            (landing / name).write_text("\n".join(rewritten) + "\n")


def _attach_warehouse_values(person: Person, con: duckdb.DuckDBPyConnection) -> None:
    """The customer ids of all the person's records, and the phones the warehouse standardized for them."""
    for system, ids in person.records.items():
        person.customer_ids.update(c for (c,) in con.execute(
            "SELECT DISTINCT customer_id FROM marts.customer_identity_map "
            "WHERE source_system = ? AND source_id IN (SELECT unnest(?))", [system, ids]
        ).fetchall())  # fmt: skip
    person.phones.update(p for (p,) in con.execute(
        "SELECT phone_e164 FROM marts.dim_customers WHERE customer_id IN (SELECT unnest(?)) AND phone_e164 IS NOT NULL",
        [sorted(person.customer_ids)],
    ).fetchall())  # fmt: skip


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    from cli.main import app
    from core.dbt_cli import run_dbt
    from demo_data.generator import GeneratorConfig, generate
    from ingestion.pipelines import SYSTEMS, load
    from orchestration.headless import run_graph
    from orchestration.resources import prepared_parse
    from serving.publish import publish_serving

    root = tmp_path_factory.mktemp("privacy")
    with pytest.MonkeyPatch.context() as env:
        for name, value in settings_for(root).items():
            env.setenv(name, value)
        settings = get_settings()
        landing = settings.landing_dir
        as_of = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0) - timedelta(hours=1)
        generate(GeneratorConfig(customers=CUSTOMERS, days=DAYS, seed=11, as_of=as_of), landing)
        files = _landing_lines(landing)
        people = _people(landing)
        first = _pick(people, files, set(), with_orders=True)
        second = _pick(people, files, {first.person_id}, with_orders=False)
        for tag, person in (("one", first), ("two", second)):
            _give_unique_names(person, landing, files, tag)
            files = _landing_lines(landing)
        people = _people(landing)
        first, second = people[first.person_id], people[second.person_id]
        for person in (first, second):
            _attach_landing_values(person, files)
        # A broken line of the first person, as a truncated export would deliver it: quarantined with its text.
        crm_id, email = first.records["crm"][0], sorted(first.emails)[0]
        (last_name,) = first.last_names
        broken = f'{{"id": "{crm_id}", "properties": {{"email": "{email}", "lastname": "{last_name}", "phone'
        (landing / "crm" / "contacts" / "contacts-b0000-p0001.jsonl").write_text(broken + "\n")

        load(SYSTEMS, settings)
        # Seeds and models only: the Dagster run below builds everything again, tests included.
        result = run_dbt(
            ["build", "--resource-type", "seed", "--resource-type", "model"], settings, target_path=root / "dbt_target"
        )
        assert result.success, result.output[-3000:]
        # The run below parses where this build's parse left off (same warehouse, same salt), not from nothing.
        prepared_parse(settings).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / "dbt_target" / "partial_parse.msgpack", prepared_parse(settings))
        manifest = json.loads((root / "dbt_target" / "manifest.json").read_text())
        publish_serving(settings.warehouse_path, settings.serving_path, settings, registry_from_manifest(manifest))
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            quarantined = con.execute("SELECT count(*) FROM raw_crm.quarantine WHERE contains(raw_line, ?)", [email])
            assert quarantined.fetchone()[0] == 1, "the broken line of the person was quarantined with its text"
            for person in (first, second):
                _attach_warehouse_values(person, con)
        assert len(first.customer_ids) == 1, "identity resolution split the person: the premise of the test is gone"
        second_email = sorted(second.emails)[0]

        runner = CliRunner()
        for args in (["erase", "--customer-id", sorted(first.customer_ids)[0]], ["erase", "--email", second_email]):
            outcome = runner.invoke(app, args)
            assert outcome.exit_code == 0, outcome.output
        for path in sorted(landing.glob("*/*/*.jsonl")):
            shutil.copyfile(path, path.with_name(re.sub(r"-b\d{4}-", f"-{REDELIVERED}-", path.name)))

        with dg.instance_for_test() as instance:
            report = run_graph(instance=instance, settings=settings)
            yield Scenario(
                settings=settings,
                erased_by_customer_id=first,
                erased_by_email=second,
                email_used=second_email,
                data_emails={e.lower() for lines in files.values() for line in lines for e in EMAIL.findall(line)},
                report=report,
                instance=instance,
            )


# ------------------------------------------------------------------------------------------------- consent


def test_people_who_opted_out_anywhere_are_never_consented_nor_in_activation(scenario: Scenario) -> None:
    settings = scenario.settings
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        opted_out = con.execute("""
            WITH records AS (
                SELECT 'crm' AS source_system, id AS source_id, email FROM raw_crm.contacts
                WHERE lower(trim(hs_email_optout)) = 'true'
                UNION ALL
                SELECT 'shop', CAST(id AS VARCHAR), email FROM raw_shop.customers
                WHERE lower(email_marketing_consent__state) = 'unsubscribed' OR accepts_marketing = false
                UNION ALL
                SELECT 'analytics', unnest([anonymous_id, user_id]), json_extract_string(properties, '$.email')
                FROM raw_analytics.events WHERE type = 'track' AND event = 'Unsubscribed'
            )
            SELECT DISTINCT m.customer_id, lower(trim(r.email)) AS email
            FROM records r LEFT JOIN marts.customer_identity_map m USING (source_system, source_id)
        """).fetchall()
        consented = {
            c for (c,) in con.execute("SELECT customer_id FROM marts.customer_profiles WHERE email_consent").fetchall()
        }
    customers = {c for c, _ in opted_out if c}
    emails = {e for _, e in opted_out if e}
    with duckdb.connect(str(settings.serving_path), read_only=True) as con:
        active = con.execute("SELECT customer_id, lower(email) FROM activation.profiles").fetchall()
        tagged = con.execute("SELECT customer_id, lower(email) FROM activation.segments").fetchall()

    assert len(customers) >= 10 and len(active) >= 10, "the generated data has opt-outs and consented people"
    assert customers.isdisjoint(consented)
    assert customers.isdisjoint(c for c, _ in active + tagged)
    assert emails.isdisjoint(e for _, e in active + tagged)


def test_the_consent_decision_keeps_its_source_and_time(scenario: Scenario) -> None:
    with duckdb.connect(str(scenario.settings.serving_path), read_only=True) as con:
        rows = con.execute(
            "SELECT consent_source, consent_updated_at, email_consent FROM activation.profiles"
        ).fetchall()

    assert rows and all(source in {"crm", "shop"} and at is not None and ok is True for source, at, ok in rows)


# ------------------------------------------------------------------------------------------------- erasure


def test_the_run_after_the_requests_succeeds_erasing_first(scenario: Scenario) -> None:
    report = scenario.report

    assert report.success, report.failures
    assert report.materialized.index("privacy/erasure") < min(
        report.materialized.index(key) for key in report.materialized if key.startswith("raw_")
    )
    assert "serving/marts" in report.materialized
    assert report.mart_rows["customer_profiles"] > 40, "everyone else is still there"


def _traces(path: Path, person: Person) -> list[str]:
    """`schema.table.column: needle` for every value of `person` found in any table of a DuckDB file."""
    found = []
    needles = person.needles()
    with duckdb.connect(str(path), read_only=True) as con:
        columns = con.execute("""
            SELECT c.schema_name, c.table_name, c.column_name, c.data_type
            FROM duckdb_columns() c JOIN duckdb_tables() t USING (database_name, schema_name, table_name)
            WHERE c.database_name = current_database()
        """).fetchall()
        by_table: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for schema, table, column, data_type in columns:
            by_table[(schema, table)].append((column, data_type))
        for (schema, table), table_columns in sorted(by_table.items()):
            probes, labels = [], []
            for column, data_type in table_columns:
                text = f'lower(CAST("{column}" AS VARCHAR))'
                is_text = data_type in ("VARCHAR", "JSON")
                if column.startswith("_") and not is_text:
                    # load bookkeeping (_source_line, _dlt_load_time...): a line number equal to a numeric
                    # customer id is no trace of the person; text ones (_overflow_fields) are still searched
                    continue
                for mode, needle in needles:
                    quoted = needle.replace("'", "''")
                    if mode == "text" and is_text:
                        probes.append(f"count(*) FILTER (WHERE contains({text}, '{quoted}'))")
                    elif mode == "exact":
                        condition = f"{text} = '{quoted}'"
                        if is_text:
                            condition += f""" OR contains({text}, '"{quoted}"')"""
                        probes.append(f"count(*) FILTER (WHERE {condition})")
                    else:
                        continue
                    labels.append(f"{schema}.{table}.{column}: {needle}")
            if probes:
                counts = con.execute(f'SELECT {", ".join(probes)} FROM "{schema}"."{table}"').fetchone()
                found += [label for label, count in zip(labels, counts, strict=True) if count]
    return found


@pytest.mark.parametrize("who", ["erased_by_customer_id", "erased_by_email"])
def test_no_trace_of_an_erased_person_remains_in_any_table_of_either_file(scenario: Scenario, who: str) -> None:
    person: Person = getattr(scenario, who)
    assert person.emails and person.customer_ids and person.records["crm"]
    assert {n[:3] for n in person.last_names | person.first_names} == {"Zqx"}

    for path in (scenario.settings.warehouse_path, scenario.settings.serving_path):
        assert _traces(path, person) == [], path.name


def test_the_scan_finds_a_person_who_was_not_erased(scenario: Scenario) -> None:
    """The trace scan can fail: the same probe finds a person nobody asked to erase."""
    people = _people(scenario.settings.landing_dir)
    bystander = next(
        p for p in sorted(people.values(), key=lambda p: p.person_id)
        if p.person_id not in {scenario.erased_by_customer_id.person_id, scenario.erased_by_email.person_id}
        and "crm" in p.records
    )  # fmt: skip
    assert _traces(scenario.settings.warehouse_path, bystander)


def test_re_delivered_old_files_were_read_but_did_not_bring_them_back(scenario: Scenario) -> None:
    with duckdb.connect(str(scenario.settings.warehouse_path), read_only=True) as con:
        reloaded = con.execute(
            f"SELECT count(*) FROM raw_crm.contacts WHERE _source_file LIKE '%{REDELIVERED}%'"
        ).fetchone()[0]
        quarantined_again = con.execute(
            f"SELECT count(*) FROM raw_crm.quarantine WHERE source_file LIKE '%{REDELIVERED}%p0001%'"
        ).fetchone()[0]

    assert reloaded > 40, "the re-delivered contacts file was loaded again (everyone else's rows)"
    assert quarantined_again == 0, "the person's broken line was skipped, not quarantined again"


def test_the_ledger_holds_the_persons_other_identifiers_as_hashes_only(scenario: Scenario) -> None:
    ledger = ErasureLedger(scenario.settings)
    person = scenario.erased_by_email
    stored = ledger.path.read_bytes().lower()

    assert all(ledger.is_erased("crm_contact_id", i) for i in person.records["crm"])
    assert all(ledger.is_erased("shop_customer_id", i) for i in person.records["shop"])
    assert all(ledger.is_erased("email", e) for e in person.emails)
    assert subject_hash("email", scenario.email_used, ledger.salt) in ledger.hashes("email")
    assert not any(e.encode() in stored for e in person.emails | scenario.erased_by_customer_id.emails)


IDENTIFIER_COLUMNS = {
    "customer_id": "customer_id", "anonymous_id": "anonymous_id", "user_id": "user_id", "email": "email",
    "traits_email": "email", "phone_e164": "phone", "mobile_phone_e164": "phone", "contact_id": "source_id",
    "shop_customer_id": "source_id", "source_id": "source_id",
}  # fmt: skip
"""Column names that hold a person's identifier wherever they appear (what erasure matched dbt tables on before
the YAML declared it), and their pii kind."""
DBT_SCHEMAS = ("staging", "intermediate", "marts", "snapshots")


def test_every_identifier_column_of_a_dbt_table_is_declared_personal_in_its_yaml(scenario: Scenario) -> None:
    """Erasure deletes from dbt tables by the YAML's `pii` meta: an identifier column left undeclared would keep
    the person. The Dagster run refreshed the manifest this reads."""
    from orchestration.resources import dbt_project

    registry = read_registry(dbt_project.manifest_path, scenario.settings)
    with duckdb.connect(str(scenario.settings.warehouse_path), read_only=True) as con:
        built = con.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() c JOIN duckdb_tables() "
            "USING (database_name, schema_name, table_name) WHERE database_name = current_database()"
        ).fetchall()
    identifiers = [(s, t, c) for s, t, c in built if s in DBT_SCHEMAS and c in IDENTIFIER_COLUMNS]
    declared = {(c.schema, c.relation, c.column): c.kind for c in registry.models}

    assert len(identifiers) > 40
    assert [(s, t, c) for s, t, c in identifiers if declared.get((s, t, c)) != IDENTIFIER_COLUMNS[c]] == []


def _declared(schema: str, relation: str, column: str, kind: str, **extra: str | bool) -> PiiColumn:
    return PiiColumn(schema, relation, column, kind, **extra)  # type: ignore[arg-type]


def test_erasure_follows_a_person_through_raw_rows_and_identity_into_the_declared_columns_only(
    isolated_env: Settings,
) -> None:
    """A request by email finds the CRM row, its id finds the customer in the identity map, and the customer's
    shop id is erased too: from raw (dlt's staging copy and quarantine included) and from every dbt column the
    registry declares; a column the registry does not declare is left alone."""
    registry = PiiRegistry((
        _declared("raw_crm", "contacts", "id", "source_id", source_system="crm", is_source=True),
        _declared("raw_crm", "contacts", "email", "email", is_source=True),
        _declared("marts", "customer_identity_map", "source_id", "source_id"),
        _declared("marts", "customer_identity_map", "customer_id", "customer_id"),
        _declared("marts", "orders", "shop_customer_id", "source_id", source_system="shop"),
    ))  # fmt: skip
    warehouse = isolated_env.warehouse_path
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse)) as con:
        for schema in ("raw_crm", "raw_crm_staging"):
            con.execute(f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.contacts (id VARCHAR, email VARCHAR)")
            con.execute(f"INSERT INTO {schema}.contacts VALUES ('1', ' Gone@Example.com'), ('2', 'kept@example.com')")
        con.execute("CREATE TABLE raw_crm.quarantine (raw_line VARCHAR)")
        con.execute("""INSERT INTO raw_crm.quarantine VALUES ('{"id": "1", "email": "gone@example.com", "na'),
                       ('{"id": "2", "email": "kept@example.com", "na')""")
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.customer_identity_map (source_system VARCHAR, source_id VARCHAR, customer_id VARCHAR)"
        )
        con.execute("INSERT INTO marts.customer_identity_map VALUES ('crm', '1', 'cus_a'), ('shop', '77', 'cus_a'), "
                    "('crm', '2', 'cus_b')")  # fmt: skip
        con.execute("CREATE TABLE marts.orders (shop_customer_id VARCHAR, amount INT)")
        con.execute("INSERT INTO marts.orders VALUES ('77', 1), ('88', 2)")
        con.execute("CREATE TABLE marts.undeclared (email VARCHAR)")
        con.execute("INSERT INTO marts.undeclared VALUES ('gone@example.com')")
    ledger = ErasureLedger(isolated_env)
    ledger.record([("email", "gone@example.com")])

    report = erase_from_warehouse(warehouse, isolated_env, registry)
    again = erase_from_warehouse(warehouse, isolated_env, registry)

    assert report.rows_deleted == {
        "marts.customer_identity_map": 2, "marts.orders": 1, "raw_crm.contacts": 1, "raw_crm.quarantine": 1,
        "raw_crm_staging.contacts": 1,
    }  # fmt: skip
    assert again.rows_deleted == {}, "idempotent"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT source_id FROM marts.customer_identity_map").fetchall() == [("2",)]
        assert con.execute("SELECT count(*) FROM marts.undeclared").fetchone() == (1,)
    assert ledger.is_erased("crm_contact_id", "1") and ledger.is_erased("shop_customer_id", "77")
    assert ledger.is_erased("customer_id", "cus_a") and not ledger.is_erased("customer_id", "cus_b")


# ------------------------------------------------------------------------------------------------ metadata


def test_no_email_of_the_data_appears_in_the_runs_metadata_or_logs(scenario: Scenario) -> None:
    entries = scenario.instance.all_logs(scenario.report.run_id)
    events = "\n".join(dg.serialize_value(entry) for entry in entries).lower()
    log_text = scenario.report.log_path.read_text().lower() if scenario.report.log_path else ""

    assert "dagster/row_count" in events and "failing_rows_sample" in events, "the metadata was read"
    assert len(scenario.data_emails) > 30
    assert [e for e in scenario.data_emails if e in events] == []
    assert [e for e in scenario.data_emails if e in log_text] == []
