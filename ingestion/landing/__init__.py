"""The one reader behind every resource: landing lines (or API pages) in, parquet files for dlt out.

The names other packages use are re-exported here; the reader itself is `ingestion.landing.reader`.
"""

from ingestion.landing.reader import (
    API_CURSOR_KEY,
    MAX_DRIFT_COLUMNS,
    MAX_NEW_COLUMNS_PER_RUN,
    RUN_COUNTS_KEY,
    SCHEMA_CONTRACT,
    api_origin,
    gunzip,
    is_landing_file,
    landing_files,
    read_landing,
    read_pages,
    routed_table,
    scan_landing,
)

__all__ = [
    "API_CURSOR_KEY",
    "MAX_DRIFT_COLUMNS",
    "MAX_NEW_COLUMNS_PER_RUN",
    "RUN_COUNTS_KEY",
    "SCHEMA_CONTRACT",
    "api_origin",
    "gunzip",
    "is_landing_file",
    "landing_files",
    "read_landing",
    "read_pages",
    "routed_table",
    "scan_landing",
]
