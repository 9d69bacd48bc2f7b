"""`Database.read_now`: the connect path's lookups, answered on the event loop on SQLite."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from chat_server.store import open_database
from chat_server.store import sites as site_store
from chat_server.store.sql import Tx


def _count(conn: Tx) -> int:
    return int(conn.execute("SELECT count(*) FROM t").fetchall()[0][0])


async def test_a_read_now_sees_every_committed_write(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "now.db"), readers=1)
    await db.open()
    try:
        await db.write(lambda conn: conn.execute("CREATE TABLE t (n INTEGER)"))
        for n in range(1, 6):
            await db.write(lambda conn, n=n: conn.execute("INSERT INTO t VALUES (?)", (n,)))
            assert await db.read_now(_count) == n
    finally:
        await db.close()


async def test_a_read_now_that_meets_a_lock_is_run_again_on_a_reader(tmp_path: Path) -> None:
    """SQLITE_BUSY on the loop's connection (another process recovering or resetting the
    log: not reproducible on demand, so the read raises it there itself) never reaches the
    caller, and never makes the loop wait: the read runs again on a reader's thread."""
    db = open_database(str(tmp_path / "busy.db"), readers=1)
    await db.open()
    try:
        await db.write(lambda conn: conn.execute("CREATE TABLE t (n INTEGER)"))
        await db.write(lambda conn: conn.execute("INSERT INTO t VALUES (7)"))
        loop_thread = threading.current_thread()
        threads: list[threading.Thread] = []

        def read(conn: Tx) -> int:
            threads.append(threading.current_thread())
            if threading.current_thread() is loop_thread:
                raise sqlite3.OperationalError("database is locked")
            return _count(conn)

        assert await db.read_now(read) == 1
        assert threads[0] is loop_thread and threads[1] is not loop_thread

        def broken(conn: Tx) -> int:
            return int(conn.execute("SELECT nothing FROM t").fetchall()[0][0])

        with pytest.raises(sqlite3.OperationalError, match="nothing"):
            await db.read_now(broken)  # any other error is the caller's
    finally:
        await db.close()


async def test_a_site_read_again_is_the_same_object_until_a_column_changes(
    tmp_path: Path,
) -> None:
    db = open_database(str(tmp_path / "sites.db"), readers=1)
    await db.open()
    try:
        creds = await db.write(lambda conn: site_store.insert_site(conn, "Toko", ["toko.id"]))
        first = await site_store.get_site_by_key(db, creds.site_key)
        again = await site_store.get_site_by_key(db, creds.site_key)
        assert first is not None and again is first  # decoded once, shared by every session
        await db.write(
            lambda conn: conn.execute(
                "UPDATE sites SET domains = ?, greeting = ? WHERE id = ?",
                ('["toko.id", "m.toko.id"]', "Halo!", creds.site_id),
            )
        )
        changed = await site_store.get_site_by_key(db, creds.site_key)
        assert changed is not None and changed is not first
        assert changed.domains == ("toko.id", "m.toko.id") and changed.greeting == "Halo!"
        assert first.domains == ("toko.id",)  # what a session already holds is unchanged
    finally:
        await db.close()
