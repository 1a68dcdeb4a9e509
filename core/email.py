"""The one rule of a valid email, for the Python that judges emails itself (the raw quality suites).

dbt's `email_pattern()` macro (dbt_project/macros/standardize/email.sql) is the source: staging keeps an email
only when it matches. This is the same pattern, and tests/core/test_email.py holds the two equal, so a check in
Python never calls valid what staging drops, nor the reverse.
"""

EMAIL_PATTERN = r"^[a-z0-9_%+-]+(\.[a-z0-9_%+-]+)*@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$"
"""Applies to the cleaned email (trimmed, lower-cased: dbt's `clean_email`): an ASCII local part without a
leading, trailing or doubled dot, a dotted domain without a trailing dot. DuckDB's RE2 and Python's `re` read
it alike."""
