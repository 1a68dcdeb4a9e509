"""One Dagster asset per ESP destination, downstream of the serving copy: `activation/<destination>`.

Each materialization is one sync (`activation.sync.sync`); its metadata carries the counts (added, updated,
removed, failed, invalid, skipped) so the asset's history in the UI shows every sync. A sync that could not
finish (outage, auth) fails the asset; one where some members were rejected succeeds with `failed` > 0 and the
reasons in the metadata, and the next run retries them. Destinations: `ACTIVATION_DESTINATIONS` (default
`esp`). A destination whose URL, list and key are configured syncs automatically after each publish of the
serving copy. An unconfigured one is still shown, as an asset that cannot be materialized (no automation, not in
"Materialize all") whose description names the variables to set; it becomes a sync asset when the definitions
are loaded again with them. A sync reads the serving copy, the erasure ledger and its state where the run's
`WarehouseResource` settings say.
"""

import dagster as dg

from activation.config import destination_config, destination_names
from activation.sync import SYNC_MODES, sync
from core.settings import Settings
from orchestration.assets.serving import SERVING_KEY
from orchestration.resources import OWNERS, WarehouseResource

GROUP = "activation"


class SyncConfig(dg.Config):
    """Run configuration of a sync asset (launchpad): the mode, and a dry run that sends nothing.

    Mirror by default: a scheduled sync must also archive people who left the profiles (consent revoked,
    unreachable), or they would stay subscribed at the ESP."""

    mode: str = "mirror"
    dry_run: bool = False


def _description(destination: str) -> str:
    return (
        f"Consented profiles and segment tags synced to the ESP destination `{destination}` "
        "(Mailchimp Marketing API; only the changes since the last sync). See docs/activation.md."
    )


def build_unconfigured_spec(destination: str, missing: list[str]) -> dg.AssetSpec:
    """`destination` without its URL, list or key: shown in its place in the graph, never run.

    An AssetSpec has no body, so the UI offers no Materialize for it, "Materialize all" and the automation leave
    it out, and a new user never sees a sync fail for want of credentials."""
    return dg.AssetSpec(
        key=[GROUP, destination],
        deps=[SERVING_KEY],
        group_name=GROUP,
        owners=OWNERS,
        kinds={"mailchimp"},
        description=(
            f"Not configured, so never synced: set {', '.join(missing)} (environment or .dlt/secrets.toml) and "
            "restart `warehouse ui` to sync after each publish; `warehouse sync --dry-run` previews without them. "
            + _description(destination)
        ),
        metadata={"configured": False, "missing": dg.MetadataValue.json(missing)},
    )


def build_sync_asset(destination: str) -> dg.AssetsDefinition:
    """The asset that syncs `destination`; eager after the serving copy when the destination is configured,
    else it fails with the variables to set (the definitions show an unconfigured one as `build_unconfigured_spec`)."""
    configured = destination_config(destination).is_configured

    @dg.asset(
        key=[GROUP, destination],
        deps=[SERVING_KEY],
        group_name=GROUP,
        owners=OWNERS,
        kinds={"mailchimp"},
        automation_condition=dg.AutomationCondition.eager() if configured else None,
        description=_description(destination),
    )
    def sync_destination(
        context: dg.AssetExecutionContext, config: SyncConfig, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        if config.mode not in SYNC_MODES:
            raise dg.Failure(f"unknown mode {config.mode!r}; expected one of {', '.join(SYNC_MODES)}")
        destination_settings = destination_config(destination)
        if not destination_settings.is_configured and not (config.dry_run and config.mode != "update-only"):
            raise dg.Failure(
                f"destination {destination!r} is not configured: set {', '.join(destination_settings.missing())}"
            )
        result = sync(
            destination,
            config.mode,
            settings=warehouse.settings,
            dry_run=config.dry_run,
            config=destination_settings,
        )
        metadata: dict[str, object] = {
            **result.counts(),
            "mode": result.mode,
            "dry_run": result.dry_run,
            "invalid_reasons": dg.MetadataValue.json(result.invalid_reasons),
            "failures": dg.MetadataValue.json([{"member": who, "reason": why} for who, why in result.failures]),
            # Who was left out and why (activation.exclusions and the sync's own checks), and the tags changed.
            "people": result.people,
            "audience": result.audience,
            "left_out": sum(result.excluded.values()),
            "excluded": dg.MetadataValue.json(result.excluded),
            **{f"excluded_{reason}": people for reason, people in result.excluded.items()},  # plottable
            "archived": result.archived,
            "deleted": result.deleted,
            "tags_added": dg.MetadataValue.json(result.tags_added),
            "tags_removed": dg.MetadataValue.json(result.tags_removed),
        }
        if result.aborted:
            raise dg.Failure(
                f"sync to {destination} stopped early: {result.aborted}", metadata={**metadata, "aborted": True}
            )
        context.log.info(
            "sync to %s (%s): %s; left out: %s", destination, result.mode, result.counts(), result.excluded
        )
        return dg.MaterializeResult(metadata=metadata)

    return sync_destination


def build_defs(settings: Settings) -> dg.Definitions:
    """One sync asset per configured destination the settings name (ACTIVATION_DESTINATIONS), and a spec that
    cannot be materialized per unconfigured one."""
    assets: list[dg.AssetsDefinition | dg.AssetSpec] = []
    for name in destination_names(settings):
        config = destination_config(name)
        assets.append(
            build_sync_asset(name) if config.is_configured else build_unconfigured_spec(name, config.missing())
        )
    return dg.Definitions(assets=assets)
