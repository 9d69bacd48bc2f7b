"""The store's side of `send`, without sockets: throughput, CPU and round trips per message.

    python bench/send_path.py                          # both backends, 64 senders, 4,000 messages
    python bench/send_path.py --backends postgresql --senders 1   # one at a time: round trips

ChatService.send of shoppers' text messages into their (already open) private rooms, from
`--senders` concurrent tasks of this process, on a seeded SQLite file or on a PostgreSQL 15
cluster this script starts for itself (tests/pg_server.py). Reports messages per second,
CPU per message (this process; PostgreSQL's processes apart), write batches, statements and
network round trips per message on the writer's connection (PostgreSQL: each time the
writer waited on the server), and the share of sends that took the pipelined way
(`sql.Phased`: a batch's lookups in one round trip, its appends with the COMMIT). It
isolates what bench/load_backends.py measures end to end, so a change to the store can be
judged in seconds, and with far less noise from the load client. See bench/README.md
("SQLite and PostgreSQL").
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psutil
import scale_out
from _common import _seed, load_average, temp_dir

from chat_server.bus.memory import MemoryBus
from chat_server.domain.access import Viewer
from chat_server.domain.frames import Send
from chat_server.ids import new_id
from chat_server.services.chat import ChatService
from chat_server.store import open_database
from tests.pg_server import PgServer


class Counter:
    """Statements and round trips on the writer thread's connection (PostgreSQL): a
    statement outside pipeline mode is one; in pipeline mode, each sync point is."""

    def __init__(self) -> None:
        self.statements = 0
        self.round_trips = 0

    def install(self) -> None:
        import psycopg

        def writer() -> bool:
            return threading.current_thread().name == "sapa-writer"

        execute = psycopg.Cursor.execute

        def counted_execute(cursor: Any, *args: Any, **kwargs: Any) -> Any:
            if writer():
                self.statements += 1
                if cursor.connection._pipeline is None:
                    self.round_trips += 1
            return execute(cursor, *args, **kwargs)

        def counted(original: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                if writer():
                    self.round_trips += 1
                return original(*args, **kwargs)

            return wrapper

        psycopg.Cursor.execute = counted_execute  # type: ignore[method-assign,assignment]
        psycopg.Pipeline.sync = counted(psycopg.Pipeline.sync)  # type: ignore[method-assign]
        psycopg.Pipeline.__exit__ = counted(psycopg.Pipeline.__exit__)  # type: ignore[method-assign]


class WriterClock:
    """The writer thread's own CPU time (`time.thread_time()` around each batch): the
    thread that limits the rate at saturation, without the event loop's and the senders'."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def install(self) -> None:
        from chat_server.store.database import Database

        run_batch = Database._run_batch

        def timed(db: Database, *args: Any, **kwargs: Any) -> Any:
            began = time.thread_time()
            try:
                return run_batch(db, *args, **kwargs)
            finally:
                self.seconds += time.thread_time() - began

        Database._run_batch = timed  # type: ignore[method-assign]


WRITER = WriterClock()


async def run(
    url: str, args: argparse.Namespace, pg: psutil.Process | None, counter: Counter
) -> str:
    seed = await _seed(url, 0)
    db = open_database(url)
    await db.open()
    try:
        row = await db.fetch_one("SELECT id FROM sites WHERE site_key = ?", (seed.site_key,))
        assert row is not None
        site_id = row["id"]
        chat = ChatService(db, MemoryBus())
        viewers = [Viewer(site_id, "customer", new_id("cus"), f"c{i}") for i in range(args.rooms)]
        # Rooms opened first: the measured part is a steady state of ongoing conversations.
        await asyncio.gather(*(chat.send(v, Send(None, new_id("c"), "hello")) for v in viewers))
        per_sender = args.messages // args.senders

        async def sender(k: int) -> None:
            for i in range(per_sender):
                viewer = viewers[(k + i * args.senders) % len(viewers)]
                await chat.send(viewer, Send(None, new_id("c"), f"where is my order {i}?"))

        batches, writes, grouped = db.batches, db.writes, db.grouped_jobs
        writer0 = WRITER.seconds
        statements, trips = counter.statements, counter.round_trips
        own = psutil.Process()
        cpu0 = sum(own.cpu_times()[:2])
        pg0 = pg_cpu(pg)
        load = load_average()
        stop = asyncio.Event()
        busy = asyncio.ensure_future(busy_loop(args.loop_busy, stop))
        began = time.perf_counter()
        await asyncio.gather(*(sender(k) for k in range(args.senders)))
        wall = time.perf_counter() - began
        stop.set()
        await busy
        sent = per_sender * args.senders
        cpu = sum(own.cpu_times()[:2]) - cpu0
        pg_ms = 1e3 * (pg_cpu(pg) - pg0) / sent if pg else 0.0
        n_batches = db.batches - batches
        line = (
            f"{db.backend:<10} {args.senders:>7} {sent / wall:>8.0f} {1e3 * cpu / sent:>9.2f} "
            f"{pg_ms:>7.2f} {(db.writes - writes) / max(1, n_batches):>7.1f}"
        )
        if pg:
            line += (
                f" {(counter.statements - statements) / sent:>8.1f}"
                f" {(counter.round_trips - trips) / sent:>8.2f}"
                f" {100 * (db.grouped_jobs - grouped) / sent:>7.0f}%"
            )
        else:  # SQLite groups phased jobs too (without a pipeline): their share
            line += f" {'-':>8} {'-':>8} {100 * (db.grouped_jobs - grouped) / sent:>7.0f}%"
        writer_ms = 1e3 * (WRITER.seconds - writer0) / sent
        return line + f" {writer_ms:>9.3f}   load {load}"
    finally:
        await db.close()


async def busy_loop(fraction: float, stop: asyncio.Event) -> None:
    """Keep the event loop busy for `fraction` of every millisecond, in Python (holding the
    GIL), as a server's loop is while it serves sockets: the writer thread must win the GIL
    back after every wait on the database."""
    if fraction <= 0:
        return
    while not stop.is_set():
        until = time.perf_counter() + fraction * 1e-3
        while time.perf_counter() < until:
            pass
        await asyncio.sleep((1 - fraction) * 1e-3)


def pg_cpu(pg: psutil.Process | None) -> float:
    if pg is None:
        return 0.0
    total = 0.0
    for proc in [pg, *pg.children(recursive=True)]:
        try:
            total += sum(proc.cpu_times()[:2])
        except psutil.Error:
            pass
    return total


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    p.add_argument("--senders", type=int, nargs="+", default=[64])
    p.add_argument("--messages", type=int, default=4000)
    p.add_argument("--rooms", type=int, default=500)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument(
        "--loop-busy",
        type=float,
        default=0.0,
        help="share of each millisecond the event loop spends in Python (0-1; a server's"
        " loop at 400 msg/s: about 0.5)",
    )
    p.add_argument("--switch-interval", type=float, help="sys.setswitchinterval (s)")
    args = p.parse_args()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    counter = Counter()
    counter.install()
    WRITER.install()
    print(
        f"{'backend':<10} {'senders':>7} {'msg/s':>8} {'ms/msg':>9} {'pg ms':>7} {'batch':>7}"
        f" {'stmts':>8} {'trips':>8} {'grouped':>8} {'writer ms':>9}"
    )
    with temp_dir("sapa-send-") as work:
        pg_server = None
        if "postgresql" in args.backends:
            pg_server = PgServer(scale_out.free_port())
            pg_server.start()
        try:
            n = 0
            for _ in range(args.repeat):
                for senders in args.senders:
                    for backend in args.backends:
                        n += 1
                        one = argparse.Namespace(**{**vars(args), "senders": senders})
                        if backend == "sqlite":
                            line = asyncio.run(run(str(work / f"{n}.db"), one, None, counter))
                        else:
                            assert pg_server is not None
                            url = pg_server.create_database(f"run{n}")
                            pid = int((pg_server.data / "postmaster.pid").read_text().split()[0])
                            line = asyncio.run(run(url, one, psutil.Process(pid), counter))
                            pg_server.drop_database(f"run{n}")
                        print(line, flush=True)
        finally:
            if pg_server is not None:
                pg_server.destroy()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
