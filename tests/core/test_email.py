"""One email-validity rule: the Python constant is dbt's macro, character for character."""

from __future__ import annotations

import ast
import re

import duckdb
import pytest

from core.email import EMAIL_PATTERN
from core.settings import DBT_PROJECT_DIR

MACRO = DBT_PROJECT_DIR / "macros" / "standardize" / "email.sql"


def _macro_pattern() -> str:
    """The pattern `email_pattern()` returns, its Jinja string literal unescaped as Jinja does."""
    match = re.search(r"macro email_pattern\(\).*?return\(('(?:[^'\\]|\\.)*')\)", MACRO.read_text(), re.DOTALL)
    assert match, f"email_pattern() not found in {MACRO}"
    return ast.literal_eval(match.group(1))


def test_the_python_email_pattern_is_the_dbt_macro_s() -> None:
    assert _macro_pattern() == EMAIL_PATTERN


@pytest.mark.parametrize(
    ("email", "valid"),
    [
        ("dana+news@example.com", True),
        ("a.b@mail.example.co", True),
        ("e@example.com.", False),
        ("f.@example.com", False),
        ("a..b@example.com", False),
        ("josé@example.com", False),
        ("no-at-sign.example.com", False),
    ],
)
def test_python_and_duckdb_judge_an_email_alike(email: str, valid: bool) -> None:
    with duckdb.connect() as con:
        (in_duckdb,) = con.execute("SELECT regexp_matches(?, ?)", [email, EMAIL_PATTERN]).fetchone()

    assert (re.match(EMAIL_PATTERN, email) is not None) == in_duckdb == valid
