"""Server CPU per shopper message with the FAQ model on and off, and what load does to it.

    python bench/faq_server_cpu.py                 # 150 dev messages, model auto then off
    python bench/faq_server_cpu.py --messages 60 --burst 40

A real server process on the Toko Contoh FAQ (60 entries, /work/shared/faq-eval).
One shopper sends dev.jsonl messages one at a time; each counts once the agent's
`suggestions` event for it has arrived (the FAQ work is then done). The server
process's CPU (all threads, user + system) over the run is divided by the messages.
Then `--burst` shoppers each send one message at the same moment: the worker ranks
a couple with the model and the rest on words alone (sapa_faq_semantic_skipped_total).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import psutil
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    WIDGET_ORIGIN,
    copy_database,
    cpu_snapshot,
    load_average,
    rss_bytes,
    running_server,
    seed_database,
    server_counters,
    temp_dir,
)

DATA = Path("/work/shared/faq-eval")


async def _widget(url: str, site_key: str, http: httpx.AsyncClient) -> Any:
    session = await http.post(
        "/api/widget/session", json={"site_key": site_key}, headers={"origin": WIDGET_ORIGIN}
    )
    ws = await websockets.connect(url.replace("http", "ws") + "/ws/widget", origin=WIDGET_ORIGIN)  # type: ignore[arg-type]
    await ws.send(json.dumps({"type": "hello", "token": session.json()["token"]}))
    while json.loads(await ws.recv()).get("type") != "welcome":
        pass
    return ws


async def _send(ws: Any, ref: str, body: str) -> str:
    await ws.send(json.dumps({"type": "send", "ref": ref, "client_msg_id": ref, "body": body}))
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("ref") == ref:
            if frame.get("type") != "ack":
                raise RuntimeError(f"send refused: {frame}")
            return str(frame["message"]["id"])


async def _wait_suggestions(agent: Any, wanted: set[str]) -> None:
    while wanted:
        frame = json.loads(await agent.recv())
        if frame.get("type") == "suggestions":
            wanted.discard(frame["for_message_id"])


async def run(
    url: str, site_key: str, email: str, password: str, args: argparse.Namespace
) -> dict[str, float]:
    faq = json.loads((DATA / "faq.json").read_text(encoding="utf-8"))
    lines = [json.loads(t)["q"] for t in (DATA / "dev.jsonl").read_text().splitlines() if t.strip()]
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        login = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
        cookie = login.cookies["sapa_session"]
        headers = {"cookie": f"sapa_session={cookie}", "x-csrf-token": login.json()["csrf_token"]}
        http.cookies.clear()
        for e in faq:
            fields = {k: e[k] for k in ("question", "answer", "category", "lang") if k in e}
            r = await http.post(
                "/api/v1/faq", json={**fields, "tags": e.get("tags", [])}, headers=headers
            )
            assert r.status_code == 201, r.text
        agent = await websockets.connect(
            url.replace("http", "ws") + "/ws/agent",
            origin=url,
            additional_headers={"Cookie": f"sapa_session={cookie}"},
        )
        await agent.send(json.dumps({"type": "hello"}))
        while json.loads(await agent.recv()).get("type") != "welcome":
            pass
        shopper = await _widget(url, site_key, http)
        # Warm-up: the engine is built (entries embedded) before the clock starts.
        await _wait_suggestions(agent, {await _send(shopper, "warm", "halo, ongkir berapa?")})
        proc = psutil.Process(args.pid)
        before = cpu_snapshot(proc)
        opened = []
        for i, body in enumerate(lines[: args.messages]):
            if i % 50 == 49:  # a shopper's socket may send only so many frames a minute
                opened.append(shopper)
                shopper = await _widget(url, site_key, http)
            await _wait_suggestions(agent, {await _send(shopper, f"m{i}", body)})
        used = cpu_snapshot(proc).minus(before)
        rss = rss_bytes(proc)
        n = min(args.messages, len(lines))
        shoppers = [await _widget(url, site_key, http) for _ in range(args.burst)]
        ids = await asyncio.gather(
            *(_send(ws, "b", lines[i % len(lines)]) for i, ws in enumerate(shoppers))
        )
        await _wait_suggestions(agent, set(ids))
        for ws in (*shoppers, *opened, shopper, agent):
            await ws.close()
    return {
        "cpu_ms_per_message": used.total * 1000 / n,
        "wall_ms_per_message": used.wall * 1000 / n,
        "main_thread_ms_per_message": used.main_thread * 1000 / n,
        "messages": n,
        "rss_mib": rss / 2**20,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--messages", type=int, default=150)
    ap.add_argument("--burst", type=int, default=30)
    args = ap.parse_args()
    print(f"load average before: {load_average()}")
    with temp_dir() as tmp:
        seed = seed_database(str(tmp / "seed.db"), 1)
        for setting in ("auto", "off"):
            os.environ["SAPA_FAQ_MODEL"] = setting
            db = copy_database(seed, str(tmp / f"{setting}.db"))
            with running_server(db.db_path, tmp / f"{setting}.log") as server:
                args.pid = server.process.pid  # type: ignore[union-attr]
                got = asyncio.run(
                    run(server.url, db.site_key, db.agent_emails[0], db.password, args)
                )
                counters = server_counters(server.url)
            sem = counters.get("sapa_faq_semantic_total", 0.0)
            skipped = counters.get("sapa_faq_semantic_skipped_total", 0.0)
            model_cpu = counters.get("sapa_faq_semantic_cpu_seconds_total", 0.0)
            print(
                f"SAPA_FAQ_MODEL={setting}: {got['messages']:.0f} messages one at a time: "
                f"server CPU {got['cpu_ms_per_message']:.1f} ms/message "
                f"(event-loop thread {got['main_thread_ms_per_message']:.1f} ms), "
                f"wall {got['wall_ms_per_message']:.1f} ms/message, RSS {got['rss_mib']:.0f} MiB"
            )
            print(
                f"   model: {sem:.0f} messages embedded, {skipped:.0f} skipped "
                f"(burst of {args.burst} shoppers at once), "
                f"embedding CPU {model_cpu * 1000 / max(sem, 1):.1f} ms/message"
            )
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
