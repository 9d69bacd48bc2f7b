"""Shared test helpers: one timeout factor, free ports, subprocess servers."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from chat_server.store.migrations import _statements, migration_scripts
from tests.pg_server import PgServer

# Every wait in the suite scales with this, for slow CI machines.
TIMEOUT_FACTOR = float(os.environ.get("SAPA_TEST_TIMEOUT_FACTOR", "1"))


def timeout(seconds: float) -> float:
    return seconds * TIMEOUT_FACTOR


def sqlite_before(migration: str, path: str = ":memory:") -> sqlite3.Connection:
    """A SQLite database (autocommit) with every migration applied that comes before the one
    whose file name ends with `migration`: the data a migration finds, written by a test."""
    scripts = migration_scripts()
    ours = next(i for i, (_, name, _) in enumerate(scripts) if name.endswith(migration))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for number, _, script in scripts[:ours]:
        for statement in _statements(script):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.execute("COMMIT")
    return conn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """A real `sapa serve` in a subprocess."""

    url: str
    port: int
    db_path: str
    process: subprocess.Popen[str]
    output: list[str]
    site_key: str = ""
    owner_email: str = ""
    owner_password: str = ""
    agent_email: str = ""

    def stop(self, kill: bool = False) -> None:
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout(10))
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_server(
    db_path: Path | str, *extra: str, env: dict[str, str] | None = None, host: str = "127.0.0.1"
) -> ServerProcess:
    """`sapa serve` on a free port of `host` (any loopback address: 127.0.0.2 is a second host)."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "chat_server",
        "serve",
        "--db",
        str(db_path),
        "--host",
        host,
        "--port",
        str(port),
        *extra,
    ]
    # Request lines would fill the pipe nobody reads after the banner: quiet unless asked.
    full_env = {"SAPA_LOG_LEVEL": "warning", **os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    process = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env
    )
    server = ServerProcess(f"http://{host}:{port}", port, str(db_path), process, [])
    deadline = time.monotonic() + timeout(30)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                "server exited:\n" + (process.stdout.read() if process.stdout else "")
            )
        try:
            if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        server.stop(kill=True)
        raise RuntimeError("server did not become healthy")
    return server


def read_demo_banner(server: ServerProcess) -> None:
    """Parse the credentials `sapa serve --demo` prints, as a newcomer would read them."""
    assert server.process.stdout is not None
    deadline = time.monotonic() + timeout(10)
    while time.monotonic() < deadline and not (server.owner_password and server.agent_email):
        line = server.process.stdout.readline()
        server.output.append(line)
        if "Owner login:" in line:
            server.owner_email, _, server.owner_password = (
                line.split(":", 1)[1].strip().partition(" / ")
            )
        if "Agent login:" in line:
            server.agent_email = line.split(":", 1)[1].strip().partition(" / ")[0]
    page = httpx.get(server.url + "/demo", timeout=5).text
    server.site_key = page.split('data-site="', 1)[1].split('"', 1)[0]


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[ServerProcess]:
    server = start_server(tmp_path / "demo.db", "--demo")
    read_demo_banner(server)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One real PostgreSQL for the session (per xdist worker); a missing server fails."""
    server = PgServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.destroy()
