"""A real PostgreSQL server for the serving tests: the PostgreSQL serving target is tested against the server BI
tools connect to, not a fake, with password authentication on 127.0.0.1 as a deployment would have it.

The server is the machine's own (`initdb`, `pg_ctl`: Debian's `postgresql` package); the tests that need it skip,
saying why, where it is not installed. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user,
in a directory of its own under /tmp (pytest's temporary root is private to root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "s3cret-Pa55:w/rd@x"
"""Has the characters a URL must percent-encode, so the tests also show it is never echoed in any form."""


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int

    def url(self, database: str, user: str = SUPERUSER, password: str = SUPERUSER_PASSWORD) -> str:
        """The URL of `database` as `user`, the password percent-encoded as a URL must carry it."""
        return f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{self.host}:{self.port}/{database}"


def postgres_bin_dir() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/<version>/bin (newest first)."""
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0
    )
    return candidates[-1].parent if candidates else None


def _as_server_user() -> list[str]:
    """The command prefix that runs PostgreSQL's programs as a non-root user (nothing when not root)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv is missing: PostgreSQL cannot be started as root")
    try:
        import pwd

        pwd.getpwnam(SUPERUSER)
    except KeyError:
        pytest.skip("running as root and there is no `postgres` user to run the PostgreSQL server as")
    return ["setpriv", f"--reuid={SUPERUSER}", f"--regid={SUPERUSER}", "--clear-groups"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this session (see `running_postgres`)."""
    with running_postgres() as server:
        yield server


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server on a free port of 127.0.0.1, stopped and deleted at the end. Password (SCRAM)
    authentication over TCP; no Unix socket; no fsync (a test server)."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's `postgresql` package")
    prefix = _as_server_user()
    root = Path(tempfile.mkdtemp(prefix="pg-serving-", dir="/tmp"))
    data, password_file, log = root / "data", root / "password", root / "server.log"
    pg_ctl = [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log)]
    try:
        password_file.write_text(SUPERUSER_PASSWORD + "\n")
        if prefix:
            shutil.chown(root, user=SUPERUSER)
            shutil.chown(password_file, user=SUPERUSER)
        subprocess.run(
            [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={password_file}",
             "--auth-host=scram-sha-256", "--auth-local=reject", "--no-sync", "--encoding=UTF8", "--locale=C"],
            check=True, capture_output=True, cwd=root,
        )  # fmt: skip
        for _attempt in range(3):  # another process may take the free port before the server binds it
            port = _free_port()
            options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off"
            started = subprocess.run([*pg_ctl, "-o", options, "-w", "start"], capture_output=True, text=True, cwd=root)
            if started.returncode == 0:
                break
        else:
            raise RuntimeError(f"pg_ctl start failed: {started.stdout}{started.stderr}\n{log.read_text()}")
        yield PostgresServer(host="127.0.0.1", port=port)
    finally:
        if data.exists():
            subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True, cwd=root)
        shutil.rmtree(root, ignore_errors=True)
