"""Group commit on both backends: one transaction per batch, and each job's failure its own.

On PostgreSQL a batch runs in pipeline mode (store/postgres_db.py): a statement whose result
nobody reads is not waited for, so its error comes back later. It must still fail the job
that ran it, and only that job, whatever the job did after it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from chat_server.bus.memory import MemoryBus
from chat_server.domain.access import Viewer
from chat_server.domain.frames import Send
from chat_server.errors import ErrorCode, SapaError
from chat_server.ids import new_id, now_iso
from chat_server.services.chat import ChatService, Outcome
from chat_server.store import Database, customers, open_database
from chat_server.store import rooms as room_store
from chat_server.store import teams as team_store
from chat_server.store.sql import Phased, Tx, Written
from tests.conftest import timeout
from tests.server.conftest import Seed

INSERT = "INSERT INTO customers (id, site_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)"


@pytest.fixture
async def store(tmp_path: Path, seeded: Seed) -> AsyncIterator[tuple[Database, str]]:
    url = seeded.fresh(tmp_path)
    db = open_database(url, readers=1)
    await db.open()
    try:
        yield db, seeded.sites["a"].creds.site_id
    finally:
        await db.close()
        seeded.discard(url)


async def test_a_failing_job_fails_alone_in_its_batch(store: tuple[Database, str]) -> None:
    db, site_id = store
    now = now_iso()
    taken, fresh, later, last = (new_id("cus") for _ in range(4))

    def add(customer_id: str) -> Callable[[Tx], str]:
        def job(conn: Tx) -> str:
            conn.execute(INSERT, (customer_id, site_id, now, now))
            return customer_id

        return job

    def duplicate_unread(conn: Tx) -> None:
        # Its result is never read: the job ends with the error still on its way back.
        conn.execute(INSERT, (taken, site_id, now, now))

    def duplicate_then_read(conn: Tx) -> int:
        conn.execute(INSERT, (fresh, site_id, now, now))
        conn.execute(INSERT, (taken, site_id, now, now))
        return int(conn.execute("SELECT count(*) FROM customers").fetchone()[0])

    def counted(conn: Tx) -> tuple[int, int]:
        conn.execute(INSERT, (later, site_id, now, now))
        changed = conn.execute(
            "UPDATE customers SET last_seen_at = ? WHERE site_id = ?", (now, site_id)
        ).rowcount
        total = conn.execute("SELECT count(*) FROM customers WHERE site_id = ?", (site_id,))
        return changed, int(total.fetchone()[0])

    # Queued while the writer is busy: the next batch holds all five.
    first, unread, read, rowcount, final = await _held(
        db,
        lambda: [
            db.write(add(taken)),
            db.write(duplicate_unread),
            db.write(duplicate_then_read),
            db.write(counted),
            db.write(add(last)),
        ],
    )

    assert first == taken and final == last
    assert isinstance(unread, Exception) and isinstance(read, Exception)
    changed, total = rowcount  # type: ignore[misc]
    assert changed == total >= 2

    def ids(conn: Tx) -> set[str]:
        wanted = (taken, fresh, later, last)
        rows = conn.execute("SELECT id FROM customers WHERE id IN (?, ?, ?, ?)", wanted).fetchall()
        return {row["id"] for row in rows}

    # The failed jobs left nothing behind (`fresh` went with its job); the rest committed.
    assert await db.write(ids) == {taken, later, last}


async def test_a_customer_check_that_waits_for_the_next_read_fails_its_own_job(
    store: tuple[Database, str],
) -> None:
    """`customers.activate` refuses an erased customer; on PostgreSQL the refusal comes with
    the job's next read (`sql.check_later`), and it must still be that job's, and only its."""
    db, site_id = store
    now = now_iso()
    erased, alive = new_id("cus"), new_id("cus")

    def seed(conn: Tx) -> None:
        conn.execute(INSERT, (alive, site_id, now, now))
        conn.execute(INSERT, (erased, site_id, now, now))
        conn.execute("UPDATE customers SET erased_at = ? WHERE id = ?", (now, erased))

    await db.write(seed)

    def then_read(conn: Tx) -> int:
        customers.activate(conn, site_id, erased)
        conn.execute("UPDATE customers SET name = 'written' WHERE id = ?", (alive,))
        return int(conn.execute("SELECT count(*) FROM customers").fetchone()[0])

    def then_fail(conn: Tx) -> None:
        customers.activate(conn, site_id, erased)
        raise ValueError("its own failure, with the check still unanswered")

    def alone(conn: Tx) -> None:
        customers.activate(conn, site_id, erased)  # nothing read after it

    def fine(conn: Tx) -> str:
        customers.activate(conn, site_id, alive)
        return str(conn.execute("SELECT id FROM customers WHERE id = ?", (alive,)).fetchone()[0])

    read, failed, ok, last = await _held(  # one batch holds all four
        db, lambda: [db.write(then_read), db.write(then_fail), db.write(fine), db.write(alone)]
    )

    for refused in (read, last):
        assert isinstance(refused, SapaError) and refused.code is ErrorCode.UNAUTHORIZED
    # SQLite refuses at once; PostgreSQL's check was still unanswered: it must not leak
    # into the next job (`fine`).
    assert isinstance(failed, ValueError if db.backend == "postgresql" else SapaError)
    assert ok == alive

    def name(conn: Tx) -> str | None:
        row = conn.execute("SELECT name FROM customers WHERE id = ?", (alive,)).fetchone()
        return row["name"] if row else None

    assert await db.write(name) is None  # the refused job's write went with it


async def test_a_caller_cancelled_before_its_job_ran_is_skipped_and_reads_run_as_a_unit(
    store: tuple[Database, str],
) -> None:
    """A batch's results come back to the loop together; a job whose caller gave up while it
    waited never runs, and its neighbours are answered as usual."""
    db, site_id = store
    now = now_iso()
    dropped, kept = new_id("cus"), new_id("cus")
    started, gate = threading.Event(), threading.Event()

    def hold(conn: Tx) -> None:
        started.set()
        gate.wait(timeout(10))

    def add(customer_id: str) -> Callable[[Tx], str]:
        def job(conn: Tx) -> str:
            conn.execute(INSERT, (customer_id, site_id, now, now))
            return customer_id

        return job

    held = asyncio.ensure_future(db.write(hold))
    await asyncio.to_thread(started.wait, timeout(10))
    given_up = asyncio.ensure_future(db.write(add(dropped)))
    answered = asyncio.ensure_future(db.write(add(kept)))
    await asyncio.sleep(0)  # both queued behind `hold`
    given_up.cancel()
    gate.set()
    await held
    assert await answered == kept
    assert given_up.cancelled()

    def both(conn: Tx) -> list[str]:
        rows = conn.execute(
            "SELECT id FROM customers WHERE id IN (?, ?) ORDER BY id", (dropped, kept)
        ).fetchall()
        return [row["id"] for row in rows]

    assert await db.read(both) == [kept]


async def _held(db: Database, queue: Callable[[], list[Awaitable[Any]]]) -> list[Any]:
    """Run the awaitables `queue` makes as one batch: queued while the writer is held."""
    started, gate = threading.Event(), threading.Event()

    def hold(conn: Tx) -> None:
        started.set()
        gate.wait(timeout(10))

    held = asyncio.ensure_future(db.write(hold))
    await asyncio.to_thread(started.wait, timeout(10))
    batches = db.batches
    results = asyncio.gather(*queue(), return_exceptions=True)
    await asyncio.sleep(0)
    gate.set()
    await held
    done = await results
    assert db.batches == batches + 2  # one batch held them all
    return done


class _Insert(Phased[str]):
    """Looks a customer up, then inserts it: pipelined with its group on PostgreSQL."""

    def __init__(self, customer_id: str, site_id: str, *, whole_only: bool = False) -> None:
        self.customer_id, self.site_id, self.whole_only = customer_id, site_id, whole_only
        self.runs: list[str] = []

    def __call__(self, conn: Tx, /) -> str:
        self.runs.append("whole")
        conn.execute(INSERT, (self.customer_id, self.site_id, now_iso(), now_iso()))
        return self.customer_id

    def look(self, conn: Tx, written: Written) -> None:
        self.found = conn.execute("SELECT id FROM customers WHERE id = ?", (self.customer_id,))

    def write(self, conn: Tx, written: Written) -> Callable[[], str] | None:
        if self.whole_only or self.found.fetchone() is not None:
            return None
        self.runs.append("phased")
        conn.execute(INSERT, (self.customer_id, self.site_id, now_iso(), now_iso()))
        return lambda: self.customer_id


async def test_a_failing_job_of_a_pipelined_group_fails_alone(
    store: tuple[Database, str],
) -> None:
    """PostgreSQL sends a group's writes without waiting, so one job's error aborts the
    whole group: the batch runs again job by job, and only that job fails."""
    db, site_id = store
    taken, first, second, whole, plain = (new_id("cus") for _ in range(5))
    await db.write(lambda conn: conn.execute(INSERT, (taken, site_id, now_iso(), now_iso())))

    class _Clash(_Insert):
        def write(self, conn: Tx, written: Written) -> Callable[[], str] | None:
            self.runs.append("phased")  # the lookup said nothing of `taken`: it clashes
            conn.execute(INSERT, (taken, self.site_id, now_iso(), now_iso()))
            return lambda: taken

    jobs = [_Insert(first, site_id), _Clash(taken, site_id), _Insert(second, site_id)]
    fallback = _Insert(whole, site_id, whole_only=True)

    def ordinary(conn: Tx) -> str:
        conn.execute(INSERT, (plain, site_id, now_iso(), now_iso()))
        return plain

    ungrouped = db.ungrouped
    results = await _held(
        db, lambda: [*(db.write(j) for j in [*jobs, fallback]), db.write(ordinary)]
    )
    assert results[0] == first and results[2] == second
    assert results[3] == whole and results[4] == plain
    assert "duplicate" in str(results[1]) or "UNIQUE" in str(results[1])
    # Both backends group phased jobs (SQLite without a pipeline, each job's lookup and
    # write in turn, no savepoint): the same failure undoes the group on both.
    assert db.ungrouped == ungrouped + 1
    # Tried in the group, then run whole; the fallback never took the group's way.
    assert jobs[0].runs == ["phased", "whole"] and fallback.runs == ["whole"]

    def count(conn: Tx) -> int:
        ids = (first, second, whole, plain, taken)
        rows = conn.execute(f"SELECT id FROM customers WHERE id IN ({', '.join('?' * 5)})", ids)
        return len(rows.fetchall())

    assert await db.write(count) == 5  # each once: the failed group left nothing behind


async def test_a_batch_of_shopper_texts_shares_its_round_trips(
    store: tuple[Database, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shoppers writing at once into their conversations: each message is stored once with
    the next seq, a resend answers the stored message, each outcome's room is the room as
    stored; on PostgreSQL the plain ones take two round trips for the whole batch."""
    db, site_id = store
    chat = ChatService(db, MemoryBus())
    shoppers = [Viewer(site_id, "customer", new_id("cus"), f"s{i}") for i in range(6)]
    for viewer in shoppers:
        await chat.send(viewer, Send(None, new_id("c"), "hello"))  # opens the conversation
    trips = _count_round_trips(monkeypatch)
    statements = _count_statements(monkeypatch) if db.backend == "postgresql" else [0]
    grouped, before, sent_before = db.grouped_jobs, trips[0], statements[0]
    # How many rows each multi-row append (PostgreSQL) wrote: the real statement, counted.
    multirow: list[int] = []
    make_rows = room_store._insert_rows

    def counted(rows: list[Any]) -> tuple[str, Any]:
        multirow.append(len(rows))
        return make_rows(rows)

    monkeypatch.setattr(room_store, "_insert_rows", counted)

    def plain() -> list[Awaitable[Any]]:
        return [chat.send(v, Send(None, new_id("c"), f"from {v.name}")) for v in shoppers]

    outcomes = await _held(db, plain)
    assert all(isinstance(o, Outcome) and o.primary.seq == 2 for o in outcomes)
    assert db.grouped_jobs == grouped + 6  # every one the short way, on both backends
    if db.backend == "postgresql":
        # Every lookup in one round trip, every write with the COMMIT in another (and
        # the COMMIT of the batch that held the writer).
        assert trips[0] - before == 2 + 1
        assert multirow == [6]  # the six messages in one INSERT (and one UPDATE of rooms)
        # The group's bumps and inserts one statement each, not one per message: with its
        # six lookups and both batches' own statements 14, where one per message made 24.
        assert statements[0] - sent_before <= 14
    else:
        assert multirow == []  # SQLite: one executemany per statement
    for outcome in outcomes:
        stored = await room_store.get_room(db, site_id, outcome.room.id)
        assert stored is not None and outcome.room == stored  # seq and updated_at as sent

    twice = Send(None, new_id("c"), "sent twice")

    def mixed() -> list[Awaitable[Any]]:
        sends = [chat.send(v, Send(None, new_id("c"), f"again {v.name}")) for v in shoppers]
        sends.append(chat.send(shoppers[0], Send(None, new_id("c"), "and again")))
        sends.append(chat.send(shoppers[1], twice))
        sends.append(chat.send(shoppers[1], twice))
        return sends

    grouped = db.grouped_jobs
    outcomes = await _held(db, mixed)
    assert all(isinstance(o, Outcome) for o in outcomes)
    first, *others, again, sent, resent = outcomes
    assert [o.primary.seq for o in [first, *others]] == [3] * 6
    assert again.primary.seq == 4 and sent.primary.seq == 4
    assert resent.duplicate and resent.primary.id == sent.primary.id
    for outcome in [*others[1:], again, sent]:  # each room's latest
        stored = await room_store.get_room(db, site_id, outcome.room.id)
        assert stored is not None and outcome.room == stored
    # A second message into a room the group wrote runs whole, after the group.
    assert db.grouped_jobs == grouped + 6


async def test_the_short_way_answers_the_room_exactly_as_stored(
    store: tuple[Database, str], seeded: Seed
) -> None:
    """The short way builds the room from its lean lookup instead of selecting it again:
    with an assignee, a team and a named shopper it is still the stored room, to the order
    of its JSON's keys (an anonymous shopper: the test above)."""
    db, site_id = store
    agent_id = seeded.sites["a"].agent_id
    chat = ChatService(db, MemoryBus())
    shopper = Viewer(site_id, "customer", new_id("cus"), "Sari")
    opened = await chat.send(shopper, Send(None, new_id("c"), "hello"))

    def arrange(conn: Tx) -> None:
        conn.execute(
            "UPDATE customers SET name = ?, email = ? WHERE id = ?",
            ("Sari", "sari@example.test", shopper.id),
        )
        team_id = team_store.insert(conn, site_id, "Billing", "billing")
        assert team_id is not None
        team_store.set_room_team(conn, opened.room.id, team_id)
        room = room_store.load_room(conn, site_id, opened.room.id)
        assert room is not None
        room_store.update_room(conn, room, "assigned", agent_id)

    await db.write(arrange)
    grouped = db.grouped_jobs
    sent = await chat.send(shopper, Send(None, new_id("c"), "where is my parcel? " * 20))
    assert db.grouped_jobs == grouped + 1  # the short way
    stored = await room_store.get_room(db, site_id, sent.room.id)
    assert stored is not None and sent.room == stored
    assert json.dumps(sent.room.as_dict()) == json.dumps(stored.as_dict())
    assert sent.room.extra["team"]["name"] == "Billing" and sent.room.assignee_name
    assert sent.room.extra["customer"]["email"] == "sari@example.test"


async def test_an_append_at_a_stale_seq_fails_instead_of_storing_it(
    store: tuple[Database, str],
) -> None:
    """The short way writes the seq its looked-up room says comes next. Were that room stale
    (written since it was read), the seq is a stored message's: the insert fails, and no
    message is ever stored at a wrong place."""
    db, site_id = store
    chat = ChatService(db, MemoryBus())
    shopper = Viewer(site_id, "customer", new_id("cus"), "Sari")
    opened = await chat.send(shopper, Send(None, new_id("c"), "hello"))

    def job(conn: Tx) -> None:
        room = room_store.load_room(conn, site_id, opened.room.id)
        assert room is not None
        room_store.append_message(conn, room, "text", "meanwhile", shopper.author)
        room_store.append_later(conn, room, "text", "late", shopper.author, None)()

    with pytest.raises(Exception) as failed:  # each backend has its own class for it
        await db.write(job)
    assert type(failed.value).__name__ in {"IntegrityError", "UniqueViolation"}
    stored = await room_store.get_room(db, site_id, opened.room.id)
    assert stored is not None and stored.last_seq == 1


async def test_a_group_whose_batched_appends_fail_runs_again_job_by_job(
    store: tuple[Database, str],
) -> None:
    """SQLite appends a group's texts with one executemany per statement. When one row of
    it fails (here: a message written past the store took the seq its room says is next),
    nothing of the group stays: the batch runs again job by job, that job alone fails, and
    every acknowledged message is stored once, at its room's next seq."""
    db, site_id = store
    chat = ChatService(db, MemoryBus())
    shoppers = [Viewer(site_id, "customer", new_id("cus"), f"s{i}") for i in range(5)]
    opened = [await chat.send(v, Send(None, new_id("c"), "hello")) for v in shoppers]
    blocked = opened[2].room  # in the middle: rows before it were already inserted

    def plant(conn: Tx) -> None:
        conn.execute(
            "INSERT INTO messages (id, site_id, room_id, seq, kind, body, author_kind,"
            " author_id, author_name, created_at) VALUES (?, ?, ?, 2, 'text', 'planted',"
            " 'agent', 'x', 'x', ?)",
            (new_id("msg"), site_id, blocked.id, now_iso()),
        )

    await db.write(plant)
    ungrouped = db.ungrouped
    outcomes = await _held(
        db, lambda: [chat.send(v, Send(None, new_id("c"), f"from {v.name}")) for v in shoppers]
    )
    assert db.ungrouped == ungrouped + 1  # (PostgreSQL: its COMMIT said so)
    failed = outcomes.pop(2)
    assert type(failed).__name__ in {"IntegrityError", "UniqueViolation"}

    def stored(conn: Tx) -> dict[str, list[tuple[int, str]]]:
        rows = conn.execute(
            "SELECT m.room_id, m.seq, m.id, r.last_seq FROM messages m"
            " JOIN rooms r ON r.id = m.room_id WHERE m.site_id = ? ORDER BY m.seq",
            (site_id,),
        ).fetchall()
        found: dict[str, list[tuple[int, str]]] = {}
        for row in rows:
            # No message beyond its room's seq, but the one planted past the store.
            assert row[1] <= row[3] or row[0] == blocked.id
            found.setdefault(row[0], []).append((row[1], row[2]))
        return found

    found = await db.write(stored)
    for outcome in outcomes:
        assert isinstance(outcome, Outcome) and outcome.primary.seq == 2
        assert [seq for seq, _ in found[outcome.room.id]] == [1, 2]
        assert found[outcome.room.id][1][1] == outcome.primary.id
        assert outcome.room.last_seq == 2
    assert [seq for seq, _ in found[blocked.id]] == [1, 2]  # the planted one alone
    if db.backend == "sqlite":
        await db.searchable()  # the index fed with everything committed so far

        def check(conn: Tx) -> None:  # the search index holds what `messages` holds
            conn.execute(
                "INSERT INTO message_search(message_search, rank) VALUES ('integrity-check', 1)"
            )

        await db.write(check)


async def test_a_groups_lookups_find_resends_and_rooms_named_by_id(
    store: tuple[Database, str],
) -> None:
    """SQLite asks a group's lookups of conversations in one statement (a JSON list of the
    senders and their client_msg_ids): a resend with any characters in its client_msg_id is
    still found, a send naming its room by id and a first message take their ways, and
    nothing fails."""
    db, site_id = store
    chat = ChatService(db, MemoryBus())
    resender, by_id, plain, first = (
        Viewer(site_id, "customer", new_id("cus"), name) for name in ("r", "b", "p", "f")
    )
    rooms = {
        v.id: (await chat.send(v, Send(None, new_id("c"), "hi"))).room
        for v in (resender, by_id, plain)
    }
    odd = Send(None, 'é"\\ 😀\u2028' + new_id("c"), "sent once")
    sent = await chat.send(resender, odd)
    grouped, ungrouped = db.grouped_jobs, db.ungrouped
    again, named, other, opened = await _held(
        db,
        lambda: [
            chat.send(resender, odd),
            chat.send(by_id, Send(rooms[by_id.id].id, new_id("c"), "by id")),
            chat.send(plain, Send(None, new_id("c"), "plain")),
            chat.send(first, Send(None, new_id("c"), "first")),
        ],
    )
    assert db.ungrouped == ungrouped
    assert db.grouped_jobs == grouped + 2  # the send by room id and the plain one
    assert isinstance(again, Outcome) and again.duplicate and again.primary.id == sent.primary.id
    assert isinstance(named, Outcome) and named.primary.seq == 2
    assert named.room.id == rooms[by_id.id].id
    assert isinstance(other, Outcome) and other.primary.seq == 2
    assert isinstance(opened, Outcome) and opened.primary.seq == 1
    # One lookup of a conversation in a group takes the plain statement: the same answers.
    alone, named = await _held(
        db,
        lambda: [
            chat.send(plain, Send(None, new_id("c"), "alone")),
            chat.send(by_id, Send(rooms[by_id.id].id, new_id("c"), "by id again")),
        ],
    )
    assert isinstance(alone, Outcome) and alone.primary.seq == 3
    assert isinstance(named, Outcome) and named.primary.seq == 3
    assert db.grouped_jobs == grouped + 4 and db.ungrouped == ungrouped


def _count_round_trips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Times the writer waited on PostgreSQL in pipeline mode (bench/send_path.py's count)."""
    import psycopg

    trips = [0]

    def counted(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread().name == "sapa-writer":
                trips[0] += 1
            return original(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(psycopg.Pipeline, "sync", counted(psycopg.Pipeline.sync))
    monkeypatch.setattr(psycopg.Pipeline, "__exit__", counted(psycopg.Pipeline.__exit__))
    return trips


def _count_statements(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Statements the writer sent to PostgreSQL (each execution of one: executemany's too)."""
    import psycopg

    sent = [0]
    execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany

    def one(cursor: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        if threading.current_thread().name == "sapa-writer":
            sent[0] += 1
        return execute(cursor, query, params, **kwargs)

    def many(cursor: Any, query: Any, params_seq: Any, **kwargs: Any) -> Any:
        rows = list(params_seq)
        if threading.current_thread().name == "sapa-writer":
            sent[0] += len(rows)
        return executemany(cursor, query, rows, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", one)
    monkeypatch.setattr(psycopg.Cursor, "executemany", many)
    return sent
