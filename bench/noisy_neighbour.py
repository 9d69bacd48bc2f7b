"""One shop's bulk work beside another shop's chat: the chatting shop's ack latency.

    python bench/noisy_neighbour.py                        # all three scenarios, default sizes
    python bench/noisy_neighbour.py --scenarios orders     # only the REST order push
    python bench/noisy_neighbour.py --rows 50000 --buyers 1000   # smaller, on a busy machine

Seeds a fresh SQLite file with two sites: A (domain 127.0.0.1, chats) and B (pushes
orders, imports customers), gives B `--buyers` buyers with one order each (through
`sapa import orders`), and starts `python -m chat_server serve`. Then, each scenario
on the same server:

- idle: W widgets of site A send `--chat-rate` messages per second in total (open loop:
  message i is due at start + i/rate, latency is measured from its due time) for
  `--duration` seconds; the ack latency is the figure;
- orders: the same chat while site B pushes `--order-rate` orders per second over REST
  (`POST /api/v1/customers/by-external-id/{id}/orders`, each to one of B's buyers or a
  new one, open loop too), also timed;
- import: the same chat while `sapa import customers` of `--rows` rows runs for site B in
  another process, for as long as the import takes.

The figures are printed, never asserted. The target is an ack p99 under 50 ms while
either kind of bulk work runs. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import websockets
from _common import (
    ROOT,
    WIDGET_ORIGIN,
    Seed,
    Summary,
    install_sigterm_as_interrupt,
    load_average,
    running_server,
    seed_database,
    server_counters,
    server_version,
    temp_dir,
    wait_for_quiet,
)
from websockets.asyncio.client import ClientConnection

WIDGET_MAX_RATE = 15.0  # msg/s per widget socket (the server allows 20 frames/s)


@dataclass
class Chat:
    """W widgets of the chatting site, sending on a fixed schedule and timing each ack."""

    url: str
    site_key: str
    widgets: int
    rate: float
    sockets: list[ClientConnection] = field(default_factory=list)
    pending: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    refused: int = 0
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    async def open(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            for _ in range(self.widgets):
                session = (
                    await http.post(
                        "/api/widget/session",
                        json={"site_key": self.site_key},
                        headers={"origin": WIDGET_ORIGIN},
                    )
                ).json()
                ws = await websockets.connect(
                    self.url.replace("http://", "ws://") + "/ws/widget",
                    origin=WIDGET_ORIGIN,  # type: ignore[arg-type]
                )
                await ws.send(json.dumps({"type": "hello", "token": session["token"]}))
                while json.loads(await ws.recv()).get("type") != "welcome":
                    pass
                self.sockets.append(ws)
        self.readers = [asyncio.create_task(self._read(ws)) for ws in self.sockets]

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                frame = json.loads(raw)
                due = self.pending.pop(frame.get("ref", ""), None)
                if due is None:
                    continue
                if frame.get("type") == "ack":
                    self.latencies.append(time.perf_counter() - due)
                else:
                    self.refused += 1

    async def run(self, label: str, until: asyncio.Future[Any] | float) -> Summary:
        """Send until `until` (a number of seconds, or a future that finishes the run)."""
        self.latencies, self.refused = [], 0
        start = time.perf_counter()
        i = 0
        while True:
            due = start + i / self.rate
            if isinstance(until, float) and due - start >= until:
                break
            if isinstance(until, asyncio.Future) and until.done():
                break
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            ref = f"{label}-{i}"
            self.pending[ref] = due
            ws = self.sockets[i % len(self.sockets)]
            await ws.send(
                json.dumps({"type": "send", "ref": ref, "client_msg_id": ref, "body": f"halo {i}"})
            )
            i += 1
        deadline = time.perf_counter() + 10
        while self.pending and time.perf_counter() < deadline:  # noqa: ASYNC110 (a bench)
            await asyncio.sleep(0.05)
        lost = len(self.pending)
        self.pending.clear()
        summary = Summary.of(self.latencies)
        print(
            f"  chat ({label}): {i} sent, ack {summary.ms()}, refused {self.refused}, unacked {lost}",
            flush=True,
        )
        return summary

    async def close(self) -> None:
        for ws in self.sockets:
            await ws.close()
        for task in self.readers:
            task.cancel()


@dataclass(frozen=True, slots=True)
class Shop:
    site_id: str
    api_token: str


async def _second_site(db_path: str) -> Shop:
    from chat_server.services import admin
    from chat_server.store import open_database

    db = open_database(db_path, readers=1)
    await db.open()
    try:
        creds = await admin.create_site(db, "Noisy Shop", ["noisy.test"], locale="id")
    finally:
        await db.close()
    return Shop(creds.site_id, creds.api_token)


def sapa_import(db_path: str, site_id: str, kind: str, path: Path) -> subprocess.Popen[bytes]:
    command = ["import", kind, str(path), "--site", site_id, "--db", db_path]
    return subprocess.Popen(
        [sys.executable, "-m", "chat_server", *command],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def write_orders(path: Path, buyers: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("external_id,order_id,total,placed_at\n")
        for i in range(buyers):
            day = 1 + i % 28
            out.write(
                f"b{i},seed-{i},{50_000 + 1_000 * (i % 900)},2026-{1 + i % 11:02d}-{day:02d}T10:00:00Z\n"
            )


def write_customers(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("external_id,name,email,phone,tags,city\n")
        for i in range(rows):
            out.write(f"imp{i},Pelanggan {i},p{i}@contoh.id,+62812{i:07d},a|b,Kota {i % 60}\n")


async def push_orders(url: str, shop: Shop, rate: float, buyers: int, stop: asyncio.Event) -> str:
    latencies: list[float] = []
    failed = 0
    headers = {"authorization": f"Bearer {shop.api_token}"}
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as http:

        async def one(i: int, due: float) -> None:
            nonlocal failed
            buyer = f"b{(i * 7919) % (buyers + 200)}"  # mostly known buyers, some new ones
            try:
                response = await http.post(
                    f"/api/v1/customers/by-external-id/{buyer}/orders",
                    json={"order_id": f"push-{i}", "total": 75_000 + 500 * (i % 400)},
                )
            except httpx.HTTPError:
                failed += 1
                return
            if response.status_code == 201:
                latencies.append(time.perf_counter() - due)
            else:
                failed += 1

        tasks = []
        start = time.perf_counter()
        i = 0
        while not stop.is_set():
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
            i += 1
        await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    return (
        f"  orders pushed: {len(latencies)} in {elapsed:.1f} s ({len(latencies) / elapsed:.0f}/s),"
        f" failed {failed}, latency {Summary.of(latencies).ms()}"
    )


async def rescored(db_path: str, shop: Shop, wait: float) -> str:
    """Time from the end of the push until the debounced re-score of B has finished."""
    start = time.perf_counter()
    while time.perf_counter() - start < wait:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            left = conn.execute(
                "SELECT count(*) FROM rfm_dirty WHERE site_id = ?", (shop.site_id,)
            ).fetchone()[0]
        except sqlite3.OperationalError:  # a server without the table
            return "  (this server has no background re-scoring)"
        finally:
            conn.close()
        if not left:
            took = time.perf_counter() - start
            return f"  B's buyers re-scored (fresh quintiles) {took:.1f} s after the push"
        await asyncio.sleep(0.2)
    return f"  B's buyers not yet re-scored {wait:.0f} s after the push"


def run(args: argparse.Namespace) -> None:
    print(f"commit {server_version()}, load average {load_average()}", flush=True)
    with temp_dir("sapa-noisy-") as tmp:
        db_path = str(tmp / "noisy.db")
        seed = seed_database(db_path, agents=1)
        shop = asyncio.run(_second_site(db_path))
        orders_csv = tmp / "seed_orders.csv"
        write_orders(orders_csv, args.buyers)
        started = time.perf_counter()
        seeding = sapa_import(db_path, shop.site_id, "orders", orders_csv)
        seeding.communicate()
        print(f"seeded site B with {args.buyers} buyers in {time.perf_counter() - started:.1f} s")
        print(wait_for_quiet(args.quiet_wait, 0.5), flush=True)
        asyncio.run(measure(args, tmp, db_path, seed, shop))


async def measure(
    args: argparse.Namespace, tmp: Path, db_path: str, seed: Seed, shop: Shop
) -> None:
    with running_server(db_path, tmp / "server.log") as server:
        chat = Chat(server.url, seed.site_key, args.widgets, args.chat_rate)
        await chat.open()
        results: dict[str, Summary] = {}
        try:
            if "idle" in args.scenarios:
                results["idle"] = await chat.run("idle", float(args.duration))
            if "orders" in args.scenarios:
                stop = asyncio.Event()
                pusher = asyncio.create_task(
                    push_orders(server.url, shop, args.order_rate, args.buyers, stop)
                )
                results["orders"] = await chat.run("orders", float(args.duration))
                stop.set()
                print(await pusher, flush=True)
                print(await rescored(db_path, shop, 60), flush=True)
            if "import" in args.scenarios:
                big = tmp / "customers.csv"
                write_customers(big, args.rows)
                started = time.perf_counter()
                importer = sapa_import(db_path, shop.site_id, "customers", big)
                finished: asyncio.Future[Any] = asyncio.ensure_future(
                    asyncio.to_thread(importer.communicate)
                )
                results["import"] = await chat.run("import", finished)
                _, err = await finished
                took = time.perf_counter() - started
                report = err.decode(errors="replace").strip().splitlines()[-1:]
                print(
                    f"  import of {args.rows} rows: {took:.1f} s ({args.rows / took:.0f} rows/s),"
                    f" exit {importer.returncode}: {' '.join(report)}",
                    flush=True,
                )
        finally:
            await chat.close()
        counters = server_counters(server.url)
        log = server.log_tail(200)
    print()
    print(
        f"{'scenario':10} {'acks':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  target p99 < 50 ms"
    )
    for name, s in results.items():
        verdict = "ok" if s.p99 * 1e3 < 50 else "OVER"
        print(
            f"{name:10} {s.count:6d} {s.p50 * 1e3:8.1f} {s.p99 * 1e3:8.1f} {s.max * 1e3:8.1f}  {verdict}"
        )
    jobs, batches = counters.get("sapa_db_writes_total"), counters.get("sapa_db_batches_total")
    print(f"server: {jobs} write jobs in {batches} transactions; load average {load_average()}")
    if "write batch failed" in log:
        print("server log shows failed write batches:\n" + log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenarios",
        nargs="+",
        choices=["idle", "orders", "import"],
        default=["idle", "orders", "import"],
    )
    parser.add_argument("--widgets", type=int, default=10)
    parser.add_argument("--chat-rate", type=float, default=50.0, help="msg/s of the chatting site")
    parser.add_argument("--order-rate", type=float, default=100.0, help="orders/s over REST")
    parser.add_argument("--buyers", type=int, default=3000, help="site B's buyers before the push")
    parser.add_argument("--rows", type=int, default=250_000, help="rows of the customers import")
    parser.add_argument("--duration", type=int, default=20, help="seconds of idle and orders runs")
    parser.add_argument(
        "--quiet-wait", type=float, default=120.0, help="s to wait for an idle machine first"
    )
    args = parser.parse_args()
    if args.chat_rate / args.widgets > WIDGET_MAX_RATE:
        parser.error(f"at most {WIDGET_MAX_RATE} msg/s per widget: add --widgets")
    install_sigterm_as_interrupt()
    with contextlib.suppress(KeyboardInterrupt):
        run(args)


if __name__ == "__main__":
    main()
