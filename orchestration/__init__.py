"""Dagster definitions over the ingestion, dbt, privacy, serving and activation assets."""
