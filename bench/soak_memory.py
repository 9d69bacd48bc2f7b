"""Memory soak: constant chat load for a long time; does the server's RSS level off?

One `sapa serve` (SQLite, one process), W widgets that each send at a steady rate, A agents
that answer, and the churn real traffic has: every minute a share of the widgets reconnects
and syncs its whole history (the reconnect storm after a deploy or a Redis outage). RSS is
sampled throughout; after the warm-up the least-squares slope (MiB per hour) must be flat
(< 5 MiB/h is the target).

    python bench/soak_memory.py                     # 30 minutes, 300 widgets, 20 msgs/s
    python bench/soak_memory.py --minutes 5 --warmup 1   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from pathlib import Path

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    WIDGET_ORIGIN,
    Seed,
    ServerProcess,
    load_average,
    raise_nofile,
    rss_bytes,
    running_server,
    seed_database,
    temp_dir,
)

NO_COMPRESSION = False


class Widget:
    def __init__(self, url: str, site_key: str) -> None:
        self.url, self.site_key = url, site_key
        self.token = ""
        self.ws: websockets.ClientConnection | None = None
        self.room_id: str | None = None
        self.sent = 0

    async def open(self, http: httpx.AsyncClient) -> None:
        if not self.token:
            answer = await http.post(
                "/api/widget/session",
                json={"site_key": self.site_key},
                headers={"origin": WIDGET_ORIGIN},
            )
            self.token = answer.json()["token"]
        self.ws = await websockets.connect(
            self.url.replace("http", "ws") + "/ws/widget",
            origin=WIDGET_ORIGIN,  # type: ignore[arg-type]
            compression=None if NO_COMPRESSION else "deflate",
        )
        await self.ws.send(json.dumps({"type": "hello", "token": self.token}))

    async def reconnect_and_sync(self, http: httpx.AsyncClient, mode: str = "both") -> None:
        if mode in ("both", "reconnect") or self.ws is None:
            if self.ws is not None:
                await self.ws.close()
            await self.open(http)
        if mode in ("both", "sync") and self.room_id and self.ws is not None:
            await self.ws.send(
                json.dumps({"type": "sync", "room_id": self.room_id, "after_seq": 0, "limit": 200})
            )

    async def send(self) -> None:
        if self.ws is None:
            return
        self.sent += 1
        frame = {
            "type": "send",
            "client_msg_id": f"m{self.sent}-{random.random()}",
            "body": "halo kak, paket saya sudah dikirim belum?",
        }
        await self.ws.send(json.dumps(frame))

    async def drain(self) -> None:
        """Read and drop everything (the server must not buffer for us)."""
        while True:
            ws = self.ws
            if ws is None:
                await asyncio.sleep(0.5)
                continue
            try:
                raw = await ws.recv()
            except websockets.ConnectionClosed:
                await asyncio.sleep(0.2)
                continue
            if self.room_id is None and '"ack"' in str(raw):
                with_room = json.loads(raw).get("message", {}).get("room_id")
                self.room_id = with_room or self.room_id


def run(args: argparse.Namespace) -> None:
    raise_nofile(args.widgets * 2 + 256)
    with temp_dir() as work:
        seed = seed_database(str(work / "sapa.db"), 2)
        with running_server(seed.db_path, work / "server.log") as server:
            samples = asyncio.run(load(server, seed, args))
    report(samples, args)


async def load(
    server: ServerProcess, seed: Seed, args: argparse.Namespace
) -> list[tuple[float, int]]:
    proc = server.psutil
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        widgets = [Widget(server.url, seed.site_key) for _ in range(args.widgets)]
        for w in widgets:
            await w.open(http)
        readers = [asyncio.create_task(w.drain()) for w in widgets]
        samples: list[tuple[float, int]] = []
        start = time.monotonic()
        end = start + args.minutes * 60
        next_sample = start
        next_churn = start + 60
        interval = 1 / args.rate
        print(
            f"soak: {args.widgets} widgets, {args.rate} msgs/s, {args.minutes} min; load {load_average()}"
        )
        while (now := time.monotonic()) < end:
            await random.choice(widgets).send()
            if now >= next_sample:
                samples.append((now - start, rss_bytes(proc)))
                print(
                    f"  {(now - start) / 60:5.1f} min  RSS {samples[-1][1] / 2**20:7.1f} MiB",
                    flush=True,
                )
                next_sample += args.sample
            if now >= next_churn:
                for w in random.sample(widgets, len(widgets) * args.churn // 100):
                    await w.reconnect_and_sync(http, args.churn_mode)
                next_churn += 60
            await asyncio.sleep(random.expovariate(1 / interval))
        for task in readers:
            task.cancel()
        for w in widgets:
            if w.ws is not None:
                await w.ws.close()
    return samples


def report(samples: list[tuple[float, int]], args: argparse.Namespace) -> None:
    kept = [(t, r) for t, r in samples if t >= args.warmup * 60]
    if len(kept) < 3:
        print("not enough samples after the warm-up")
        return
    n = len(kept)
    mean_t = sum(t for t, _ in kept) / n
    mean_r = sum(r for _, r in kept) / n
    slope = sum((t - mean_t) * (r - mean_r) for t, r in kept) / sum(
        (t - mean_t) ** 2 for t, _ in kept
    )
    per_hour = slope * 3600 / 2**20
    first, last = kept[0][1] / 2**20, kept[-1][1] / 2**20
    print(
        f"after {args.warmup} min warm-up: RSS {first:.1f} -> {last:.1f} MiB over "
        f"{(kept[-1][0] - kept[0][0]) / 60:.1f} min; slope {per_hour:+.2f} MiB/h "
        f"({'flat' if abs(per_hour) < 5 else 'GROWING'}: target < 5 MiB/h)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=5, help="minutes left out of the slope")
    parser.add_argument("--widgets", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20, help="messages per second, in all")
    parser.add_argument(
        "--churn", type=int, default=10, help="%% of widgets reconnecting and syncing each minute"
    )
    parser.add_argument(
        "--churn-mode",
        choices=("both", "reconnect", "sync"),
        default="both",
        help="what the churning widgets do: reconnect and sync (default), or one of the two",
    )
    parser.add_argument(
        "--no-compression", action="store_true", help="widgets do not offer permessage-deflate"
    )
    parser.add_argument("--sample", type=float, default=30, help="seconds between RSS samples")
    args = parser.parse_args()
    global NO_COMPRESSION
    NO_COMPRESSION = args.no_compression
    run(args)


if __name__ == "__main__":
    main()
