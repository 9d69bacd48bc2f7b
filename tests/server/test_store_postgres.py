"""The store on PostgreSQL with several writers: what SQLite's single writer gave for free.

Two `Database` instances on one database are two processes' (or hosts') worth of writers:
each has its own writer connection and read pool. The units of work are the ones the chat
service runs (activate the customer, the private room, idempotency, append), made of store
functions.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable

import psycopg
import pytest

from chat_server.domain.models import Author, Message
from chat_server.errors import Unavailable
from chat_server.services import admin
from chat_server.store import Database, open_database, postgres_db
from chat_server.store import customers as customer_store
from chat_server.store import rooms as room_store
from chat_server.store.migrations import migration_scripts
from chat_server.store.sql import Tx
from tests.conftest import timeout
from tests.pg_server import PgServer
from tests.server.conftest import sql_rows


@pytest.fixture
async def two_writers(
    pg_server: PgServer, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[str, str, Database, Database]]:
    name = "w_" + request.node.name.replace("[", "_").replace("]", "")[:50]
    url = pg_server.create_database(name)
    first = open_database(url, readers=1)
    second = open_database(url, readers=1)
    await first.open()
    await second.open()
    try:
        creds = await admin.create_site(first, "Shop", ["shop.test"])
        yield url, creds.site_id, first, second
    finally:
        await first.close()
        await second.close()
        pg_server.drop_database(name)


def send_job(site_id: str, customer_id: str, client_msg_id: str, body: str) -> object:
    def job(conn: Tx) -> Message:
        customer_store.activate(conn, site_id, customer_id)
        room = room_store.ensure_private_room(conn, site_id, customer_id)
        existing = room_store.find_by_client_msg_id(conn, room.id, client_msg_id)
        if existing is not None:
            return existing
        author = Author("customer", customer_id, "Pembeli")
        return room_store.append_message(conn, room, "text", body, author, client_msg_id)

    return job


async def test_seqs_stay_contiguous_under_two_writers(
    two_writers: tuple[str, str, Database, Database],
) -> None:
    url, site_id, first, second = two_writers
    customer = "cus_seq"
    await first.write(send_job(site_id, customer, "warm-up", "0"))  # type: ignore[arg-type]
    sends = [
        (first if i % 2 else second).write(send_job(site_id, customer, f"m{i}", f"pesan {i}"))  # type: ignore[arg-type]
        for i in range(300)
    ]
    acked = await asyncio.gather(*sends)
    rows = sql_rows(
        url,
        "SELECT m.seq, m.client_msg_id FROM messages m JOIN rooms r ON r.id = m.room_id"
        " WHERE r.customer_id = ? ORDER BY m.seq",
        (customer,),
    )
    assert [row["seq"] for row in rows] == list(range(1, 302))
    assert sorted(m.seq for m in acked) == list(range(2, 302))
    assert len({row["client_msg_id"] for row in rows}) == 301
    assert (
        sql_rows(url, "SELECT last_seq FROM rooms WHERE customer_id = ?", (customer,))[0][0] == 301
    )
    # The two writers took turns on the write lock: no batch had to run again.
    assert first.batches > 0 and second.batches > 0
    assert first.busy_retries + second.busy_retries == 0


async def test_concurrent_resends_store_one_message(
    two_writers: tuple[str, str, Database, Database],
) -> None:
    url, site_id, first, second = two_writers
    customer = "cus_resend"
    resends = [
        (first if i % 2 else second).write(send_job(site_id, customer, "same", "sekali saja"))  # type: ignore[arg-type]
        for i in range(40)
    ]
    acked = await asyncio.gather(*resends)
    assert len({m.id for m in acked}) == 1
    assert {m.seq for m in acked} == {1}
    rows = sql_rows(url, "SELECT count(*) FROM messages WHERE client_msg_id = 'same'")
    assert rows[0][0] == 1


async def test_concurrent_first_messages_make_one_private_room(
    two_writers: tuple[str, str, Database, Database],
) -> None:
    url, site_id, first, second = two_writers
    customers = [f"cus_first_{i}" for i in range(30)]
    firsts = [
        db.write(send_job(site_id, customer, f"{tag}-{customer}", f"halo dari {tag}"))  # type: ignore[arg-type]
        for customer in customers
        for db, tag in ((first, "a"), (second, "b"))
    ]
    acked: list[Message] = await asyncio.gather(*firsts)
    rooms = sql_rows(
        url,
        "SELECT customer_id, count(*) AS n, max(last_seq) AS last FROM rooms"
        " WHERE kind = 'private' GROUP BY customer_id",
    )
    assert {row["customer_id"]: (row["n"], row["last"]) for row in rooms} == {
        customer: (1, 2) for customer in customers
    }
    by_customer: dict[str, set[str]] = {}
    for message in acked:
        by_customer.setdefault(message.author.id, set()).add(message.room_id)
    assert all(len(room_ids) == 1 for room_ids in by_customer.values())
    customer_rows = sql_rows(url, "SELECT count(*) FROM customers WHERE id LIKE 'cus_first_%'")
    assert customer_rows[0][0] == len(customers)


OPEN_ONCE = textwrap.dedent(
    """
    import asyncio, sys
    from chat_server.store import open_database

    async def main() -> None:
        db = open_database(sys.argv[1], readers=1)
        await db.open()
        await db.close()

    asyncio.run(main())
    """
)


def test_migrations_are_safe_when_processes_start_at_once(pg_server: PgServer) -> None:
    url = pg_server.create_database("migrate_race")
    try:
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_ONCE, url],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(4)
        ]
        outputs = [p.communicate(timeout=timeout(60))[0] for p in processes]
        assert [p.returncode for p in processes] == [0] * 4, outputs
        applied = sql_rows(url, "SELECT version FROM schema_migrations ORDER BY version")
        expected = [number for number, _, _ in migration_scripts("postgres")]
        assert [row[0] for row in applied] == expected
        assert sql_rows(url, "SELECT count(*) FROM sites")[0][0] == 0
    finally:
        pg_server.drop_database("migrate_race")


async def test_a_stopped_server_fails_fast_and_the_store_recovers(
    pg_server: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The read pools give up a reconnect attempt after this long and start a fresh one (its
    # back-off from 1 s again), so reads come back soon after the server does, however long
    # it was down; 1 s here, where the outage lasts longer than the back-off's steps.
    monkeypatch.setattr(postgres_db, "RECONNECT_TIMEOUT_S", 1.0)
    url = pg_server.create_database("outage")
    db = open_database(url, readers=1)
    await db.open()
    try:
        creds = await admin.create_site(db, "Shop", ["shop.test"])
        job = send_job(creds.site_id, "cus_outage", "before", "sebelum")
        await db.write(job)  # type: ignore[arg-type]
        pg_server.stop()
        stopped = time.monotonic()
        try:
            for attempt in ("during-1", "during-2"):
                with pytest.raises(Unavailable):
                    await asyncio.wait_for(
                        db.write(send_job(creds.site_id, "cus_outage", attempt, "x")),  # type: ignore[arg-type]
                        timeout(20),
                    )
            with pytest.raises(Unavailable):
                await asyncio.wait_for(db.fetch_one("SELECT 1"), timeout(20))
            # The connect path's lookups run one after another on one thread: the first to
            # learn the database is down tells all the others waiting, at once (in turn,
            # 30 of them would wait 30 times the pool's 5 s).
            lookups = [db.read_now(_number(n)) for n in range(30)]
            told = await asyncio.wait_for(
                asyncio.gather(*lookups, return_exceptions=True), timeout(20)
            )
            assert all(isinstance(answer, Unavailable) for answer in told), told
            # Down long enough that a back-off doubling all along (1, 2, 4, 8 s) would
            # leave the pools' next attempt well after the server is back.
            while time.monotonic() - stopped < 16:
                with contextlib.suppress(Unavailable):
                    await db.read_now(_number(0))
                await asyncio.sleep(0.5)
        finally:
            pg_server.start()
        # Back: the writer reconnects at its next batch, the pool by itself.
        resent = await db.write(send_job(creds.site_id, "cus_outage", "during-1", "x"))  # type: ignore[arg-type]
        assert resent.seq == 2
        row = await db.fetch_one("SELECT count(*) AS n FROM messages")
        assert row is not None and row["n"] == 2
        # The read pools reconnect by themselves within a few of their attempts: a look-up
        # meanwhile is told "unavailable", never left hanging. (With psycopg_pool's back-off
        # left to double for the whole outage, they came back 16 s after a 40 s outage.)
        deadline = time.monotonic() + timeout(8)
        while True:
            try:
                assert await db.read_now(_number(5)) == 5
                break
            except Unavailable:
                assert time.monotonic() < deadline, "reads did not come back"
                await asyncio.sleep(0.2)
    finally:
        await db.close()
        pg_server.drop_database("outage")


def _number(n: int) -> Callable[[Tx], int]:
    return lambda conn: int(conn.execute("SELECT ? AS n", (n,)).fetchone()["n"])


async def test_each_connect_path_lookup_gets_its_own_answer(
    two_writers: tuple[str, str, Database, Database],
) -> None:
    _, _, db, _ = two_writers

    def broken(conn: Tx) -> None:
        conn.execute("SELECT no_such_column FROM sites").fetchone()

    answers = [asyncio.ensure_future(db.read_now(_number(n))) for n in range(300)]
    failing = asyncio.ensure_future(db.read_now(broken))
    abandoned = asyncio.ensure_future(db.read_now(_number(-1)))
    await asyncio.sleep(0)
    abandoned.cancel()  # a widget gone mid-hello: nobody is answered in its place
    assert await asyncio.gather(*answers) == list(range(300))
    with pytest.raises(psycopg.errors.UndefinedColumn):
        await failing
    assert abandoned.cancelled()
    assert await db.read_now(_number(7)) == 7  # the lane goes on
