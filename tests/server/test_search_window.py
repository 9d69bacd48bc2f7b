"""The search window on both backends: the newest matches, however they are found.

PostgreSQL finds the window by walking the newest messages when the words are common and
through its GIN index when they are rare (store/search.py); SQLite walks FTS5. Small
bounds stand in for the real ones (a window of 5 instead of 2,000) so that a few dozen
messages take every path; each path must answer exactly the newest matches.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from chat_server.domain import search as search_rules
from chat_server.ids import new_id
from chat_server.store import Database, open_database
from chat_server.store import search as search_store
from chat_server.store.sql import Tx
from tests.server.conftest import Seed

MESSAGES = 60
SELA = {1, 2, 10, 30, 57, 58}


@pytest.fixture
async def store(tmp_path: Path, seeded: Seed) -> AsyncIterator[tuple[Database, str, list[str]]]:
    """60 messages in 3 conversations (one resolved) and a public room, one a second."""
    url = seeded.fresh(tmp_path)
    db = open_database(url, readers=1)
    await db.open()
    site_id = seeded.sites["a"].creds.site_id
    ids = [new_id("msg") for _ in range(MESSAGES)]

    def fill(conn: Tx) -> None:
        rooms = [new_id("room") for _ in range(4)]
        for n, room_id in enumerate(rooms):
            kind, status = ("public", "open") if n == 3 else ("private", "queued")
            if n == 2:
                status = "resolved"
            conn.execute(
                "INSERT INTO rooms (id, site_id, kind, status, name, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (room_id, site_id, kind, status, f"r{n}", "2026-01-01T00:00:00.000Z", "x"),
            )
        for i, message_id in enumerate(ids):
            # Every message holds `umum`; every 4th `jarang`; a few `sela`; one `langka`.
            # Bodies have the same shape, so relevance ties and the newest come first.
            third = "langka" if i == 6 else "sela" if i in SELA else "lain"
            words = ["umum", "jarang" if i % 4 == 0 else "biasa", third]
            conn.execute(
                "INSERT INTO messages (id, site_id, room_id, seq, kind, body, author_kind,"
                " author_id, author_name, created_at) VALUES (?, ?, ?, ?, 'text', ?,"
                " 'customer', 'c', 'C', ?)",
                (
                    message_id,
                    site_id,
                    rooms[i % 4],
                    i + 1,
                    " ".join(words),
                    f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}.000Z",
                ),
            )

    await db.write(fill)
    try:
        yield db, site_id, ids
    finally:
        await db.close()
        seeded.discard(url)


def expected(
    ids: Sequence[str], match: Any, *, skip_room: set[int], gone: int | None = None
) -> list[str]:
    """The newest 5 matches outside the skipped rooms (message i is in room i % 4)."""
    hits = [ids[i] for i in range(MESSAGES) if match(i) and i % 4 not in skip_room and i != gone]
    return hits[::-1][:5]


@pytest.mark.parametrize(
    ("q", "match", "status", "skip", "statements"),
    [
        # common: the first short walk fills the window
        ("umum", lambda i: True, None, {3}, 1),
        # less common (one in four): a longer walk
        ("jarang", lambda i: i % 4 == 0, None, {3}, 2),
        # a prefix; a quarter of the matches are in the public room
        ("umum bias", lambda i: i % 4 != 0, None, {3}, 2),
        # a room filter leaves one conversation of three: a longer walk
        ("umum", lambda i: True, "resolved", {0, 1, 3}, 2),
        # found in the first walk, too few in the longer one: then the index
        ("sela", lambda i: i in SELA, None, {3}, 3),
        # rare: none among the newest, straight to the index
        ("langka", lambda i: i == 6, None, {3}, 2),
    ],
)
async def test_the_window_is_the_newest_matches_on_every_path(
    store: tuple[Database, str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    q: str,
    match: Any,
    status: str | None,
    skip: set[int],
    statements: int,
) -> None:
    db, site_id, ids = store
    small_bounds(monkeypatch)
    reads = count_reads(db, monkeypatch)
    query = search_rules.parse(q, status)
    hits = await search_store.messages(db, site_id, query, 5)
    assert [h.message.id for h in hits] == expected(ids, match, skip_room=skip)
    assert len(reads) == (statements if db.backend == "postgresql" else 1)


async def test_erased_words_leave_the_window(
    store: tuple[Database, str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, site_id, ids = store
    small_bounds(monkeypatch)
    newest = ids[58]  # the newest message of a conversation (59 is the public room's)
    await db.write(lambda c: c.execute("UPDATE messages SET body = '' WHERE id = ?", (newest,)))
    hits = await search_store.messages(db, site_id, search_rules.parse("umum"), 5)
    assert [h.message.id for h in hits] == expected(ids, lambda i: True, skip_room={3}, gone=58)


def small_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_store, "RANK_WINDOW", 5)
    monkeypatch.setattr(search_store, "WALK_FIRST", 8)
    monkeypatch.setattr(search_store, "WALK_MAX", 40)


def count_reads(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements search runs (which path it took), each still run for real."""
    reads: list[str] = []
    real = db.fetch_all

    async def fetch_all(sql: str, params: Sequence[Any] = ()) -> list[Any]:
        reads.append(sql)
        return await real(sql, params)

    monkeypatch.setattr(db, "fetch_all", fetch_all)
    return reads
