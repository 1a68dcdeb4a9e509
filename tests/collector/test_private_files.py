"""The collector's landing files hold people's events (emails in traits, IPs, URLs): only their owner reads them."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from collector import make_server
from collector.writer import EventWriter

WRITE_KEY = "test-write-key"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("lax_umask")
def test_every_events_file_the_writer_creates_is_0600(tmp_path: Path) -> None:
    clock = iter(float(second) for second in range(100)).__next__
    writer = EventWriter(tmp_path, max_file_bytes=10, clock=clock)
    writer.append(b'{"traits":{"email":"ada@example.com"}}\n')
    writer.append(b'{"messageId":"b"}\n')  # over max_file_bytes: a second file
    writer.close()

    assert len(writer.files) == 2
    assert [_mode(path) for path in writer.files] == [0o600, 0o600]


@pytest.mark.usefixtures("lax_umask")
def test_a_torn_tail_kept_aside_and_files_left_readable_by_an_earlier_version_are_0600(tmp_path: Path) -> None:
    events_dir = tmp_path / "analytics" / "events"
    events_dir.mkdir(parents=True)
    old = events_dir / "events-20250101T000000Z-000001.jsonl"
    old.write_bytes(b'{"messageId":"a"}\n{"messageId":"c", "traits": {"email": "ada@exa')
    old.chmod(0o644)

    make_server("127.0.0.1", 0, tmp_path, WRITE_KEY).close()

    [torn] = (tmp_path / "analytics" / "events_torn").glob("*.torn")
    assert torn.read_bytes().endswith(b"ada@exa")
    assert (_mode(old), _mode(torn)) == (0o600, 0o600)
