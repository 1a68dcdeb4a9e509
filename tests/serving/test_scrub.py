"""URLs and free text reach `bi` scrubbed of emails and phones (macros/serving/scrub.sql), and a `bi` text column
still holding one in clear fails the build (the generic test no_contact_in_text)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from core.dbt_cli import run_dbt
from core.settings import DBT_PROJECT_DIR, get_settings
from tests.conftest import settings_for
from tests.serving.marts import Built, create_marts

pytestmark = pytest.mark.slow  # a dbt build

URLS = {
    "https://shop.example.com/account?u=person@example.com": "https://shop.example.com/account?u=[redacted]",
    "https://shop.example.com/reset?tel=+15550100&step=2": "https://shop.example.com/reset?tel=[redacted]&step=2",
    "/welcome?ref=Person%40Example.com&utm_source=newsletter": "/welcome?ref=[email]&utm_source=newsletter",
    "/unsubscribe/jane.doe%2540mail.example.org": "/unsubscribe/[email]",
    "mailto:bob@example.co.uk": "mailto:[email]",
    "/contact?q=call+%2B1%20555%20010%200199": "/contact?q=call+[phone]",
    "/c?msg=Call%20me%20at%20+44%2020%207946%200958": "/c?msg=Call%20me%20at%20[phone]",
    "/p?a=555-010-0199&b=5550101": "/p?a=[phone]&b=[phone]",
    "/x#access_token=abc.def&token_type=bearer": "/x#access_token=[redacted]&token_type=bearer",
    "/products/widget?variant=40123456789012": "/products/widget?variant=40123456789012",
    "/products/7982853340": "/products/7982853340",
    "/search?q=shoes+size+42&page=2": "/search?q=shoes+size+42&page=2",
    "https://mail.example.com/": "https://mail.example.com/",
}
"""What a visitor's URL holds -> what `bi` shows: contacts replaced, the page and the shop's own ids kept."""

SCRUBBED = {
    "fct_sessions": ("session_key", ["landing_page_path", "referrer"]),
    "fct_events": ("message_id", ["page_path", "event_name"]),
}
"""mart -> its key and the columns its `bi` model declares `scrub: contacts`."""
MODELS = ("bi_fct_sessions", "bi_fct_events", "bi_dim_locations", "bi_dim_products")

LOCATION = {"location_key": "l1", "city": "Lyon (call +33 4 72 00 00 00)", "region": "Ada@Example.com"}
"""Free text as a customer typed it into an address form."""

CONTACTS_NOBODY_DECLARED = {"product_key": "p1", "vendor": "Call +1 555 010 0199", "handle": "ada%40example.com"}


def project_with_the_contact_test(root: Path) -> Path:
    """A copy of the dbt project whose every `bi` model carries no_contact_in_text (the real one's YAML may not
    attach it yet; the copy leaves an attached test as it is)."""
    project = root / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    models_yml = project / "models" / "serving" / "bi" / "_bi__models.yml"
    properties = yaml.safe_load(models_yml.read_text())
    for model in properties["models"]:
        tests = model.setdefault("data_tests", [])
        if not any(test == "no_contact_in_text" or "no_contact_in_text" in test for test in tests):
            tests.append("no_contact_in_text")
    models_yml.write_text(yaml.safe_dump(properties, sort_keys=False))
    return project


def _rows(key: str, columns: list[str]) -> list[dict[str, str | None]]:
    rows: list[dict[str, str | None]] = [{key: f"k{n}", **dict.fromkeys(columns, url)} for n, url in enumerate(URLS)]
    return [*rows, {key: "k-null", **dict.fromkeys(columns)}]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """The MODELS built on marts holding the URLS, a LOCATION, and contacts in columns of dim_products nobody
    declared: one dbt build, its models and tests."""
    root = tmp_path_factory.mktemp("serving_scrub")
    with pytest.MonkeyPatch.context() as env:
        for name, value in {**settings_for(root), "ERASURE_SALT": "salt"}.items():
            env.setenv(name, value)
        settings = get_settings()
        marts = {mart: _rows(key, columns) for mart, (key, columns) in SCRUBBED.items()}
        create_marts(
            settings.warehouse_path,
            {**marts, "dim_locations": [LOCATION], "dim_products": [CONTACTS_NOBODY_DECLARED]},
        )
        result = run_dbt(
            ["build", "--target", "prod", "--select", *MODELS],
            settings,
            project_dir=project_with_the_contact_test(root),
            target_path=root / "dbt_target",
            check=False,
        )
        yield Built(settings, result)


@pytest.mark.parametrize(("mart", "column"), [(mart, c) for mart, (_, cs) in SCRUBBED.items() for c in cs])
def test_bi_shows_urls_with_their_emails_phones_and_identifier_parameters_replaced(
    built: Built, mart: str, column: str
) -> None:
    key = SCRUBBED[mart][0]
    shown = dict(built.query(f"SELECT {key}, {column} FROM bi.{mart}"))

    assert shown == {**{f"k{n}": scrubbed for n, scrubbed in enumerate(URLS.values())}, "k-null": None}


def test_bi_shows_free_text_with_its_emails_and_phones_replaced(built: Built) -> None:
    assert built.query("SELECT city, region FROM bi.dim_locations") == [("Lyon (call [phone])", "[email]")]


@pytest.mark.parametrize("model", MODELS[:3])
def test_scrubbed_columns_pass_the_contact_test(built: Built, model: str) -> None:
    assert f"PASS no_contact_in_text_{model}_" in built.result.output, built.result.output[-3000:]


def test_contacts_in_a_column_nobody_declared_fail_the_build(built: Built) -> None:
    ((built_rows,),) = built.query("SELECT count(*) FROM bi.dim_products WHERE vendor LIKE 'Call +1%'")

    assert not built.result.success
    assert "Failure in test no_contact_in_text_bi_dim_products_" in built.result.output, built.result.output[-3000:]
    assert "Got 2 results" in built.result.output, "vendor's phone and handle's encoded email, each a failing row"
    assert built_rows == 1, "bi_dim_products itself was built: the test, not the model, stops the build"
