"""Activation (reverse ETL): consented profiles and segments from the serving copy to the email platform.

- `activation.sync.sync(destination, mode, settings=..., dry_run=...)`: one incremental sync to a Mailchimp-shaped
  ESP;
- `activation.export.export_segments(out_dir, settings)`: CSV and Parquet files per segment for ESPs without an API;
- `orchestration.assets.activation.build_defs(settings)`: one Dagster asset per destination, downstream of the
  serving copy;
- `activation.exclusions`: who was left out of the audience and why (`SyncResult.excluded`), counted per person
  of the marts' customer_profiles from the dbt model `activation.exclusions`.

Both sends re-check consent and the erasure ledger at the last moment. See docs/activation.md.
"""
