"""Where activation reads its configuration: destinations from dlt config / environment, paths from settings.

A destination is named (`esp` unless told otherwise) and configured like the dlt sources are, under
`destinations.<name>` in `.dlt/config.toml` / `.dlt/secrets.toml` or the matching environment variables:

    DESTINATIONS__ESP__BASE_URL   e.g. https://us21.api.mailchimp.com (the data center of the account)
    DESTINATIONS__ESP__LIST_ID    the audience (list) id
    DESTINATIONS__ESP__API_KEY    the Marketing API key (a secret)
    DESTINATIONS__ESP__BATCH_SIZE optional, at most 500 (Mailchimp's limit per batch call)

There are no defaults for the first three: an unconfigured destination refuses to send rather than guess a host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings

DEFAULT_DESTINATION = "esp"
MAX_BATCH_SIZE = 500
"""Mailchimp's batch subscribe limit: members per `POST /3.0/lists/{list_id}`."""
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class DestinationConfig:
    """One ESP audience to sync to. `api_key` is kept out of `repr` so logs and tracebacks never show it."""

    name: str
    base_url: str | None
    list_id: str | None
    api_key: str | None
    batch_size: int = MAX_BATCH_SIZE

    def __repr__(self) -> str:
        return f"DestinationConfig(name={self.name!r}, base_url={self.base_url!r}, list_id={self.list_id!r})"

    @property
    def is_configured(self) -> bool:
        return bool(self.base_url and self.list_id and self.api_key)

    def missing(self) -> list[str]:
        """The environment variables still to set before this destination can be sent to."""
        prefix = f"DESTINATIONS__{self.name.upper()}__"
        values = {"BASE_URL": self.base_url, "LIST_ID": self.list_id, "API_KEY": self.api_key}
        return [prefix + key for key, value in values.items() if not value]


def check_destination_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"destination name {name!r}: use lower-case letters, digits and _ (e.g. esp)")
    return name


def destination_config(name: str = DEFAULT_DESTINATION) -> DestinationConfig:
    """Read `destinations.<name>` through dlt's config providers (environment first, then .dlt/*.toml)."""
    import dlt

    check_destination_name(name)
    section = f"destinations.{name}"

    def text(value: object) -> str | None:
        return (str(value).strip() or None) if value is not None else None

    batch_size = int(dlt.config.get(f"{section}.batch_size") or MAX_BATCH_SIZE)
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"{section}.batch_size must be between 1 and {MAX_BATCH_SIZE}, got {batch_size}")
    return DestinationConfig(
        name=name,
        base_url=text(dlt.config.get(f"{section}.base_url")),
        list_id=text(dlt.config.get(f"{section}.list_id")),
        api_key=text(dlt.secrets.get(f"{section}.api_key")),
        batch_size=batch_size,
    )


def destination_names(settings: Settings) -> list[str]:
    """Destinations that get a Dagster asset: `ACTIVATION_DESTINATIONS` (comma-separated), default `esp`."""
    return [check_destination_name(n) for n in settings.activation_destinations or (DEFAULT_DESTINATION,)]


def sync_state_path(settings: Settings) -> Path:
    """`SYNC_STATE_PATH`, default `sync_state.duckdb` beside the warehouse (its own file: the warehouse has
    one writer, and a sync must be able to record progress while dlt or dbt hold it)."""
    return settings.configured_sync_state_path or settings.data_dir / "sync_state.duckdb"
