"""Dagster definitions and the `warehouse` command."""
