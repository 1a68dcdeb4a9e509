"""The one registry of personal data: dbt column `meta`, read from dbt's manifest.

A column holds personal data when its YAML says so (`config: {meta: {pii: <kind>}}`, on models under
dbt_project/models/ and on the raw tables in the sources YAML). Erasure, the masking of check metadata and the
serving models read that declaration and nothing else, so a new column of a person is declared once, beside
its description and tests.

More keys qualify a kind where it needs it: `source_system` (crm, shop, analytics) says which system a
`source_id` column's ids come from (absent: the row's own `source_system` column says), `json_key` says that the
identifier is that key of a JSON column (`traits` -> its `email`), and `masked: false` keeps a column of the
masked `bi` models in clear (macros/serving/masking.sql: the pseudonym customer_id).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

from core.dbt_cli import run_dbt
from core.settings import DBT_PROJECT_DIR, Settings

PiiKind = Literal[
    "email", "phone", "anonymous_id", "user_id", "customer_id", "name", "address", "postal_code", "date_of_birth",
    "source_id", "ip",
]  # fmt: skip
PII_KINDS: tuple[str, ...] = get_args(PiiKind)

SOURCE_ID_SUBJECT_KINDS: dict[str, tuple[str, ...]] = {
    "crm": ("crm_contact_id",),
    "shop": ("shop_customer_id",),
    "analytics": ("anonymous_id", "user_id"),
    "helpdesk": ("helpdesk_user_id",),
}
"""A source system -> the erasure ledger's kinds its record ids are recorded under (Segment's records are keyed
by either id)."""

RECORD_ID_SUBJECT_KINDS: dict[str, tuple[str, ...]] = {
    "helpdesk_ticket": ("helpdesk_ticket_id",),
}
"""Ids of records that are no person but belong to one, as `source_system` values of `source_id` columns: a
Zendesk ticket's id is recorded with its requester's erasure, so that the ticket's comments (every author's) are
found by it, in the warehouse and in re-delivered landing files. No system of the identity graph: a `source_id`
column without a system is never matched on them."""

SUBJECT_KINDS: dict[str, tuple[str, ...]] = {
    "email": ("email",),
    "phone": ("phone",),
    "customer_id": ("customer_id",),
    "anonymous_id": ("anonymous_id",),
    "user_id": ("user_id",),
}
"""pii kind -> the ledger kinds a person is looked up by. Names, addresses, postal codes, dates of birth and IPs
identify nobody alone: their rows go with the person's identifiers, they are never matched on."""


@dataclass(frozen=True)
class PiiColumn:
    """One column of a person's data in a relation dbt builds or reads."""

    schema: str
    """The relation's schema as built (`staging`, `marts`, `raw_crm` ...)."""
    relation: str
    """The relation's name as built (a model's alias, a source table's identifier)."""
    column: str
    kind: PiiKind
    source_system: str | None = None
    """For `source_id`: the system whose record ids the column holds; None when the row's `source_system`
    column says."""
    json_key: str | None = None
    """Set when the column is JSON and the identifier is this key of it."""
    is_source: bool = False
    """A raw table (a dbt source), not a model."""

    @property
    def subject_kinds(self) -> tuple[str, ...]:
        """Ledger kinds the column's values are hashed under to match erased people; () if never matched on."""
        if self.kind == "source_id":
            if self.source_system is None:
                return tuple(k for kinds in SOURCE_ID_SUBJECT_KINDS.values() for k in kinds)
            return {**SOURCE_ID_SUBJECT_KINDS, **RECORD_ID_SUBJECT_KINDS}[self.source_system]
        return SUBJECT_KINDS.get(self.kind, ())

    def value_sql(self, alias: str) -> str:
        """SQL of the column's value in a row aliased `alias` (the JSON key's text for a JSON column)."""
        if self.json_key is None:
            return f'{alias}."{self.column}"'
        return f"json_extract_string({alias}.\"{self.column}\", '$.{self.json_key}')"


@dataclass(frozen=True)
class PiiRegistry:
    """Every declared column of personal data, in manifest order."""

    columns: tuple[PiiColumn, ...]

    def of(self, schema: str, relation: str) -> tuple[PiiColumn, ...]:
        """The declared columns of one relation."""
        return tuple(c for c in self.columns if (c.schema, c.relation) == (schema, relation))

    def column_names(self, schema: str, relation: str) -> frozenset[str]:
        return frozenset(c.column for c in self.of(schema, relation))

    @property
    def models(self) -> tuple[PiiColumn, ...]:
        return tuple(c for c in self.columns if not c.is_source)

    @property
    def sources(self) -> tuple[PiiColumn, ...]:
        return tuple(c for c in self.columns if c.is_source)


class RegistryError(ValueError):
    """A `pii` meta the registry cannot read: an unknown kind or source system. dbt accepts any meta, so this is
    where a typo is caught, before erasure would silently skip the column."""


def registry_from_manifest(manifest: Mapping[str, Any]) -> PiiRegistry:
    """The registry declared in a parsed manifest (manifest.json as a dict)."""
    columns: list[PiiColumn] = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") in ("model", "snapshot", "seed"):
            columns += _declared(node, relation=node.get("alias") or node["name"], is_source=False)
    for source in manifest.get("sources", {}).values():
        columns += _declared(source, relation=source.get("identifier") or source["name"], is_source=True)
    return PiiRegistry(tuple(columns))


def _declared(node: Mapping[str, Any], relation: str, is_source: bool) -> list[PiiColumn]:
    found = []
    for name, column in node.get("columns", {}).items():
        meta = {**(column.get("meta") or {}), **((column.get("config") or {}).get("meta") or {})}
        if "pii" not in meta:
            continue
        where = f"{node['unique_id']}.{name}"
        kind, system = meta["pii"], meta.get("source_system")
        if kind not in PII_KINDS:
            raise RegistryError(f"{where}: pii kind {kind!r} is none of {', '.join(PII_KINDS)}")
        known = system in SOURCE_ID_SUBJECT_KINDS or system in RECORD_ID_SUBJECT_KINDS
        if system is not None and (kind != "source_id" or not known):
            raise RegistryError(f"{where}: source_system {system!r} goes with pii source_id: crm, shop or analytics")
        if not isinstance(meta.get("masked", True), bool):
            raise RegistryError(f"{where}: masked is true or false, not {meta['masked']!r}")
        found.append(
            PiiColumn(
                schema=node["schema"], relation=relation, column=column.get("name") or name, kind=kind,
                source_system=system, json_key=meta.get("json_key"), is_source=is_source,
            )
        )  # fmt: skip
    return found


def read_registry(manifest: Path, settings: Settings) -> PiiRegistry:
    """The registry of `manifest` (the one Dagster loads: orchestration.resources.dbt_project.manifest_path).

    The project is parsed into it first when it does not exist or is older than a YAML file of the project: a
    column declared personal a minute ago is erased and masked already. Read once per version of the file, so
    callers may ask on every use; `settings` name the profile's warehouse for the parse.
    """
    if not manifest.exists() or manifest.stat().st_mtime_ns < _newest_yaml_ns():
        _parse_into(manifest, settings)
    stat = manifest.stat()
    return _read(manifest, stat.st_mtime_ns, stat.st_size)


def _newest_yaml_ns() -> int:
    """Modification time of the newest YAML of the dbt project (models, sources, dbt_project.yml)."""
    files = [DBT_PROJECT_DIR / "dbt_project.yml", *(DBT_PROJECT_DIR / "models").rglob("*.yml")]
    return max(path.stat().st_mtime_ns for path in files if path.exists())


@cache
def _read(manifest: Path, mtime_ns: int, size: int) -> PiiRegistry:
    return registry_from_manifest(json.loads(manifest.read_text()))


def _parse_into(manifest: Path, settings: Settings) -> None:
    """`dbt parse` in a private folder (from the partial parse beside `manifest`, if any), its manifest renamed
    into place: a reader never sees half a file."""
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".parse-", dir=manifest.parent) as scratch:
        if (manifest.parent / "partial_parse.msgpack").exists():
            shutil.copy2(manifest.parent / "partial_parse.msgpack", Path(scratch) / "partial_parse.msgpack")
        run_dbt(["parse", "--quiet"], settings, target_path=Path(scratch))
        os.replace(Path(scratch) / "manifest.json", manifest)
