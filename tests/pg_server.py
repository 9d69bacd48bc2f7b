"""A real PostgreSQL server for the tests, from Debian's `postgresql` package.

The session starts its own cluster: initdb in a temporary directory (as the `postgres`
system user when the tests run as root, as CI does: the server refuses to run as root),
a free port on 127.0.0.1, its unix socket in the same directory, fsync on. Nothing of the
machine's own clusters is touched. A missing package is an error, never a skip: the
test command installs it (scripts/test).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

SUPERUSER = "sapa"


def bindir() -> Path:
    """The directory holding initdb/pg_ctl/postgres of the newest installed version."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    candidates += [
        Path(p)
        for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    ]
    for found in (shutil.which("initdb"), shutil.which("pg_ctl")):
        if found:
            candidates.append(Path(os.path.realpath(found)).parent)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise RuntimeError(
        "PostgreSQL is not installed (no initdb/pg_ctl): apt-get install postgresql "
        "(scripts/test does it)"
    )


def _version_key(path: str) -> int:
    part = path.split("/")[-2]
    return int(part) if part.isdigit() else 0


class PgServer:
    """One throw-away cluster; `stop()`/`start()` keep its data and port (outage tests)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.bin = bindir()
        self.as_root = os.geteuid() == 0
        # Not under pytest's tmp dir: as root that is mode 0700 and `postgres` could not enter.
        self.root = Path(tempfile.mkdtemp(prefix="sapa-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(port),
            "unix_socket_directories": f"'{self.root}'",
            "fsync": "on",
            "max_connections": "300",
            "logging_collector": "off",
            "log_min_messages": "warning",
        }
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as f:
            f.writelines(f"{key} = {value}\n" for key, value in conf.items())

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed:\n{done.stdout}\n{done.stderr}\n{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]
        except OSError:
            return ""

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self) -> None:
        """A fast shutdown: open sessions are cut, as when the server is restarted."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new empty database (or a copy of `template`); returns its URL."""
        sql = f'CREATE DATABASE "{name}"'
        if template:
            sql += f' TEMPLATE "{template}"'
        with psycopg.connect(self.url(), autocommit=True) as conn:
            # A template cannot be copied while anyone is connected to it; a pool closing
            # a moment ago may still be on its way out.
            for attempt in range(50):
                try:
                    conn.execute(sql)  # type: ignore[arg-type]
                    break
                except psycopg.errors.ObjectInUse:
                    if attempt == 49:
                        raise
                    time.sleep(0.1)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
