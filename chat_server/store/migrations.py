"""Numbered schema migrations, applied in order at start-up, one series per backend.

SQLite: `schema/NNNN_name.sql`, the version in `PRAGMA user_version`. PostgreSQL:
`schema/postgres/NNNN_name.sql`, the applied numbers in table `schema_migrations`. A change
to the schema adds one file to each series. One file per migration, so features add theirs
without touching anyone else's. Never edit a migration that has shipped; add a new one.
"""

from __future__ import annotations

import sqlite3
from importlib import resources
from typing import Any

# pg_advisory_lock key: one process migrates at a time, the others wait and find it done.
PG_LOCK_KEY = 0x5A9A_0011


def migration_scripts(backend: str = "sqlite") -> list[tuple[int, str, str]]:
    """(number, name, sql) for every migration of `backend` ("sqlite", "postgres"), in order."""
    folder = resources.files("chat_server.store").joinpath("schema")
    if backend == "postgres":
        folder = folder.joinpath("postgres")
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if numbers != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {numbers}")
    return found


def _statements(script: str) -> list[str]:
    """One entry per statement; a trigger's body (its own `;`s) stays with its trigger."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip().rstrip(";"))
            current = ""
    if current.strip():
        out.append(current.strip().rstrip(";"))
    return [s for s in out if s]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations; safe when several processes start at once."""
    scripts = migration_scripts()
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number, _, script in scripts[version:]:
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(scripts)


def migrate_postgres(conn: Any) -> int:
    """Apply pending PostgreSQL migrations (`conn`: psycopg, autocommit).

    Safe when several processes start at once: they take turns on an advisory lock, and
    each migration commits with its number in one transaction.
    """
    scripts = migration_scripts("postgres")
    # A migration may rewrite a large table (0012 took about two minutes per million
    # messages), and a process starting meanwhile waits for the lock: no statement
    # deadline here; RESET restores the connection's own at the end.
    conn.execute("SET statement_timeout = 0")
    conn.execute("SELECT pg_advisory_lock(%s)", (PG_LOCK_KEY,))
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY,"
            " name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for number, name, script in scripts:
            if number in applied:
                continue
            with conn.transaction():
                conn.execute(script)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (number, name)
                )
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (PG_LOCK_KEY,))
        conn.execute("RESET statement_timeout")
    return len(scripts)
