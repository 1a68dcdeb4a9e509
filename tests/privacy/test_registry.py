"""The registry of personal data: what the project's YAML declares, read from dbt's manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from privacy.erasure import LANDING_IDENTIFIERS
from privacy.registry import PiiColumn, PiiRegistry, RegistryError, read_registry, registry_from_manifest

PREVIOUS_RAW_IDENTIFIERS = {
    ("raw_crm", "contacts", "id", "crm_contact_id"),
    ("raw_crm", "contacts", "email", "email"),
    ("raw_crm", "contacts", "phone", "phone"),
    ("raw_crm", "contacts", "mobilephone", "phone"),
    ("raw_shop", "customers", "id", "shop_customer_id"),
    ("raw_shop", "customers", "email", "email"),
    ("raw_shop", "customers", "phone", "phone"),
    ("raw_shop", "customers", "default_address__phone", "phone"),
    ("raw_shop", "orders", "customer__id", "shop_customer_id"),
    ("raw_shop", "orders", "email", "email"),
    ("raw_shop", "orders", "phone", "phone"),
    ("raw_shop", "checkouts", "customer__id", "shop_customer_id"),
    ("raw_shop", "checkouts", "email", "email"),
    ("raw_analytics", "events", "anonymous_id", "anonymous_id"),
    ("raw_analytics", "events", "user_id", "user_id"),
    ("raw_analytics", "events", "traits.email", "email"),
    ("raw_analytics", "events", "properties.email", "email"),
}
"""(schema, table, column[.json key], ledger kind): the raw identifiers erasure matched on before they were declared
in the sources YAML. It must match on every one of them still."""


def _settings(root: Path) -> Settings:
    return Settings(
        landing_dir=root / "landing", warehouse_path=root / "warehouse.duckdb",
        serving_path=root / "serving.duckdb", pipelines_dir=root / "dlt",
    )  # fmt: skip


def _node(unique_id: str, schema: str, columns: dict[str, dict], **extra: str) -> dict:
    return {
        "unique_id": unique_id,
        "schema": schema,
        "columns": {name: {"name": name, "meta": {}, "config": {"meta": meta}} for name, meta in columns.items()},
        **extra,
    }


def test_declared_columns_become_typed_entries_of_their_relation_as_built() -> None:
    manifest = {
        "nodes": {
            "model.p.dim_people": _node(
                "model.p.dim_people", "marts", {"email": {"pii": "email"}, "note": {}},
                resource_type="model", name="dim_people", alias="people",
            ),
            "test.p.x": _node("test.p.x", "marts", {"email": {"pii": "email"}}, resource_type="test", name="x"),
        },
        "sources": {
            "source.p.crm.contacts": _node(
                "source.p.crm.contacts", "raw_crm",
                {"id": {"pii": "source_id", "source_system": "crm"}, "traits": {"pii": "email", "json_key": "email"}},
                name="contacts", identifier="contacts",
            ),
        },
    }  # fmt: skip

    registry = registry_from_manifest(manifest)

    assert registry.of("marts", "people") == (PiiColumn("marts", "people", "email", "email"),)
    contact_id, traits = registry.of("raw_crm", "contacts")
    assert contact_id.is_source and contact_id.subject_kinds == ("crm_contact_id",)
    assert traits.value_sql("t") == "json_extract_string(t.\"traits\", '$.email')"
    assert registry.column_names("marts", "people") == {"email"}, "tests and undeclared columns are not entries"


def test_a_source_id_without_its_system_is_matched_under_every_system_s_kinds() -> None:
    column = PiiColumn("marts", "customer_identity_map", "source_id", "source_id")

    assert set(column.subject_kinds) == {
        "crm_contact_id", "shop_customer_id", "anonymous_id", "user_id", "helpdesk_user_id",
    }  # fmt: skip
    assert PiiColumn("marts", "dim_customers", "first_name", "name").subject_kinds == ()


@pytest.mark.parametrize(
    "meta",
    [
        {"pii": "e-mail"}, {"pii": "email", "source_system": "crm"}, {"pii": "source_id", "source_system": "erp"},
        {"pii": "customer_id", "masked": "no"},
    ],  # fmt: skip
)
def test_a_meta_the_registry_cannot_read_fails_loudly_naming_the_column(meta: dict) -> None:
    manifest = {"nodes": {"model.p.m": _node("model.p.m", "marts", {"c": meta}, resource_type="model", name="m")}}

    with pytest.raises(RegistryError, match=r"model\.p\.m\.c"):
        registry_from_manifest(manifest)


@pytest.fixture(scope="module")
def project_registry(tmp_path_factory: pytest.TempPathFactory) -> PiiRegistry:
    """The project's own registry, parsed into a fresh manifest (no manifest yet: `read_registry` parses)."""
    root = tmp_path_factory.mktemp("registry")
    return read_registry(root / "target" / "manifest.json", _settings(root))


def test_the_raw_identifiers_erasure_matched_on_are_all_declared(project_registry: PiiRegistry) -> None:
    declared = {
        (c.schema, c.relation, c.column if c.json_key is None else f"{c.column}.{c.json_key}", kind)
        for c in project_registry.sources
        for kind in c.subject_kinds
    }

    assert declared >= PREVIOUS_RAW_IDENTIFIERS


def test_every_declared_raw_identifier_is_read_from_its_landing_field_too(project_registry: PiiRegistry) -> None:
    """The landing reader drops an erased person's lines by LANDING_IDENTIFIERS: each raw identifier column the
    YAML declares must be there, at the JSON pointer the table spec loads the column from."""
    from ingestion.sources import helpdesk
    from ingestion.sources.analytics import EVENTS
    from ingestion.sources.crm import CONTACTS
    from ingestion.sources.mailchimp import EMAIL_ACTIVITY, MEMBERS, WEBHOOK_EVENTS
    from ingestion.sources.shop import CHECKOUTS, CUSTOMERS, ORDERS

    landed = (CONTACTS, CUSTOMERS, ORDERS, CHECKOUTS, EVENTS, MEMBERS, EMAIL_ACTIVITY, WEBHOOK_EVENTS, *helpdesk.SPECS)
    specs = {spec.table: spec for spec in landed}
    # The comments' sentiment scores are derived in the warehouse right after the load, never landed: there is no
    # landing line of them to drop (their comments' lines are dropped by the comments' ticket_id).
    derived = {"ticket_comments__sentiment"}
    for column in project_registry.sources:
        if not column.subject_kinds or column.relation in derived:
            continue
        path = next(c.path for c in specs[column.relation].columns if c.name == column.column)
        pointer = path if column.json_key is None else f"{path}/{column.json_key}"
        for kind in column.subject_kinds:
            assert (kind, pointer) in LANDING_IDENTIFIERS[column.relation], (column, pointer)


def test_the_registry_is_read_again_when_a_yaml_is_newer_than_the_manifest(
    project_registry: PiiRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import privacy.registry

    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"nodes": {}, "sources": {}}')
    parsed: list[Path] = []
    monkeypatch.setattr(privacy.registry, "_parse_into", lambda path, settings: parsed.append(path))
    settings = _settings(tmp_path)

    monkeypatch.setattr(privacy.registry, "_newest_yaml_ns", lambda: 0)
    assert read_registry(manifest, settings).columns == () and parsed == []
    monkeypatch.setattr(privacy.registry, "_newest_yaml_ns", lambda: manifest.stat().st_mtime_ns + 1)
    read_registry(manifest, settings)
    assert parsed == [manifest]
