"""SQLite: a relaxed write is committed on the event loop's own connection when that costs
no wait (the writer between batches, no other process holding the file), else by the writer."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_server.store import Database, open_database
from chat_server.store import database as database_module
from chat_server.store import sites as site_store
from chat_server.store.customers import insert_anonymous
from chat_server.store.sql import Tx
from chat_server.store.sqlite_db import SqliteDatabase
from tests.server.test_group_commit import _held


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    store = open_database(str(tmp_path / "inline.db"), readers=1)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def _site(db: Database) -> str:
    creds = await db.write(lambda conn: site_store.insert_site(conn, "Toko", ["toko.id"]))
    return creds.site_id


def _tokens(conn: Tx) -> int:
    return int(conn.execute("SELECT count(*) FROM widget_tokens").fetchone()[0])


def _on_thread(conn: Tx) -> tuple[int, int]:
    """The thread a job ran on, and whether its COMMIT will wait for the disk (2: FULL)."""
    return threading.get_ident(), int(conn.execute("PRAGMA synchronous").fetchone()[0])


async def test_a_relaxed_write_with_the_writer_idle_is_committed_on_the_loop(db: Database) -> None:
    site_id = await _site(db)
    inline, relaxed = db.inline_writes, db.relaxed_batches
    thread, sync = await db.write(_on_thread, wait_for_disk=False)
    assert thread == threading.get_ident() and sync == 1  # here, NORMAL
    assert (db.inline_writes, db.relaxed_batches) == (inline + 1, relaxed + 1)
    # A durable write never takes that way.
    thread, sync = await db.write(_on_thread)
    assert thread != threading.get_ident() and sync == 2
    assert db.inline_writes == inline + 1

    _, token = await db.write(lambda conn: insert_anonymous(conn, site_id), wait_for_disk=False)
    # Committed: a reader thread and the writer's own connection both see it.
    assert await db.read(_tokens) == 1
    assert await db.write(_tokens) == 1
    assert token


async def test_a_failed_relaxed_write_leaves_nothing_and_the_connection_reads_on(
    db: Database,
) -> None:
    site_id = await _site(db)

    def half_then_fail(conn: Tx) -> None:
        insert_anonymous(conn, site_id)
        raise LookupError("the job's own error")

    with pytest.raises(LookupError, match="the job's own error"):
        await db.write(half_then_fail, wait_for_disk=False)
    assert await db.read_now(_tokens) == 0  # rolled back; no transaction left open
    await db.write(lambda conn: insert_anonymous(conn, site_id), wait_for_disk=False)
    assert await db.read_now(_tokens) == await db.read(_tokens) == 1


async def test_while_the_writer_holds_a_batch_a_relaxed_write_waits_for_it(db: Database) -> None:
    await _site(db)
    inline = db.inline_writes
    threads = await _held(db, lambda: [db.write(_on_thread, wait_for_disk=False)])
    assert threads[0][0] != threading.get_ident()
    assert db.inline_writes == inline


async def test_another_process_holding_the_file_sends_it_to_the_writer(
    db: Database, tmp_path: Path
) -> None:
    await _site(db)
    other = sqlite3.connect(str(tmp_path / "inline.db"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # as `sapa import` in another process would
    inline = db.inline_writes
    pending = asyncio.ensure_future(db.write(_on_thread, wait_for_disk=False))
    await asyncio.sleep(0.05)
    assert not pending.done()  # the writer retries until the file is free
    other.execute("COMMIT")
    other.close()
    thread, _ = await pending
    assert thread != threading.get_ident() and db.inline_writes == inline


async def test_a_run_of_relaxed_writes_gives_way_to_the_writer_so_the_log_is_folded_back(
    tmp_path: Path,
) -> None:
    # A log limit of 500 frames (~2 MB): the test's writes pass it many times over.
    db = SqliteDatabase(str(tmp_path / "inline.db"), readers=1, wal_limit_frames=500)
    await db.open()
    try:
        await _relaxed_run(db, tmp_path)
    finally:
        await db.close()


async def _relaxed_run(db: Database, tmp_path: Path) -> None:
    site_id = await _site(db)
    inline = db.inline_writes
    batches = db.batches
    count = 3000
    for _ in range(count):
        await db.write(lambda conn: insert_anonymous(conn, site_id), wait_for_disk=False)
    run = database_module.INLINE_RUN
    # Every INLINE_RUN-th went to the writer, the others were committed here.
    assert db.inline_writes - inline == count - count // (run + 1)
    assert db.batches - batches == count
    # The checkpoint thread folds the log in, and past the limit a writer's commit lets the
    # log start again: without that every token's pages would stay in it (~3,000 x 3 pages
    # of 4 KiB), and relaxed writes alone never give the writer a batch.
    assert (tmp_path / "inline.db-wal").stat().st_size < 6 * 1024 * 1024
    assert await db.read(_tokens) == count
