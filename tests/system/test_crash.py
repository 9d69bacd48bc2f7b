"""SIGKILL a running `sapa serve` while shoppers send: nothing acknowledged is lost or doubled."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import websockets

from tests.conftest import ServerProcess, start_server, timeout
from tests.scale.test_pg_hosts import query
from tests.server.test_search_batches import sqlite_index_is_true

ORIGIN = "http://127.0.0.1"


def cli(db: Path | str, *args: str, stdin: str | None = None) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "chat_server", *args, "--db", str(db), "--json"],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


async def shopper(
    server: ServerProcess,
    site_key: str,
    name: str,
    acked: dict[str, int],
    stop: asyncio.Event,
    enough: asyncio.Event,
) -> str:
    """Send until the server dies; remember the client_msg_id of every ack."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        session = (
            await http.post(
                "/api/widget/session", json={"site_key": site_key}, headers={"origin": ORIGIN}
            )
        ).json()
    i = 0
    try:
        async with websockets.connect(
            server.url.replace("http", "ws") + "/ws/widget", origin=ORIGIN
        ) as ws:  # type: ignore[arg-type]
            await ws.send(json.dumps({"type": "hello", "token": session["token"]}))
            while not stop.is_set():
                cid = f"{name}-{i}"
                await ws.send(
                    json.dumps(
                        {"type": "send", "ref": cid, "client_msg_id": cid, "body": f"{name} {i}"}
                    )
                )
                while True:
                    frame = json.loads(await ws.recv())
                    if frame.get("ref") == cid and frame["type"] == "ack":
                        acked[cid] = frame["message"]["seq"]
                        if len(acked) >= 200:
                            enough.set()
                        break
                i += 1
    except (websockets.ConnectionClosed, OSError):
        pass
    return session["token"]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the server keeps its data: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "crash.db")
    return str(request.getfixturevalue("pg_server").create_database("crash"))


def stored_counts(db: str) -> dict[str, int]:
    """client_msg_id -> how many rows hold it, read from the database itself."""
    sql = "SELECT client_msg_id, count(*) AS n FROM messages GROUP BY client_msg_id"
    if db.startswith("postgresql://"):
        return {row["client_msg_id"]: row["n"] for row in query(db, sql)}
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute(sql).fetchall())
    finally:
        conn.close()


async def test_every_acknowledged_message_survives_sigkill_exactly_once(database: str) -> None:
    db = database
    site = cli(db, "site", "create", "Crash Shop", "--domain", "127.0.0.1")
    server = start_server(db)
    acked: dict[str, int] = {}
    stop, enough = asyncio.Event(), asyncio.Event()
    tasks = [
        asyncio.create_task(shopper(server, site["site_key"], f"s{n}", acked, stop, enough))
        for n in range(4)
    ]
    try:
        await asyncio.wait_for(enough.wait(), timeout(30))
    finally:
        server.stop(kill=True)  # SIGKILL: no shutdown handlers, no final commit
    stop.set()
    tokens = await asyncio.wait_for(asyncio.gather(*tasks), timeout(10))
    assert len(acked) >= 200

    stored = stored_counts(db)
    missing = [cid for cid in acked if cid not in stored]
    assert missing == []
    assert all(count == 1 for count in stored.values())

    # After a restart the same data serves, and resending an acked message stores nothing new.
    restarted = start_server(db)
    try:
        async with websockets.connect(
            restarted.url.replace("http", "ws") + "/ws/widget", origin=ORIGIN
        ) as ws:  # type: ignore[arg-type]
            await ws.send(json.dumps({"type": "hello", "token": tokens[0]}))
            welcome = json.loads(await ws.recv())
            room_id = welcome["rooms"][0]["id"]
            first = next(cid for cid in acked if cid.startswith("s0-"))
            await ws.send(
                json.dumps({"type": "send", "ref": "again", "client_msg_id": first, "body": "dup"})
            )
            ack = json.loads(await ws.recv())
            while ack.get("ref") != "again":
                ack = json.loads(await ws.recv())
            assert ack["duplicate"] is True and ack["message"]["seq"] == acked[first]
            await ws.send(
                json.dumps(
                    {"type": "sync", "ref": "s", "room_id": room_id, "after_seq": 0, "limit": 200}
                )
            )
            synced = json.loads(await ws.recv())
            while synced.get("ref") != "s":
                synced = json.loads(await ws.recv())
            seqs = [m["seq"] for m in synced["messages"]]
            assert seqs == list(range(1, len(seqs) + 1))
    finally:
        restarted.stop()
    if not db.startswith("postgresql://"):
        # The killed server fed the search index at most every quarter second: what it
        # committed since, the store fed when it opened again. The index holds every message.
        sqlite_index_is_true(db)
