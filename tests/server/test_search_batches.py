"""SQLite feeds its search index just before a COMMIT, at most once per quarter second, when
the writer is idle, and before a search (store/search.py `index_new_messages`,
schema/0021): whatever a batch did to its messages, a committed message is searchable with
its current words only, and the FTS5 index stays
true to `messages` (its integrity check compares the two). PostgreSQL's stored vector
needs nothing of the kind; the searches are asserted on both backends all the same.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chat_server.domain import search as search_rules
from chat_server.domain.models import Author, Room
from chat_server.ids import new_id, now_iso
from chat_server.store import Database, customers, open_database
from chat_server.store import rooms as room_store
from chat_server.store import search as search_store
from chat_server.store.migrations import _statements, migration_scripts
from chat_server.store.sql import Tx
from chat_server.store.sqlite_db import SqliteDatabase
from tests.conftest import timeout
from tests.server.conftest import Env, Seed
from tests.server.test_erase import erase
from tests.server.test_group_commit import _held
from tests.server.test_search import bodies, search

# External content: with rank 1 FTS5 also checks the index against `messages` (without it,
# SQLite 3.40 checks only the index's own structure and misses an unindexed row).
INTEGRITY = "INSERT INTO message_search(message_search, rank) VALUES ('integrity-check', 1)"


def index_is_true(conn: sqlite3.Connection) -> None:
    conn.execute(INTEGRITY)
    indexed, top = conn.execute(
        "SELECT indexed_rowid, (SELECT coalesce(max(rowid), 0) FROM messages) FROM search_watermark"
    ).fetchone()
    assert indexed == top


def sqlite_index_is_true(path: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        index_is_true(conn)
    finally:
        conn.close()


@pytest.fixture
async def store(tmp_path: Path, seeded: Seed) -> AsyncIterator[tuple[Database, str, Room]]:
    url = seeded.fresh(tmp_path)
    db = open_database(url, readers=1)
    await db.open()
    site_id = seeded.sites["a"].creds.site_id

    def conversation(conn: Tx) -> Room:
        customer_id, _ = customers.insert_anonymous(conn, site_id)
        customers.activate(conn, site_id, customer_id)
        return room_store.ensure_private_room(conn, site_id, customer_id)

    try:
        yield db, site_id, await db.write(conversation)
    finally:
        await db.close()
        seeded.discard(url)


async def found(db: Database, site_id: str, words: str) -> list[str]:
    hits = await search_store.messages(db, site_id, search_rules.parse(words), 50)
    return sorted(h.message.body for h in hits)


async def test_what_a_batch_did_to_its_own_new_messages_is_what_search_finds(
    store: tuple[Database, str, Room],
) -> None:
    """A message inserted and edited in the same batch is found by its new words only; one
    inserted then unsent, or rolled back with its failing job, not at all."""
    db, site_id, room = store
    shopper = Author("customer", room.customer_id or "", "Pembeli")
    made: dict[str, str] = {}

    def send(key: str, body: str) -> Any:
        def job(conn: Tx) -> str:
            made[key] = room_store.append_message(conn, room, "text", body, shopper).id
            return made[key]

        return job

    def edit(conn: Tx) -> None:
        room_store.edit_message(conn, made["edited"], "sekarang Merbabu", now_iso())

    def unsend(conn: Tx) -> None:
        room_store.unsend_message(conn, made["unsent"], now_iso())

    def fails(conn: Tx) -> None:
        room_store.append_message(conn, room, "text", "hilang Cendrawasih", shopper)
        raise ValueError("this job's insert is rolled back with it")

    results = await _held(
        db,
        lambda: [
            db.write(send("edited", "awalnya Kenari")),
            db.write(edit),
            db.write(send("unsent", "tarik Jayawijaya")),
            db.write(unsend),
            db.write(fails),
            db.write(send("kept", "tetap Kenari")),
        ],
    )
    assert isinstance(results[4], ValueError)
    assert [r for i, r in enumerate(results) if i != 4 and isinstance(r, Exception)] == []
    # Right after the batch's commit, without anything else written since.
    assert await found(db, site_id, "kenari") == ["tetap Kenari"]
    assert await found(db, site_id, "merbabu") == ["sekarang Merbabu"]
    assert await found(db, site_id, "awalnya") == []
    assert await found(db, site_id, "jayawijaya") == []
    assert await found(db, site_id, "cendrawasih") == []

    # Edited again in a later batch, once indexed: the trigger swaps its words.
    await db.write(lambda conn: room_store.edit_message(conn, made["kept"], "ganti Rinjani", "t"))
    assert await found(db, site_id, "kenari") == []
    assert await found(db, site_id, "rinjani") == ["ganti Rinjani"]
    if db.backend == "sqlite":
        sqlite_index_is_true(db.path)


async def test_deleted_messages_leave_the_index_and_their_rowids_taken_again_are_indexed(
    store: tuple[Database, str, Room],
) -> None:
    """SQLite hands a new row max(rowid) + 1: deleting the newest messages lowers that below
    the watermark, and the rows that take those rowids again must still be indexed (and
    their predecessors' words gone), in later batches and in the same one."""
    db, site_id, room = store
    shopper = Author("customer", room.customer_id or "", "Pembeli")

    def send(*texts: str) -> Any:
        def job(conn: Tx) -> list[str]:
            return [room_store.append_message(conn, room, "text", t, shopper).id for t in texts]

        return job

    def delete(ids: list[str]) -> Any:
        def job(conn: Tx) -> None:
            for message_id in ids:
                conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))

        return job

    await db.write(send("satu Lombok"))
    old = await db.write(send("dua Sumbawa", "tiga Flores"))
    await db.write(delete(old))
    assert await found(db, site_id, "sumbawa") == await found(db, site_id, "flores") == []
    await db.write(send("empat Timor", "lima Alor"))
    assert await found(db, site_id, "timor") == ["empat Timor"]
    assert await found(db, site_id, "alor") == ["lima Alor"]

    # Within one batch: the newest (indexed) deleted, their rowids taken again, one of the
    # new rows deleted before it was ever indexed, new rows again.
    def mixed(conn: Tx) -> None:
        newest = conn.execute(
            "SELECT id FROM messages WHERE body IN ('empat Timor', 'lima Alor')"
        ).fetchall()
        delete([row[0] for row in newest])(conn)
        fresh = send("enam Sabu", "tujuh Rote")(conn)
        delete(fresh[1:])(conn)
        send("delapan Savu", "sembilan Ndao")(conn)

    await db.write(mixed)
    assert await found(db, site_id, "sabu") == ["enam Sabu"]
    for gone in ("rote", "timor", "alor"):
        assert await found(db, site_id, gone) == []
    assert await found(db, site_id, "savu") == ["delapan Savu"]
    assert await found(db, site_id, "ndao") == ["sembilan Ndao"]
    assert await found(db, site_id, "lombok") == ["satu Lombok"]
    if db.backend == "sqlite":
        sqlite_index_is_true(db.path)


async def test_a_mixed_workload_over_the_sockets_leaves_a_true_index(env: Env) -> None:
    """Sends, a reply, an edit, an unsend and an erase: search follows each right after its
    acknowledgement, and SQLite's index is still true to `messages` at the end."""
    widget, welcome = await env.widget("a")
    sent = await widget.request("send", client_msg_id="m1", body="paket Anggrek tertahan")
    assert sent["type"] == "ack", sent
    assert bodies(await search(env, q="anggrek")) == ["paket Anggrek tertahan"]
    other, _ = await env.widget("a")
    await other.request("send", client_msg_id="m1", body="warna Anggrek Bulan")
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    reply = await agent.request(
        "send", room_id=sent["message"]["room_id"], client_msg_id="a1", body="cek Melati dulu"
    )
    edited = await widget.request(
        "edit", message_id=sent["message"]["id"], body="paket Kamboja tertahan"
    )
    assert edited["type"] == "ack", edited
    assert bodies(await search(env, q="anggrek")) == ["warna Anggrek Bulan"]
    assert bodies(await search(env, q="kamboja")) == ["paket Kamboja tertahan"]
    gone = await agent.request("unsend", message_id=reply["message"]["id"])
    assert gone["type"] == "ack", gone
    assert bodies(await search(env, q="melati")) == []
    await erase(env, welcome["customer_id"])
    assert bodies(await search(env, q="kamboja")) == []
    assert bodies(await search(env, q="anggrek")) == ["warna Anggrek Bulan"]
    if env.backend == "sqlite":
        sqlite_index_is_true(env.app_settings.db_path)


def _at_version(path: Path, version: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for number, _, script in migration_scripts()[:version]:
        for statement in _statements(script):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")
    return conn


def _insert_messages(conn: sqlite3.Connection, room_id: str, bodies: list[str]) -> None:
    seq = conn.execute("SELECT coalesce(max(seq), 0) FROM messages").fetchone()[0]
    for i, body in enumerate(bodies, seq + 1):
        conn.execute(
            "INSERT INTO messages (id, site_id, room_id, seq, kind, body, author_kind, author_id,"
            " author_name, created_at) VALUES (?, 's', ?, ?, 'text', ?, 'customer', 'cus_1',"
            " 'Pembeli', ?)",
            (new_id("msg"), room_id, i, body, now_iso()),
        )


async def test_a_database_from_0020_is_searchable_after_migrating_and_catches_up_at_open(
    tmp_path: Path,
) -> None:
    """Messages indexed by the old per-row trigger stay found; rows some other connection
    committed unindexed (a script on the file) are indexed when the store opens."""
    path = tmp_path / "old.db"
    conn = _at_version(path, 20)
    conn.execute(
        "INSERT INTO sites (id, name, site_key, identity_secret, api_token_hash, domains,"
        " created_at) VALUES ('s', 'S', 'k', 'x', 'h', '[]', 't')"
    )
    conn.execute(
        "INSERT INTO rooms (id, site_id, kind, status, customer_id, created_at, updated_at)"
        " VALUES ('r', 's', 'private', 'open', 'cus_1', 't', 't')"
    )
    _insert_messages(conn, "r", [f"lama Bromo {i}" for i in range(30)] + ["lama Semeru"])
    conn.close()

    db = open_database(str(path), readers=1)
    await db.open()
    try:
        assert len(await found(db, "s", "bromo")) == 30
        assert await found(db, "s", "semeru") == ["lama Semeru"]
    finally:
        await db.close()
    sqlite_index_is_true(str(path))

    # Written past the store, then found once it opens again.
    conn = sqlite3.connect(path, isolation_level=None)
    _insert_messages(conn, "r", ["baru Tambora", "baru Kelud"])
    conn.close()
    db = open_database(str(path), readers=1)
    await db.open()
    try:
        assert await found(db, "s", "tambora") == ["baru Tambora"]
        assert await found(db, "s", "kelud") == ["baru Kelud"]
    finally:
        await db.close()
    sqlite_index_is_true(str(path))


async def _sqlite_store(
    tmp_path: Path, seeded_db: tuple[Path, dict[str, Any]], search_interval: float
) -> tuple[SqliteDatabase, str, Room]:
    path = tmp_path / "chat.db"
    shutil.copyfile(seeded_db[0], path)
    db = SqliteDatabase(str(path), readers=1, search_interval=search_interval)
    await db.open()
    site_id = seeded_db[1]["a"].creds.site_id

    def conversation(conn: Tx) -> Room:
        customer_id, _ = customers.insert_anonymous(conn, site_id)
        customers.activate(conn, site_id, customer_id)
        return room_store.ensure_private_room(conn, site_id, customer_id)

    return db, site_id, await db.write(conversation)


async def _watermark(db: Database) -> tuple[int, int]:
    row = await db.fetch_one(
        "SELECT indexed_rowid AS indexed, (SELECT max(rowid) FROM messages) AS top"
        " FROM search_watermark"
    )
    assert row is not None
    return int(row["indexed"]), int(row["top"])


async def test_a_commit_within_the_interval_leaves_the_feed_to_the_search_that_needs_it(
    tmp_path: Path, seeded_db: tuple[Path, dict[str, Any]]
) -> None:
    """SQLite: a commit feeds the index at most once per interval; a search first brings
    the index up to date, so an acknowledged message is always found."""
    db, site_id, room = await _sqlite_store(tmp_path, seeded_db, search_interval=60)
    try:
        shopper = Author("customer", room.customer_id or "", "Pembeli")
        for body in ("pertama Kenari", "kedua Merbabu", "ketiga Rinjani"):
            await db.write(
                lambda conn, b=body: room_store.append_message(conn, room, "text", b, shopper)
            )
        indexed, top = await _watermark(db)
        assert indexed < top  # the commits after the first fed nothing
        assert await found(db, site_id, "rinjani") == ["ketiga Rinjani"]
        assert await found(db, site_id, "merbabu") == ["kedua Merbabu"]
        indexed, top = await _watermark(db)
        assert indexed == top
    finally:
        await db.close()
    sqlite_index_is_true(db.path)


async def test_an_idle_writer_feeds_what_its_last_commits_left(
    tmp_path: Path, seeded_db: tuple[Path, dict[str, Any]]
) -> None:
    """No search and no write after them: the messages still reach the index."""
    db, site_id, room = await _sqlite_store(tmp_path, seeded_db, search_interval=0.2)
    try:
        shopper = Author("customer", room.customer_id or "", "Pembeli")
        for i in range(3):
            await db.write(
                lambda conn, i=i: room_store.append_message(
                    conn, room, "text", f"Bromo {i}", shopper
                )
            )
        deadline = time.monotonic() + timeout(5)
        while True:
            indexed, top = await _watermark(db)
            if indexed == top or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        assert indexed == top
        assert len(await found(db, site_id, "bromo")) == 3
    finally:
        await db.close()
    sqlite_index_is_true(db.path)
