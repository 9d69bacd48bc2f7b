"""Numbered schema migrations (`schema/NNNN_name.sql`), applied in order at start-up.

One file per migration, so features add theirs without touching anyone else's.
Never edit a migration that has shipped; add a new one.
"""

from __future__ import annotations

import sqlite3
from importlib import resources


def migration_scripts() -> list[tuple[int, str, str]]:
    """(number, name, sql) for every migration, in order."""
    found = []
    for entry in resources.files("chat_server.store").joinpath("schema").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if numbers != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {numbers}")
    return found


def _statements(script: str) -> list[str]:
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s for s in "\n".join(lines).split(";") if s.strip()]


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
