"""SQLite's WAL is folded into the database file by a thread of its own, never inside a
COMMIT, and the log stays bounded while the writer keeps committing."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from chat_server.store.sql import Tx
from chat_server.store.sqlite_db import SqliteDatabase
from tests.conftest import timeout


def _fill(conn: Tx) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, body TEXT)")
    conn.executemany("INSERT INTO filler (body) VALUES (?)", [("x" * 2000,) for _ in range(100)])


def _frames(path: Path) -> int:
    """Frames in the WAL file: its size past the header, in frames of 24 bytes + a page."""
    wal = Path(f"{path}-wal")
    size = wal.stat().st_size if wal.exists() else 0
    return max(0, size - 32) // (24 + 4096)


async def test_commits_never_checkpoint_and_a_thread_folds_the_log_in(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    db = SqliteDatabase(str(path))
    await db.open()
    try:
        writer_setting = await db.write(
            lambda conn: conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        )
        assert writer_setting == 10_000  # only the bound: the thread does the rest
        for _ in range(5):
            await db.write(_fill)
        # The database file alone (no WAL read) has the rows once the thread copied them
        # (the writer's own checkpoint would wait for 10,000 frames).
        deadline = time.monotonic() + timeout(5)
        while True:
            plain = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
            try:
                rows = plain.execute("SELECT count(*) FROM filler").fetchone()[0]
            except sqlite3.OperationalError:
                rows = 0  # the table's page is not in the file yet
            finally:
                plain.close()
            if rows == 500 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert rows == 500
    finally:
        await db.close()


async def test_the_log_stays_bounded_while_the_writer_keeps_committing(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    db = SqliteDatabase(str(path), wal_limit_frames=300)
    await db.open()
    try:
        began, jobs = time.monotonic(), 0
        # Commits back to back for a while: a PASSIVE checkpoint alone never catches up.
        while time.monotonic() - began < 2.0:
            await asyncio.gather(*(db.write(_fill) for _ in range(4)))
            jobs += 4
        # Each job writes 100 rows of 2 KB, ~50 pages: the log was written from its start
        # again and again, so the file holds a small part of all the frames ever written.
        assert _frames(path) < jobs * 50 / 3
        total = await db.fetch_one("SELECT count(*) AS n FROM filler")
        assert total is not None and total["n"] > 0
    finally:
        await db.close()
