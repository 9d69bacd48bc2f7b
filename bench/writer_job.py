"""The writer thread's own cost of a shopper's text, alone: no event loop, no other thread.

    python bench/writer_job.py                 # 120 batches of 64 texts into 500 rooms
    python bench/writer_job.py --statements    # and each statement's share

Runs the short way of `ChatService.send` exactly as SQLite's write batches do
(`_ShopperText` groups through `Database._attempt_phased`, the batch's new texts into the
search index, `BEGIN IMMEDIATE` ... `COMMIT`, synchronous=FULL; the results built after
it) on the writer's own connection (`SqliteDatabase._connect`) of a seeded
file, one batch after another on this thread. Prints the thread's CPU per message
(`time.thread_time()`), with and without the COMMIT, and per batch the least, the 20th
percentile and the median: on a shared machine the least and the low percentile move far
less than the mean. bench/send_path.py measures the same thread with the event loop and
the senders around it; this one tells what a change to the job itself bought.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import _seed, load_average, temp_dir

from chat_server.bus.memory import MemoryBus
from chat_server.domain.access import Viewer
from chat_server.domain.frames import Send
from chat_server.ids import new_id
from chat_server.services.chat import ChatService, _ShopperText
from chat_server.store import open_database
from chat_server.store.database import _built


class Timed:
    """The writer's connection, with each kind of statement's thread CPU summed."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.ns: dict[str, int] = {}

    def execute(self, sql: str, params: Any = ()) -> Any:
        began = time.thread_time_ns()
        try:
            return self.conn.execute(sql, params)
        finally:
            self._count(sql, began)

    def executemany(self, sql: str, rows: Any) -> Any:
        began = time.thread_time_ns()
        try:
            return self.conn.executemany(sql, rows)
        finally:
            self._count(sql, began)

    def _count(self, sql: str, began: int) -> None:
        words = [*sql.split(), "", ""]
        table = {"UPDATE": words[1], "INSERT": words[2]}.get(words[0], "")
        key = f"{words[0]} {table}".strip()
        self.ns[key] = self.ns.get(key, 0) + time.thread_time_ns() - began


def whole(conn: Any) -> Any:
    raise AssertionError("every text takes the short way here")


async def prepare(path: str, rooms: int) -> tuple[ChatService, list[Viewer]]:
    seed = await _seed(path, 0)
    db = open_database(path)
    await db.open()
    try:
        row = await db.fetch_one("SELECT id FROM sites WHERE site_key = ?", (seed.site_key,))
        assert row is not None
        chat = ChatService(db, MemoryBus())
        viewers = [Viewer(row["id"], "customer", new_id("cus"), f"c{i}") for i in range(rooms)]
        await asyncio.gather(*(chat.send(v, Send(None, new_id("c"), "hello")) for v in viewers))
    finally:
        await db.close()
    return chat, viewers


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rooms", type=int, default=500)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--batches", type=int, default=120)
    p.add_argument("--statements", action="store_true", help="time each kind of statement")
    args = p.parse_args()
    assert args.batch <= args.rooms  # one text per room and batch: none is stale
    with temp_dir("sapa-writer-") as work:
        path = str(work / "writer.db")
        chat, viewers = asyncio.run(prepare(path, args.rooms))
        db = open_database(path)
        raw = db._connect()
        conn: Any = Timed(raw) if args.statements else raw
        sent = 0
        jobs: list[float] = []
        commits = 0.0

        def batch() -> None:
            nonlocal sent, commits
            group: list[Any] = []
            for _ in range(args.batch):  # made on the event loop, not the writer's work
                viewer = viewers[sent % len(viewers)]
                sent += 1
                command = Send(None, new_id("c"), f"where is my order {sent}?")
                group.append((_ShopperText(whole, viewer, command, chat.posts), None, "tx"))
            conn.execute("BEGIN IMMEDIATE")
            grouped = db.grouped_jobs
            began = time.thread_time()
            outcomes = db._attempt_phased(conn, conn, group)  # the group, as a batch runs it
            jobs.append(time.thread_time() - began)
            began = time.thread_time()
            db._before_commit(raw)  # the batch's texts into the search index, as the writer does
            conn.execute("COMMIT")
            commits += time.thread_time() - began
            began = time.thread_time()
            built = [_built(ok, value) for ok, value in outcomes]  # after the COMMIT
            jobs[-1] += time.thread_time() - began
            assert db.grouped_jobs == grouped + args.batch, "every text takes the short way"
            assert all(ok for ok, _ in built)

        for _ in range(5):  # warm: statement cache, pages
            batch()
        jobs.clear()
        commits = 0.0
        if args.statements:
            conn.ns.clear()
        for _ in range(args.batches):
            batch()
        raw.close()
    n = args.batches * args.batch
    per = sorted(1e6 * t / args.batch for t in jobs)
    total = 1e6 * (sum(jobs) + commits) / n
    print(
        f"writer CPU per message: {total:.1f} µs with the COMMIT, {1e6 * sum(jobs) / n:.1f}"
        f" without; per batch: least {per[0]:.1f}, p20 {per[len(per) // 5]:.1f},"
        f" median {per[len(per) // 2]:.1f} µs   load {load_average()}"
    )
    if args.statements:
        for key, ns in conn.ns.items():
            print(f"  {key:<16} {ns / 1e3 / n:6.1f} µs per message")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
