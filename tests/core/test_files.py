"""Files holding personal data are created readable by their owner only (core.files), and the places that create
them use it: the warehouse a load opens and the erasure ledger."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from core.files import make_private, private_umask, restrict_umask, write_private
from core.settings import Settings
from core.warehouse import warehouse_connection
from privacy.ledger import ErasureLedger


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _current_umask() -> int:
    previous = os.umask(0o077)
    os.umask(previous)
    return previous


@pytest.mark.usefixtures("lax_umask")
def test_private_umask_makes_new_files_and_folders_private_then_restores_the_umask(tmp_path: Path) -> None:
    with private_umask():
        assert _current_umask() == 0o077
        (tmp_path / "file").write_text("ada@example.com")
        (tmp_path / "folder").mkdir()
        with duckdb.connect(str(tmp_path / "db.duckdb")) as con:  # DuckDB takes no mode: the umask decides
            con.execute("create table t as select 1 as x")

    assert _current_umask() == 0o022
    assert _mode(tmp_path / "file") == 0o600
    assert _mode(tmp_path / "folder") == 0o700
    assert _mode(tmp_path / "db.duckdb") == 0o600


def test_private_umask_restores_the_umask_after_an_error_and_keeps_a_stricter_one() -> None:
    previous = os.umask(0o027)
    try:
        with pytest.raises(RuntimeError), private_umask():
            raise RuntimeError
        assert _current_umask() == 0o027
        os.umask(0o277)
        with private_umask():
            assert _current_umask() == 0o277
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("lax_umask")
def test_restrict_umask_holds_for_the_processes_this_one_starts(tmp_path: Path) -> None:
    try:
        assert restrict_umask() == 0o022
        subprocess.run([sys.executable, "-c", f"open({str(tmp_path / 'child')!r}, 'w')"], check=True)
    finally:
        os.umask(0o022)

    assert _mode(tmp_path / "child") == 0o600


def test_make_private_tightens_existing_files_and_skips_missing_ones(tmp_path: Path) -> None:
    old = tmp_path / "old.duckdb"
    old.write_text("x")
    old.chmod(0o644)

    make_private(old, tmp_path / "missing.wal")

    assert _mode(old) == 0o600


@pytest.mark.usefixtures("lax_umask")
def test_write_private_replaces_a_readable_file_with_a_private_one(tmp_path: Path) -> None:
    kept = tmp_path / "tail.torn"
    kept.write_bytes(b"an older, longer content")
    kept.chmod(0o644)

    write_private(kept, b"ada@exa")

    assert (kept.read_bytes(), _mode(kept)) == (b"ada@exa", 0o600)


@pytest.mark.usefixtures("lax_umask")
def test_the_erasure_ledger_is_0600_and_tightens_a_ledger_left_readable(isolated_env: Settings) -> None:
    ledger = ErasureLedger(isolated_env)
    ledger.record([("email", "ada@example.com")])
    assert _mode(isolated_env.ledger_path) == 0o600

    isolated_env.ledger_path.chmod(0o644)
    ledger.record([("email", "bob@example.com")])
    assert _mode(isolated_env.ledger_path) == 0o600
    assert _current_umask() == 0o022


@pytest.mark.usefixtures("lax_umask")
def test_the_warehouse_a_load_opens_is_0600_with_its_spill_folder_0700(isolated_env: Settings) -> None:
    with warehouse_connection(isolated_env) as con:
        con.execute("create table people as select 'ada@example.com' as email")

    assert _mode(isolated_env.warehouse_path) == 0o600
    assert _mode(isolated_env.duckdb_temp_root) == 0o700
