"""The Definitions read like the asset graph: raw tables -> dbt layers -> serving, gated by checks."""

from collections.abc import Iterator

import dagster as dg
import pytest

GROUPS = {
    "privacy", "crm", "shop", "analytics", "mailchimp", "helpdesk", "staging", "intermediate", "marts", "serving",
    "activation",
}  # fmt: skip
RAW_SUITES = {
    ("raw_crm/contacts", "email_format_rate"),
    ("raw_shop/customers", "email_format_rate"),
    ("raw_shop/customers", "valid_country_codes"),
    ("raw_shop/orders", "non_negative_prices"),
    ("raw_shop/orders", "no_future_timestamps"),
    ("raw_analytics/events", "no_future_timestamps"),
    ("raw_crm/contacts", "plausible_ages"),
}
MART_SUITES = {
    ("marts/customer_profiles", "one_profile_per_customer"),
    ("marts/customer_profiles", "scores_within_1_to_5"),
    ("marts/customer_profiles", "consent_never_null"),
    ("marts/customer_segments", "segment_sizes_within_bounds"),
}


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dg.Definitions]:
    """The project's Definitions, loaded with every path pointing into a temp dir."""
    root = tmp_path_factory.mktemp("definitions")
    with pytest.MonkeyPatch.context() as env:
        for name, path in {
            "LANDING_DIR": root / "landing",
            "WAREHOUSE_PATH": root / "warehouse.duckdb",
            "SERVING_PATH": root / "serving.duckdb",
            "DLT_PIPELINES_DIR": root / "dlt",
            "DAGSTER_HOME": root / "dagster_home",
        }.items():
            env.setenv(name, str(path))
        from orchestration.definitions import defs

        yield defs


def _graph(defs: dg.Definitions):
    return defs.resolve_asset_graph()


def test_every_dbt_source_is_the_raw_asset_dlt_loads(defs: dg.Definitions) -> None:
    graph = _graph(defs)
    raw = {key for key in graph.materializable_asset_keys if graph.get(key).kinds >= {"dlt"}}
    staging = [key for key in graph.materializable_asset_keys if graph.get(key).group_name == "staging"]
    read_from_raw = {
        parent for key in staging for parent in graph.get(key).parent_keys if parent.path[0].startswith("raw_")
    }

    assert read_from_raw, "no staging model reads a raw table"
    assert read_from_raw <= raw, f"dbt sources no dlt asset loads: {read_from_raw - raw}"
    unrunnable = {key for key in graph.external_asset_keys if graph.get(key).group_name != "activation"}
    assert unrunnable == set(), "every asset but an unconfigured ESP destination is materialized by this project"


def test_assets_are_grouped_by_layer_with_owners_and_kinds(defs: dg.Definitions) -> None:
    graph = _graph(defs)
    nodes = [graph.get(key) for key in graph.get_all_asset_keys()]

    assert {node.group_name for node in nodes} == GROUPS
    assert all(node.owners for node in nodes)
    assert all(node.kinds & {"dlt", "dbt", "duckdb", "mailchimp"} for node in nodes)
    serving = graph.get(dg.AssetKey(["serving", "marts"]))
    published = {n.key for n in nodes if n.group_name == "marts" or (n.group_name == "serving" and "dbt" in n.kinds)}
    assert set(serving.parent_keys) == published, "serving publishes the marts and the bi / activation models"
    assert {key.path[0] for key in published} == {"marts", "bi", "activation"}


def test_raw_assets_declare_freshness(defs: dg.Definitions) -> None:
    graph = _graph(defs)
    raw = [graph.get(key) for key in graph.materializable_asset_keys if key.path[0].startswith("raw_")]

    assert raw and all(node.freshness_policy is not None for node in raw)


def test_raw_suites_warn_and_mart_suites_block(defs: dg.Definitions) -> None:
    """Row-level dirt in a feed is flagged and counted; only what would corrupt email or BI stops the run."""
    graph = _graph(defs)
    checks = {(key.asset_key.to_user_string(), key.name): key for key in graph.asset_check_keys}

    assert set(checks) >= RAW_SUITES | MART_SUITES
    specs = {spec.key: spec for checks_def in defs.asset_checks for spec in checks_def.check_specs}
    assert not any(specs[checks[name]].blocking for name in RAW_SUITES)
    assert all(specs[checks[name]].blocking for name in MART_SUITES)
    freshness = [key for name, key in checks.items() if name[1].startswith("source_freshness_")]
    assert freshness and not any(specs[key].blocking for key in freshness)
    assert any(name.startswith("not_null_") for _, name in checks), "dbt tests are asset checks"
    assert any(name.startswith("source_freshness_") for _, name in checks), "dbt source freshness is a check"


def test_automation_sensor_runs_by_default_and_jobs_exist(defs: dg.Definitions) -> None:
    sensor = defs.resolve_sensor_def("automation_sensor")

    assert isinstance(sensor, dg.AutomationConditionSensorDefinition)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert defs.resolve_sensor_def("landing_files_sensor").default_status == dg.DefaultSensorStatus.RUNNING
    assert {"daily_full_build", "full_refresh"} <= {job.name for job in defs.resolve_all_job_defs()}


def test_every_warehouse_writer_shares_one_pool(defs: dg.Definitions) -> None:
    """Every step of the warehouse jobs opens the warehouse; the ESP syncs, outside them, read only serving."""
    from orchestration.resources import WAREHOUSE_POOL

    job = defs.resolve_job_def("daily_full_build")
    pools = {node.name: node.definition.pool for node in job.graph.nodes}

    assert pools and set(pools.values()) == {WAREHOUSE_POOL}, pools


def test_each_dbt_invocation_gets_the_prepared_parse_and_only_the_latest_targets_are_kept(tmp_path) -> None:
    import os

    from core.settings import get_settings
    from orchestration.resources import KEPT_RUNS, invocation_target_path

    (tmp_path / "partial_parse.msgpack").write_bytes(b"prepared")
    made = []
    for number in range(KEPT_RUNS + 3):
        made.append(invocation_target_path(f"run{number:05d}", get_settings(), prepared=tmp_path))
        os.utime(made[-1], (1_000_000 + number, 1_000_000 + number))  # each later than the one before
    assert (made[-1] / "partial_parse.msgpack").read_bytes() == b"prepared"
    kept = sorted((tmp_path / "runs").iterdir())
    assert kept == sorted(made[-KEPT_RUNS:])


def test_the_dbt_resource_knows_the_version_of_its_executable_without_running_it(monkeypatch) -> None:
    """The version read from the installed dbt-core is the one `dbt --version` prints; no adapter is built."""
    import re
    import subprocess

    import dagster_dbt.core.resource

    from orchestration.resources import build_resources

    dbt = build_resources()["dbt"]
    command = [dbt.dbt_executable, *dbt.global_config_flags, "--version"]  # dbt, through its launcher
    printed = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    (expected,) = re.findall(r"installed: (\d+\.\d+\.\d+)", printed)

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"ran {args}")

    monkeypatch.setattr(dagster_dbt.core.resource, "check_output", no_subprocess)
    assert str(dbt._cli_version) == expected
    assert dbt._initialize_dbt_core_adapter(["build"]) is None


def test_the_dbt_dagster_starts_gets_the_run_s_settings_from_its_target_dir_and_nothing_else_keeps_them(
    tmp_path, monkeypatch
) -> None:
    """dagster-dbt passes dbt only this process's environment: the launcher adds the run's variables from a file
    in the invocation's target dir and deletes it; the caller's environment never holds them."""
    import json
    import os
    import subprocess
    import sys

    from core.dbt_cli import dbt_env, dbt_env_file
    from core.die_with_parent import PARENT_PID_ENV
    from core.settings import get_settings
    from orchestration.resources import DBT_LAUNCH

    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "elsewhere.duckdb"))
    monkeypatch.setenv("ERASURE_SALT", "the-run-s-salt")
    settings = get_settings({**os.environ, "WAREHOUSE_PATH": str(tmp_path / "run.duckdb")})
    monkeypatch.delenv("ERASURE_SALT")
    target = tmp_path / "target"
    show = "import json, os; print(json.dumps(dict(os.environ)))"
    launcher = DBT_LAUNCH[:2]  # the interpreter and core/dbt_launcher.py; a stand-in for dbt after them

    with dbt_env_file(target, settings) as written:
        assert written.stat().st_mode & 0o777 == 0o600
        env = {**os.environ, "DBT_TARGET_PATH": str(target)}
        seen = json.loads(subprocess.run([*launcher, sys.executable, "-c", show], env=env, capture_output=True,
                                         text=True, check=True).stdout)  # fmt: skip
        assert not written.exists(), "the launcher deletes the file it read"

    assert {name: seen[name] for name in dbt_env(settings)} == dbt_env(settings)
    assert seen["WAREHOUSE_PATH"] == str(tmp_path / "run.duckdb")
    assert seen["DBT_ENV_SECRET_ERASURE_SALT"] == "the-run-s-salt"
    assert seen[PARENT_PID_ENV] == str(os.getpid())
    assert os.environ["WAREHOUSE_PATH"] == str(tmp_path / "elsewhere.duckdb")
    assert "DBT_ENV_SECRET_ERASURE_SALT" not in os.environ


def test_the_warehouse_resource_s_fields_override_the_environment_s_settings(tmp_path, monkeypatch) -> None:
    from orchestration.resources import WarehouseResource

    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "env.duckdb"))
    monkeypatch.setenv("LANDING_DIR", str(tmp_path / "env-landing"))
    monkeypatch.delenv("DLT_PIPELINES_DIR", raising=False)

    settings = WarehouseResource(warehouse_path=str(tmp_path / "run" / "warehouse.duckdb")).settings

    assert settings.warehouse_path == tmp_path / "run" / "warehouse.duckdb"
    assert settings.pipelines_dir == tmp_path / "run" / ".dlt", "what follows the warehouse follows the override"
    assert settings.landing_dir == tmp_path / "env-landing", "an empty field leaves the variable's value"
