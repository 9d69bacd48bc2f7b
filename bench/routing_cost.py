"""The cost of routing and search, in-process on a real SQLite file or PostgreSQL.

1. An assignment decision per new conversation while `--queued` conversations wait and
   every online agent is at their cap (the common case on a busy day): the time of the
   whole write of a shopper's first message through `ChatService.send` (store the room
   and message, read the loads, find nothing free, place the newcomer in line), against
   the same write on a site that routes by hand.
2. Search latency over `--messages` messages, ranked by relevance (FTS5 bm25; PostgreSQL
   ts_rank), p50 and p99 of `--searches` queries: two common words (about a tenth of all
   messages match) and one rare word.

    .venv/bin/python bench/routing_cost.py --queued 1000 --messages 100000
    .venv/bin/python bench/routing_cost.py --backend postgresql --messages 1000000

`--backend postgresql` starts a throw-away PostgreSQL cluster (tests/pg_server.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from _common import PASSWORD, free_port, load_average

from chat_server.bus import MemoryBus
from chat_server.domain import search as search_rules
from chat_server.domain.access import Viewer
from chat_server.domain.frames import Send
from chat_server.domain.routing import RoutingSettings
from chat_server.ids import new_id, now_iso
from chat_server.services import admin
from chat_server.services.chat import ChatService
from chat_server.store import customers as customer_store
from chat_server.store import open_database
from chat_server.store import rooms as room_store
from chat_server.store import routing as routing_store
from chat_server.store import search as search_store
from chat_server.store.database import Database
from chat_server.store.sql import Tx
from tests.pg_server import PgServer  # the tests' throw-away cluster (_common put ROOT on the path)

WORDS = (
    "paket kirim resi ongkir bayar transfer refund ukuran warna stok promo diskon kurir"
    " alamat batal tukar garansi cicilan voucher gratis besok hari ini tolong kak"
).split()


async def first_messages(chat: ChatService, site_id: str, count: int) -> list[float]:
    """Seconds per shopper's first message (one new conversation each), one at a time."""
    out = []
    for _ in range(count):
        customer_id, _ = await chat.db.write(lambda c: customer_store.insert_anonymous(c, site_id))
        viewer = Viewer(site_id, "customer", customer_id, "Pembeli")
        start = time.perf_counter()
        await chat.send(viewer, Send(None, "m1", "halo kak, paket saya belum sampai", "text"))
        out.append(time.perf_counter() - start)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def fill_messages(db: Database, site_id: str, total: int) -> None:
    """`total` shopper messages, 50 per conversation, one multi-row insert per conversation
    (the store's send path would take most of an hour for a million on a loaded machine)."""
    rng = random.Random(7)
    per_room = 50
    made = 0
    while made < total:
        rooms_now = min(20, (total - made + per_room - 1) // per_room)

        def job(conn: Tx, rooms_now: int = rooms_now, first: int = made) -> int:
            done = 0
            for _ in range(rooms_now):
                count = min(per_room, total - first - done)
                customer_id, _ = customer_store.insert_anonymous(conn, site_id)
                customer_store.activate(conn, site_id, customer_id)
                room = room_store.ensure_private_room(conn, site_id, customer_id)
                now = now_iso()
                rows: list[object] = []
                for seq in range(1, count + 1):
                    words = " ".join(rng.choice(WORDS) for _ in range(8))
                    body = f"{words} nomor{rng.randrange(10**6)}"
                    rows += [new_id("msg"), site_id, room.id, seq, "text", body, "customer"]
                    rows += [customer_id, "Pembeli", now]
                marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * count)
                conn.execute(
                    "INSERT INTO messages (id, site_id, room_id, seq, kind, body, author_kind,"
                    f" author_id, author_name, created_at) VALUES {marks}",
                    rows,
                )
                conn.execute("UPDATE rooms SET last_seq = ? WHERE id = ?", (count, room.id))
                done += count
            return done

        made += await db.write_bulk(job)


async def timed_searches(
    db: Database, site: str, queries: list[str], rounds: int
) -> tuple[float, float]:
    took = []
    for i in range(rounds):
        query = search_rules.parse(queries[i % len(queries)])
        start = time.perf_counter()
        await search_store.messages(db, site, query, 50)
        took.append(time.perf_counter() - start)
    return statistics.median(took), percentile(took, 0.99)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queued", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--db",
        help="an existing SQLite file or PostgreSQL URL, kept: its site 'Bench' is filled up"
        " to --messages once, so search can be timed again and again (e.g. before/after)",
    )
    parser.add_argument("--search-only", action="store_true", help="skip the routing part")
    args = parser.parse_args()
    print(f"backend {args.backend}; load average at start {load_average()}")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        url = args.db or str(Path(tmp) / "bench.db")
        if args.backend == "postgresql" and not args.db:
            pg = PgServer(free_port())
            stack.callback(pg.destroy)
            pg.start()
            url = pg.create_database("bench")
        db = open_database(url)
        await db.open()
        chat = ChatService(db, MemoryBus())
        found = await db.fetch_one("SELECT id FROM sites WHERE name = 'Bench'")
        if found is not None:
            site = found["id"]
        else:
            site = (await admin.create_site(db, "Bench", ["127.0.0.1"])).site_id
        if args.search_only:
            await search_part(db, site, args.messages, args.searches)
            await db.close()
            return
        agents = [
            await admin.create_agent(db, site, f"a{i}@bench.test", f"Agent {i}", "agent", PASSWORD)
            for i in range(2)
        ]

        async def online(_: str) -> frozenset[str]:
            return frozenset(agents)

        chat.online_agents = online
        manual = await first_messages(chat, site, args.samples)
        await db.write(
            lambda c: routing_store.set_settings(c, site, RoutingSettings("round_robin", 3))
        )
        await first_messages(chat, site, args.queued)  # 6 assigned, the rest wait
        routed = await first_messages(chat, site, args.samples)
        waiting = len(
            await db.fetch_all(
                "SELECT id FROM rooms WHERE site_id = ? AND status = 'queued' AND assignee_id IS NULL",
                (site,),
            )
        )
        print(f"queue: {waiting} waiting, agents at cap")
        for name, values in (("manual", manual), ("round_robin", routed)):
            print(
                f"first message, {name}: median {statistics.median(values) * 1e3:.2f} ms,"
                f" p99 {percentile(values, 0.99) * 1e3:.2f} ms"
            )

        await search_part(db, site, args.messages, args.searches)
        await db.close()


async def search_part(db: Database, site: str, messages: int, searches: int) -> None:
    row = await db.fetch_one(
        "SELECT count(*) FROM messages WHERE site_id = ? AND kind = 'text'", (site,)
    )
    have = int(row[0]) if row else 0
    if have < messages:
        started = time.perf_counter()
        await fill_messages(db, site, messages - have)
        print(f"{messages - have} messages stored in {time.perf_counter() - started:.1f} s")
        if db.backend == "postgresql":
            await db.write(lambda c: c.execute("ANALYZE"))
    rng = random.Random(11)
    common = [" ".join(rng.sample(WORDS, 2)) for _ in range(50)]
    rare = [f"nomor{rng.randrange(10**6)}" for _ in range(50)]
    for name, queries in (("2 common words", common), ("1 rare word", rare)):
        p50, p99 = await timed_searches(db, site, queries, searches)
        print(
            f"search over {messages} messages ({name}, 50 most relevant):"
            f" p50 {p50 * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms"
        )
    print(f"load average at end {load_average()}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    asyncio.run(main())
