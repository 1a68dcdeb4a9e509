"""Guards against false merges, end to end: households of look-alike people loaded through the real pipeline.

bench.households writes HubSpot contacts of households (two or three people of one surname and address, often
one phone, look-alike given names: John and Joan, Daniel and Danielle, Louis and Louise) and a few true
duplicates. The only right answer for household members is no merge. Each guard is also tested alone by the dbt
unit tests beside int_identity_edges and int_identity_records_capped; this module checks them on a whole
warehouse, that `warehouse explain` shows why records merged, and that `warehouse identity train` retrains.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from bench.households import write_landing
from bench.pairwise import read_map, score
from cli import identity_training
from cli.main import app
from core.dbt_cli import run_dbt
from core.settings import Settings, get_settings
from ingestion.pipelines import SYSTEMS, load
from tests.conftest import settings_for

MIN_DUPLICATE_RECALL = 0.95
"""Share of the households' true duplicate pairs found (measured 1.0): guarding must not stop all merging."""


@pytest.fixture(scope="module")
def households(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict]:
    root = tmp_path_factory.mktemp("households")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in settings_for(root).items():
            mp.setenv(name, value)
        settings = get_settings()
        truth = write_landing(settings.landing_dir)
        load(SYSTEMS, settings)
        run_dbt(
            ["build", "--select", "+customer_identity_map", "--indirect-selection", "cautious"],
            settings,
            target_path=root / "dbt_target",
        )
        yield settings, truth


def test_no_two_household_members_are_merged(households) -> None:
    settings, truth = households

    counts = score(read_map(settings.warehouse_path), truth)

    assert counts.predicted_pairs - counts.correct_pairs == 0, counts
    assert counts.recall >= MIN_DUPLICATE_RECALL, counts


def test_the_guards_not_the_weights_stop_the_household_pairs_the_model_scores_as_matches(households) -> None:
    settings, truth = households
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        probable = con.sql(
            "select left_record_key, right_record_key, match_probability from intermediate.int_identity_pairs_scored"
            " where match_probability >= 0.999"
        ).fetchall()
        edges = set(con.sql("select left_record_key, right_record_key from intermediate.int_identity_edges").fetchall())
    person = {f"{system}:{source_id}": person for (system, source_id), person in truth.items()}
    household_pairs = [(left, right) for left, right, _ in probable if person[left] != person[right]]

    assert household_pairs, "the weights alone would merge household members (John and Joan at one address)"
    assert not set(household_pairs) & edges


def test_explain_prints_a_customers_records_and_the_weights_of_each_edge(households, monkeypatch) -> None:
    settings, _ = households
    for name, value in settings_for(settings.warehouse_path.parent).items():
        monkeypatch.setenv(name, value)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        (customer_id,) = con.sql(
            "select customer_id from marts.customer_identity_map where match_rule = 'fuzzy' order by 1 limit 1"
        ).fetchone()

    # no COLUMNS: the explanation must stay readable at a non-terminal's 80 columns (a CI log, a pipe)
    result = CliRunner().invoke(app, ["explain", "--customer-id", customer_id])

    assert result.exit_code == 0, result.output
    assert f"Records of {customer_id}" in result.output
    assert "fuzzy" in result.output and "first_name" in result.output and "date_of_birth" in result.output


def test_explain_refuses_an_unknown_customer(households, monkeypatch) -> None:
    settings, _ = households
    for name, value in settings_for(settings.warehouse_path.parent).items():
        monkeypatch.setenv(name, value)

    result = CliRunner().invoke(app, ["explain", "--customer-id", "cus_nobody"])

    assert result.exit_code == 1
    assert "No customer cus_nobody" in result.output


def test_identity_train_rewrites_the_seeds_with_a_new_version(households, monkeypatch, tmp_path: Path) -> None:
    settings, _ = households
    for name, value in settings_for(settings.warehouse_path.parent).items():
        monkeypatch.setenv(name, value)
    (tmp_path / identity_training.TRAINING_SEED.name).write_bytes(identity_training.TRAINING_SEED.read_bytes())
    monkeypatch.setattr(identity_training, "SEEDS_DIR", tmp_path)
    before = identity_training.current_version(tmp_path / identity_training.TRAINING_SEED.name)

    result = CliRunner().invoke(app, ["identity", "train", "--training-data", "households"])

    assert result.exit_code == 0, result.output
    with (tmp_path / identity_training.TRAINING_SEED.name).open(newline="") as f:
        (meta,) = list(csv.DictReader(f))
    assert int(meta["parameters_version"]) == before + 1
    assert meta["training_data"] == "households"
    parameters = (tmp_path / identity_training.PARAMETERS_SEED.name).read_text(encoding="utf-8")
    assert parameters.startswith("comparison,level,m_probability,u_probability\n")
    assert parameters.count("\n") == 1 + sum(len(levels) for levels in identity_training.LEVELS.values())
