"""The cost of routing and search, in-process on a real SQLite file.

1. An assignment decision per new conversation while `--queued` conversations wait and
   every online agent is at their cap (the common case on a busy day): the time of the
   whole write of a shopper's first message through `ChatService.send` (store the room
   and message, read the loads, find nothing free, place the newcomer in line), against
   the same write on a site that routes by hand.
2. Search latency over `--messages` messages (FTS5), p50 and p99 of `--searches` queries.

    .venv/bin/python bench/routing_cost.py --queued 1000 --messages 100000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from _common import PASSWORD

from chat_server.bus import MemoryBus
from chat_server.domain import search as search_rules
from chat_server.domain.access import Viewer
from chat_server.domain.frames import Send
from chat_server.domain.models import Author
from chat_server.domain.routing import RoutingSettings
from chat_server.services import admin
from chat_server.services.chat import ChatService
from chat_server.store import customers as customer_store
from chat_server.store import open_database
from chat_server.store import rooms as room_store
from chat_server.store import routing as routing_store
from chat_server.store import search as search_store
from chat_server.store.database import Database
from chat_server.store.sql import Tx

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
    rng = random.Random(7)
    per_room = 50
    made = 0
    while made < total:
        batch = min(5000, total - made)

        def job(conn: Tx, batch: int = batch) -> None:
            room = None
            for i in range(batch):
                if room is None or i % per_room == 0:
                    customer_id, _ = customer_store.insert_anonymous(conn, site_id)
                    customer_store.activate(conn, site_id, customer_id)
                    room = room_store.ensure_private_room(conn, site_id, customer_id)
                    author = Author("customer", customer_id, "Pembeli")
                body = (
                    " ".join(rng.choice(WORDS) for _ in range(8)) + f" nomor{rng.randrange(10**6)}"
                )
                room_store.append_message(conn, room, "text", body, author)

        await db.write_bulk(job)
        made += batch


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queued", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(str(Path(tmp) / "bench.db"))
        await db.open()
        chat = ChatService(db, MemoryBus())
        creds = await admin.create_site(db, "Bench", ["127.0.0.1"])
        site = creds.site_id
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

        started = time.perf_counter()
        await fill_messages(db, site, args.messages)
        print(f"{args.messages} messages stored in {time.perf_counter() - started:.1f} s")
        rng = random.Random(11)
        took = []
        for _ in range(args.searches):
            words = " ".join(rng.sample(WORDS, 2))
            query = search_rules.parse(words)
            start = time.perf_counter()
            await search_store.messages(db, site, query, 50)
            took.append(time.perf_counter() - start)
        print(
            f"search over {args.messages} messages (2 words, 50 newest):"
            f" p50 {statistics.median(took) * 1e3:.1f} ms, p99 {percentile(took, 0.99) * 1e3:.1f} ms"
        )
        await db.close()


if __name__ == "__main__":
    asyncio.run(main())
