"""`Database.read_now`: the connect path's lookups, answered on the event loop on SQLite."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_server.domain.visitor_tokens import Presented
from chat_server.ids import hash_token
from chat_server.store import Database, open_database
from chat_server.store import customers as customer_store
from chat_server.store import hello as hello_store
from chat_server.store import rooms as room_store
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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read by key every time (nothing kept by key): the decoding is what is under test.
    monkeypatch.setattr(site_store, "SITE_KEY_TTL", 0.0)
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


@pytest.fixture
async def two(tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    """One file, and two stores on it: this process's, and another's as a second would be."""
    db = open_database(str(tmp_path / "two.db"), readers=1)
    other = open_database(str(tmp_path / "two.db"), readers=1)
    await db.open()
    await other.open()
    try:
        yield db, other
    finally:
        await other.close()
        await db.close()


async def test_a_site_found_by_key_is_kept_until_it_changes_here_or_a_second_passes(
    two: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, other = two
    creds = await db.write(lambda conn: site_store.insert_site(conn, "Toko", ["toko.id"]))
    first = await site_store.get_site_by_key(db, creds.site_key)
    assert first is not None and first.greeting == ""

    # Changed through the store of this process: seen at once.
    await db.write(lambda conn: site_store.update_site(conn, creds.site_id, {"greeting": "Hi"}))
    second = await site_store.get_site_by_key(db, creds.site_key)
    assert second is not None and second.greeting == "Hi"
    await db.write(lambda conn: site_store.add_domain(conn, creds.site_id, "m.toko.id"))
    third = await site_store.get_site_by_key(db, creds.site_key)
    assert third is not None and third.domains == ("toko.id", "m.toko.id")

    # Changed by another process (its own writes, which this one never sees): the site kept
    # here stands for SITE_KEY_TTL, then the change is read.
    await other.write(
        lambda conn: conn.execute(
            "UPDATE sites SET greeting = 'Halo' WHERE id = ?", (creds.site_id,)
        )
    )
    kept = await site_store.get_site_by_key(db, creds.site_key)
    assert kept is third
    # Kept per database: the other's answer is its own read.
    theirs = await site_store.get_site_by_key(other, creds.site_key)
    assert theirs is not None and theirs.greeting == "Halo"
    monkeypatch.setattr(site_store, "SITE_KEY_TTL", 0.0)
    fresh = await site_store.get_site_by_key(db, creds.site_key)
    assert fresh is not None and fresh.greeting == "Halo"

    # An unknown key is not kept: a script trying random keys fills nothing.
    monkeypatch.setattr(site_store, "SITE_KEY_TTL", 60.0)
    for n in range(50):
        assert await site_store.get_site_by_key(db, f"pk_nothing{n}") is None
    assert set(site_store._by_key[db]) == {creds.site_key}


async def test_a_hello_reads_its_site_as_the_session_call_does_and_a_new_visitor_has_no_rooms(
    two: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, other = two
    creds = await db.write(lambda conn: site_store.insert_site(conn, "Toko", ["toko.id"]))
    customer_id, raw = await db.write(
        lambda conn: customer_store.insert_anonymous(conn, creds.site_id)
    )
    token = Presented(hash_token(raw), None)  # a token of the old kind: a row from the start
    first = await hello_store.widget_hello(db, token)
    assert first is not None and first.site.greeting == ""
    assert (first.private, first.past, first.customer.id) == (None, [], customer_id)

    await db.write(lambda conn: site_store.update_site(conn, creds.site_id, {"greeting": "Hi"}))
    second = await hello_store.widget_hello(db, token)
    assert second is not None and second.site.greeting == "Hi"  # changed here: at once

    await other.write(
        lambda conn: conn.execute(
            "UPDATE sites SET greeting = 'Halo' WHERE id = ?", (creds.site_id,)
        )
    )
    kept = await hello_store.widget_hello(db, token)
    assert kept is not None and kept.site is second.site  # another process: within the TTL
    monkeypatch.setattr(site_store, "SITE_KEY_TTL", 0.0)
    fresh = await hello_store.widget_hello(db, token)
    assert fresh is not None and fresh.site.greeting == "Halo"

    # Once the visitor acts and has a conversation, the hello lists it.
    def converse(conn: Tx) -> str:
        customer_store.activate(conn, creds.site_id, customer_id)
        return room_store.ensure_private_room(conn, creds.site_id, customer_id).id

    room_id = await db.write(converse)
    acted = await hello_store.widget_hello(db, token)
    assert acted is not None and acted.private is not None and acted.private.id == room_id
