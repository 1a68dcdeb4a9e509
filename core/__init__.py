"""What every other package builds on: settings, warehouse connections, running dbt, HTTP helpers."""
