"""Writes that need not wait for the disk (a visit's time, a token's row), on both backends.

A batch of only such writes commits without an fsync (SQLite `synchronous=NORMAL`,
PostgreSQL `synchronous_commit=off`, both inside that batch alone); a batch that holds any
other write commits as durably as ever; the connection is back to durable afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from chat_server.store import Database, open_database
from chat_server.store.sql import Tx
from tests.server.conftest import Env, Seed
from tests.server.test_faq import add_entries
from tests.server.test_group_commit import _held


@pytest.fixture
async def store(tmp_path: Path, seeded: Seed) -> AsyncIterator[Database]:
    url = seeded.fresh(tmp_path)
    db = open_database(url, readers=1)
    await db.open()
    try:
        yield db
    finally:
        await db.close()
        seeded.discard(url)


def _asker(db: Database) -> Callable[[Tx], bool]:
    def waits_for_disk(conn: Tx) -> bool:
        """Whether this transaction's COMMIT will wait for the disk, as the backend says."""
        if db.backend == "postgresql":
            return str(conn.execute("SHOW synchronous_commit").fetchone()[0]) == "on"
        return int(conn.execute("PRAGMA synchronous").fetchone()[0]) == 2  # FULL

    return waits_for_disk


async def test_only_a_batch_of_relaxed_writes_skips_the_disk(store: Database) -> None:
    db = store
    _waits_for_disk = _asker(db)
    assert await db.write(_waits_for_disk) is True
    assert await db.write(_waits_for_disk, wait_for_disk=False) is False
    assert db.relaxed_batches == 1
    assert await db.write(_waits_for_disk) is True  # the connection is durable again

    # One durable write in the batch: every job of it commits durably.
    mixed = await _held(
        db,
        lambda: [
            db.write(_waits_for_disk, wait_for_disk=False),
            db.write(_waits_for_disk),
            db.write(_waits_for_disk, wait_for_disk=False),
        ],
    )
    assert mixed == [True, True, True]
    relaxed = await _held(
        db, lambda: [db.write(_waits_for_disk, wait_for_disk=False) for _ in range(3)]
    )
    assert relaxed == [False, False, False]
    assert db.relaxed_batches == 2


async def _relaxed_batches(env: Env) -> float:
    assert env.http is not None
    text = (await env.http.get("/metrics")).text
    line = next(x for x in text.splitlines() if x.startswith("sapa_db_relaxed_batches_total"))
    return float(line.split()[-1])


async def test_a_page_view_writes_nothing_and_a_message_waits_for_the_disk(env: Env) -> None:
    before = await _relaxed_batches(env)
    widget, session = await env.widget("a")
    assert await _relaxed_batches(env) == before  # a signed token: no row yet
    ack = await widget.request("send", client_msg_id="c1", body="halo kak")
    assert ack["message"]["body"] == "halo kak"
    # The token's row, before the message that makes the visitor's record; the message
    # itself waited for the disk (or this would be two).
    assert await _relaxed_batches(env) == before + 1
    again = await env.widget_session("a", token=session["token"])  # a returning visitor
    assert again["token"] == session["token"]
    assert await _relaxed_batches(env) == before + 2  # their visit's time


async def test_a_faq_card_shown_to_a_shopper_is_recorded_without_waiting_for_the_disk(
    env: Env,
) -> None:
    await add_entries(env)
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    widget, _ = await env.widget("a")
    before = await _relaxed_batches(env)
    sent = await widget.request("send", client_msg_id="q1", body="bisa cod gk kak?")
    card = await widget.event("suggestions", for_message_id=sent["message"]["id"])
    shown = await agent.event("activity", room_id=sent["message"]["room_id"])
    assert shown["item"]["faq"]["event"] == "shown"
    assert shown["item"]["faq"]["id"] == card["items"][0]["faq_id"]
    # The token's row (the visitor's first action) and the card's record, not the message.
    assert await _relaxed_batches(env) == before + 2
