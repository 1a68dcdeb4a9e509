"""`make bench`: how the warehouse scales, measured against references taken in the same run.

Every machine-dependent figure comes with a ratio to a reference measured on the same data in the same run
(DuckDB's own `read_json`, the compiled SQL run directly, the full build), because absolute times on a shared
machine drift. Each step runs in its own subprocess, so its peak RSS is its own.
"""
