"""Uploads: photos per second and server CPU per photo, documents per second, and the
server's memory while 20 uploads of 10 MB stream in at once.

    python bench/uploads.py                      # 40 photos, 40 PDFs, 20 x 10 MB
    python bench/uploads.py --photos 80 --concurrency 4

A real server process on a fresh database and files directory. Photos are 12-megapixel
JPEGs (4000 x 3000, noise over a gradient, so they compress like camera photos): each is
decoded, re-encoded without EXIF and thumbnailed (services/images.py). The server
process's CPU (all threads) over the photo run is divided by the photos. Memory: the
server's RSS is sampled every 20 ms while 20 clients each send a 10 MB file at once;
uploads are streamed to disk, so the peak should stay near the idle RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    WIDGET_ORIGIN,
    cpu_snapshot,
    load_average,
    rss_bytes,
    running_server,
    seed_database,
    temp_dir,
)


def photo(seed: int) -> bytes:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    x = np.linspace(0, 255, 4000, dtype=np.float32)
    y = np.linspace(0, 255, 3000, dtype=np.float32)[:, None]
    base = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=-1)
    noisy = np.clip(base + rng.normal(0, 18, base.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(noisy, "RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def pdf(size: int, seed: int) -> bytes:
    body = os.urandom(max(0, size - 64))
    return b"%PDF-1.4\n%" + str(seed).encode() + b"\n" + body + b"\n%%EOF\n"


async def token(http: httpx.AsyncClient, site_key: str) -> str:
    r = await http.post(
        "/api/widget/session", json={"site_key": site_key}, headers={"origin": WIDGET_ORIGIN}
    )
    return str(r.json()["token"])


async def upload(http: httpx.AsyncClient, tok: str, name: str, data: bytes, kind: str) -> None:
    r = await http.post(
        "/api/widget/uploads",
        files={"file": (name, data, kind)},
        headers={"authorization": f"Bearer {tok}", "origin": WIDGET_ORIGIN},
    )
    if r.status_code != 201:
        raise RuntimeError(f"upload refused: {r.status_code} {r.text}")


async def timed_batch(
    http: httpx.AsyncClient, tokens: list[str], files: list[tuple[str, bytes, str]], workers: int
) -> float:
    queue = list(enumerate(files))

    async def worker() -> None:
        while queue:
            i, (name, data, kind) = queue.pop()
            await upload(http, tokens[i % len(tokens)], name, data, kind)

    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.monotonic() - start


async def run(url: str, site_key: str, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    proc = psutil.Process(pid)
    photos = [(f"p{i}.jpg", photo(i), "image/jpeg") for i in range(min(args.photos, 8))]
    photos = [photos[i % len(photos)] for i in range(args.photos)]
    docs = [(f"d{i}.pdf", pdf(1_000_000, i), "application/pdf") for i in range(args.docs)]
    big = [(f"b{i}.pdf", pdf(10_000_000, 1000 + i), "application/pdf") for i in range(20)]
    async with httpx.AsyncClient(base_url=url, timeout=300) as http:
        tokens = [await token(http, site_key) for _ in range(20)]
        fresh = rss_bytes(proc)
        await upload(http, tokens[0], "warm.jpg", photos[0][1], "image/jpeg")
        before = cpu_snapshot(proc)
        photo_wall = await timed_batch(http, tokens, photos, args.concurrency)
        photo_cpu = cpu_snapshot(proc).minus(before)
        before = cpu_snapshot(proc)
        doc_wall = await timed_batch(http, tokens, docs, args.concurrency)
        doc_cpu = cpu_snapshot(proc).minus(before)

        idle = rss_bytes(proc)
        peak = idle
        done = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, rss_bytes(proc))
                await asyncio.sleep(0.02)

        sampler = asyncio.create_task(sample())
        start = time.monotonic()
        await asyncio.gather(*(upload(http, tokens[i], n, d, k) for i, (n, d, k) in enumerate(big)))
        big_wall = time.monotonic() - start
        done.set()
        await sampler
    return {
        "photos_per_s": len(photos) / photo_wall,
        "cpu_ms_per_photo": photo_cpu.total * 1000 / len(photos),
        "photo_kib": sum(len(p[1]) for p in photos) / len(photos) / 1024,
        "docs_per_s": len(docs) / doc_wall,
        "cpu_ms_per_doc": doc_cpu.total * 1000 / len(docs),
        "fresh_mib": fresh / 2**20,
        "idle_mib": idle / 2**20,
        "peak_mib": peak / 2**20,
        "big_wall_s": big_wall,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--photos", type=int, default=40)
    ap.add_argument("--docs", type=int, default=40)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    print(f"load average before: {load_average()}")
    os.environ["SAPA_UPLOADS_PER_MINUTE"] = "0"
    os.environ["SAPA_FAQ_MODEL"] = "off"
    with temp_dir() as tmp:
        seed = seed_database(str(tmp / "bench.db"), 1)
        with running_server(seed.db_path, tmp / "server.log") as server:
            got = asyncio.run(run(server.url, seed.site_key, server.process.pid, args))  # type: ignore[union-attr]
    print(
        f"photos (12 MP JPEG, {got['photo_kib']:.0f} KiB, {args.concurrency} at a time): "
        f"{got['photos_per_s']:.1f} uploads/s, server CPU {got['cpu_ms_per_photo']:.0f} ms/photo"
    )
    print(
        f"PDFs (1 MB, {args.concurrency} at a time): {got['docs_per_s']:.1f} uploads/s, "
        f"server CPU {got['cpu_ms_per_doc']:.1f} ms/upload"
    )
    print(
        f"20 x 10 MB at once: {got['big_wall_s']:.1f} s, server RSS before them "
        f"{got['idle_mib']:.0f} MiB (at start {got['fresh_mib']:.0f} MiB), "
        f"peak during them {got['peak_mib']:.0f} MiB"
    )
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
