"""Group commit on both backends: one transaction per batch, and each job's failure its own.

On PostgreSQL a batch runs in pipeline mode (store/postgres_db.py): a statement whose result
nobody reads is not waited for, so its error comes back later. It must still fail the job
that ran it, and only that job, whatever the job did after it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from chat_server.errors import ErrorCode, SapaError
from chat_server.ids import new_id, now_iso
from chat_server.store import Database, customers, open_database
from chat_server.store.sql import Tx
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

    started, gate = threading.Event(), threading.Event()

    def hold(conn: Tx) -> None:
        started.set()
        gate.wait(timeout(10))

    held = asyncio.ensure_future(db.write(hold))
    await asyncio.to_thread(started.wait, timeout(10))
    batches = db.batches
    # Queued while the writer is busy: the next batch holds all five.
    jobs = [
        db.write(add(taken)),
        db.write(duplicate_unread),
        db.write(duplicate_then_read),
        db.write(counted),
        db.write(add(last)),
    ]
    results = asyncio.gather(*jobs, return_exceptions=True)
    await asyncio.sleep(0)
    gate.set()
    await held
    first, unread, read, rowcount, final = await results
    assert db.batches == batches + 2

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

    started, gate = threading.Event(), threading.Event()

    def hold(conn: Tx) -> None:
        started.set()
        gate.wait(timeout(10))

    held = asyncio.ensure_future(db.write(hold))
    await asyncio.to_thread(started.wait, timeout(10))
    batches = db.batches
    jobs = [db.write(then_read), db.write(then_fail), db.write(fine), db.write(alone)]
    results = asyncio.gather(*jobs, return_exceptions=True)
    await asyncio.sleep(0)
    gate.set()
    await held
    read, failed, ok, last = await results
    assert db.batches == batches + 2  # one batch held all four

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
