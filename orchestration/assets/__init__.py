"""Dagster assets, one module per area of the asset graph: ingestion, dbt, privacy, serving, activation."""
