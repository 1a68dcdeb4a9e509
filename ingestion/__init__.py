"""dlt sources that land CRM, shop and analytics data in DuckDB."""

import os

# dlt sends anonymous usage events to dltHub from every pipeline step unless told not to. A warehouse of people's
# data sends nothing it was not asked to (Dagster's telemetry is off in dagster.yaml for the same reason), and each
# event also costs a load process time. Set before any pipeline resolves its runtime configuration; a deployment
# that wants to share usage sets RUNTIME__DLTHUB_TELEMETRY=true.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
