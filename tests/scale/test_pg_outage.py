"""PostgreSQL stops for 5 s mid-conversation and starts again.

Meanwhile every `send` is answered, within a deadline, with an `unavailable` error (never an
ack: nothing was committed), the server keeps running and /readyz says it is not ready.
The clients do what the widget and the console do on `unavailable`: send the same
`client_msg_id` again a little later. Once PostgreSQL is back, the server reconnects by
itself, the retries are acknowledged and the conversation goes on on the same sockets;
nothing acknowledged is lost and every client's view equals the database.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess, start_server, timeout
from tests.pg_server import PgServer
from tests.scale.conftest import Node
from tests.scale.test_pg_hosts import Peer, database_view, query
from tests.server.conftest import SiteFixture, seed

OUTAGE_SECONDS = 5.0
RETRY_SECONDS = 0.5  # the widget waits 3 s; the same, sooner


@dataclass
class Talker:
    """Sends one message at a time, each until it is acknowledged."""

    peer: Peer
    room_ids: list[str]
    errors: list[tuple[float, str]] = field(default_factory=list)  # (when, code)
    slowest: float = 0.0  # the longest wait for any answer, ack or error
    _count: itertools.count[int] = field(default_factory=itertools.count)

    async def say(self, room_id: str | None) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        body = f"{self.peer.name} {next(self._count)}"
        extra = {"room_id": room_id} if room_id else {}
        while True:
            asked = loop.time()
            # Never a hang: every answer comes within the deadline, ack or error.
            frame = await self.peer.ws.request(
                "send", wait=15, client_msg_id=body, body=body, **extra
            )
            self.slowest = max(self.slowest, loop.time() - asked)
            if frame["type"] == "ack":
                self.peer.acked.append(frame["message"])
                return dict(frame["message"])
            assert frame["type"] == "error", frame
            assert frame["code"] == "unavailable", frame
            self.errors.append((loop.time(), frame["code"]))
            await asyncio.sleep(RETRY_SECONDS)

    async def talk(self, stop: asyncio.Event) -> None:
        rooms = itertools.cycle(self.room_ids or [None])  # type: ignore[list-item]
        while not stop.is_set():
            await self.say(next(rooms))
            await asyncio.sleep(0.1)  # a brisk conversation, inside the per-socket limits


@pytest.fixture
def outage_server(
    pg_server: PgServer,
) -> Iterator[tuple[ServerProcess, dict[str, SiteFixture], str]]:
    db_url = pg_server.create_database("outage")
    sites = asyncio.run(seed(db_url))
    server = start_server(db_url)
    try:
        yield server, sites, db_url
    finally:
        server.stop()
        if not (pg_server.data / "postmaster.pid").exists():
            pg_server.start()  # the next test finds PostgreSQL up whatever happened here


async def _ready_states(
    node: Node, into: list[tuple[float, int, str]], stop: asyncio.Event
) -> None:
    """Sample /readyz until stopped (each answer, or the lack of one, is recorded)."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            response = await node.http.get("/readyz", timeout=timeout(10))
            into.append((loop.time(), response.status_code, response.json()["database"]))
        except httpx.HTTPError as exc:  # a hang past the deadline is a failure below
            into.append((loop.time(), 0, repr(exc)))
        await asyncio.sleep(0.1)


async def test_postgresql_stopped_for_five_seconds_mid_conversation(
    pg_server: PgServer, outage_server: tuple[ServerProcess, dict[str, SiteFixture], str]
) -> None:
    server, sites, db_url = outage_server
    node = Node(server, sites)
    site = sites["a"]
    loop = asyncio.get_running_loop()
    try:
        shoppers = [
            Peer(f"shopper{i}", (await node.widget(await node.widget_token()))[0]) for i in range(2)
        ]
        agent = Peer("agent", (await node.agent(await node.agent_cookie(site.agent_email)))[0])
        talkers = [Talker(s, []) for s in shoppers]
        rooms = [(await t.say(None))["room_id"] for t in talkers]
        talkers.append(Talker(agent, rooms))

        stop, readyz_stop = asyncio.Event(), asyncio.Event()
        readiness: list[tuple[float, int, str]] = []
        watcher = asyncio.create_task(_ready_states(node, readiness, readyz_stop))
        chatting = [asyncio.create_task(t.talk(stop)) for t in talkers]
        await _until(lambda: all(len(t.peer.acked) >= 5 for t in talkers), "a warm conversation")

        await asyncio.to_thread(pg_server.stop)
        stopped = loop.time()
        await asyncio.sleep(OUTAGE_SECONDS)  # the outage itself: the clients keep sending
        # PostgreSQL accepts connections before `pg_ctl start` returns, and the read pools
        # reconnect at once: the outage ends when the start begins.
        restarting = loop.time()
        await asyncio.to_thread(pg_server.start)
        assert server.process.poll() is None, "the server died with its database"

        # Back by itself: every talker gets acks again, on the same sockets.
        acked_at_start = [len(t.peer.acked) for t in talkers]
        await _until(
            lambda: all(
                len(t.peer.acked) >= n + 5 for t, n in zip(talkers, acked_at_start, strict=True)
            ),
            "acks after PostgreSQL came back",
            wait=30,
        )
        stop.set()
        await asyncio.wait_for(asyncio.gather(*chatting), timeout(20))
        await _until(lambda: bool(readiness) and readiness[-1][1] == 200, "/readyz ready again")
        readyz_stop.set()
        await watcher

        for t in talkers:
            assert [code for when, code in t.errors if stopped <= when] != [], t.peer.name
            assert t.slowest < timeout(15)
        # Every answer while it was surely down says "not ready", and there was one: a probe
        # waits for the pool up to 5 s, so the one that spans the outage may be answered
        # just after the restart began.
        during = [(status, db) for when, status, db in readiness if stopped + 1 < when < restarting]
        assert all(status == 503 and db != "ok" for status, db in during), during
        told = [(when - stopped, status) for when, status, db in readiness if when > stopped + 1]
        assert any(status == 503 for _, status in told), told

        # Nothing acknowledged is lost or doubled, and seqs have no gap.
        everyone = [*shoppers, agent]
        for peer in everyone:
            for message in peer.acked:
                (row,) = query(
                    db_url,
                    "SELECT id, seq FROM messages WHERE room_id = %s AND client_msg_id = %s",
                    message["room_id"],
                    message["client_msg_id"],
                )
                assert (row["id"], row["seq"]) == (message["id"], message["seq"])
        views = database_view(db_url, rooms, notes=True)
        for room_id in rooms:
            assert list(views[room_id]) == list(range(1, len(views[room_id]) + 1))
        await asyncio.gather(
            *(s.catch_up({r: views[r]}) for s, r in zip(shoppers, rooms, strict=True)),
            agent.catch_up(views),
        )
    finally:
        await node.close()


async def _until(condition: Any, what: str, wait: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout(wait)
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"no {what} in time"
        await asyncio.sleep(0.05)
