"""The one reader behind every resource: landing lines (or API pages) in, parquet files for dlt out.

Why one reader: every system has the same problems (broken lines, wrong types, unknown fields, re-delivered
records, files that grow or get replaced) and they are solved once, the same way, here. Each resource only
declares its `TableSpec` (ingestion/spec.py) and calls `read_landing` or `read_pages`.

Modules, in the order a line meets them:
- `files`: which landing files are read at all, file marks and resume points, gzip text;
- `file_reads`: what one file gives a run (new complete lines, documents unwrapped, files refused or held);
- `lines`: bytes cut into numbered lines, a batch as one Arrow table;
- `reads`: the read loops (`read_landing`, `read_pages`): batching, read-ahead, the run's counts in its state;
- `reader`: `RecordReader`, which runs a batch through the steps below in an in-memory DuckDB, sharing the `Run`
  and a `Batch` (`batch`): `classify` (records or not, unknown fields), `drift` (their columns), `extract` (typed
  rows, child rows), `dedup` (one version per key, what the destination holds), `conflicts` (event ids reused
  for other content), `staging` (rows waiting for the flush);
- `target`: what the running dlt pipeline and its destination already hold;
- `sql`: SQL builders; `output`: parquet files and dlt hints handed to dlt.

Names other packages use are re-exported here.
"""

from ingestion.landing.drift import MAX_NEW_COLUMNS_PER_RUN
from ingestion.landing.files import gunzip, is_landing_file, landing_files, scan_landing
from ingestion.landing.output import SCHEMA_CONTRACT, routed_table
from ingestion.landing.reads import (
    API_CURSOR_KEY,
    RUN_COUNTS_KEY,
    api_origin,
    has_unread,
    read_landing,
    read_pages,
)

__all__ = [
    "API_CURSOR_KEY",
    "MAX_NEW_COLUMNS_PER_RUN",
    "RUN_COUNTS_KEY",
    "SCHEMA_CONTRACT",
    "api_origin",
    "gunzip",
    "has_unread",
    "is_landing_file",
    "landing_files",
    "read_landing",
    "read_pages",
    "routed_table",
    "scan_landing",
]
