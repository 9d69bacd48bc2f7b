"""Redis dies mid-conversation and comes back: nobody stops chatting, nothing acked is lost.

While Redis is away each process keeps serving its own clients (acks and local
delivery go on; cross-process events wait in each process's backlog). When it
is back, the late events arrive live; a client is closed with 1012 (reconnect
and sync) only where something was lost for it, and never twice. Either way
every client ends up seeing exactly what the database holds.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed

from tests.conftest import timeout
from tests.scale.conftest import Cluster, Node
from tests.server.conftest import WsClient


@dataclass
class Client:
    """A protocol client that remembers what it saw, as the widget and the console do."""

    node: Node
    kind: str  # "widget" or "agent"
    credential: str  # widget token or session cookie
    ws: WsClient | None = None
    rooms: dict[str, dict[int, tuple[str, str]]] = field(default_factory=dict)

    async def connect(self) -> None:
        if self.kind == "widget":
            self.ws, _ = await self.node.widget(self.credential)
        else:
            self.ws, _ = await self.node.agent(self.credential)

    def keep(self, message: dict[str, Any]) -> None:
        room = self.rooms.setdefault(message["room_id"], {})
        room[message["seq"]] = (message["id"], message["body"])

    async def send(self, body: str, room_id: str | None = None) -> dict[str, Any]:
        assert self.ws is not None
        extra = {"room_id": room_id} if room_id else {}
        ack = await self.ws.request("send", client_msg_id=body, body=body, **extra)
        assert ack["type"] == "ack", ack
        self.keep(ack["message"])
        return dict(ack["message"])

    async def expect(self, body: str) -> None:
        assert self.ws is not None
        frame = await self.ws.event("message", where=lambda f: f["message"]["body"] == body)
        self.keep(frame["message"])

    async def absorb(self) -> None:
        """Fold every message event received so far (and for a moment more) into the view."""
        assert self.ws is not None
        for frame in await self.ws.drain(0.2):
            if frame.get("type") == "message":
                self.keep(frame["message"])

    async def closed_code(self) -> int:
        assert self.ws is not None
        try:
            while True:
                frame = await self.ws._recv(15)
                if frame.get("type") == "message":
                    self.keep(frame["message"])
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "the server did not close the socket"
            return closed.rcvd.code

    async def settle(self, quiet: float = 2.0) -> int:
        """Take late events for a while; on a 1012 reconnect and sync. Returns the closes seen."""
        assert self.ws is not None
        closes = 0
        deadline = asyncio.get_running_loop().time() + timeout(quiet)
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                frame = await self.ws._recv(left)
            except TimeoutError:
                break
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1012, closed
                closes += 1
                await self.connect()
                await self.resync()
                continue
            if frame.get("type") == "message":
                self.keep(frame["message"])
        return closes

    async def resync(self) -> None:
        """What the widget and console do after any reconnect: `sync` after the last seq seen."""
        assert self.ws is not None
        for room_id, seen in self.rooms.items():
            after = max(seen, default=0)
            while True:
                ack = await self.ws.request("sync", room_id=room_id, after_seq=after, limit=50)
                for message in ack["messages"]:
                    self.keep(message)
                    after = message["seq"]
                if not ack["has_more"]:
                    break


def database_view(cluster: Cluster, room_id: str, notes: bool) -> dict[int, tuple[str, str]]:
    rows = cluster.query(
        "SELECT seq, id, body, kind FROM messages WHERE room_id = ? ORDER BY seq", (room_id,)
    )
    return {r["seq"]: (r["id"], r["body"]) for r in rows if notes or r["kind"] != "note"}


async def test_redis_dies_and_returns_mid_conversation(cluster: Cluster) -> None:
    a, b = cluster.nodes
    site = cluster.sites["a"]
    shopper_a = Client(a, "widget", await a.widget_token())
    shopper_b = Client(b, "widget", await b.widget_token())
    agent_a = Client(a, "agent", await a.agent_cookie(site.agent_email))
    owner_b = Client(b, "agent", await b.agent_cookie(site.owner_email))
    everyone = [shopper_a, shopper_b, agent_a, owner_b]
    for client in everyone:
        await client.connect()

    room_a = (await shopper_a.send("a: before"))["room_id"]
    room_b = (await shopper_b.send("b: before"))["room_id"]
    for staff in (agent_a, owner_b):
        await staff.expect("a: before")
        await staff.expect("b: before")

    cluster.redis.kill()
    await cluster.wait_bus("degraded")

    # Each process keeps serving its own clients: stored, acked, delivered locally.
    for k in range(3):
        await shopper_a.send(f"a: during {k}")
        await shopper_b.send(f"b: during {k}")
    await agent_a.expect("a: during 2")
    await owner_b.expect("b: during 2")
    await agent_a.send("agent A: still here", room_a)
    await owner_b.send("owner B: still here", room_b)
    await owner_b.send("owner B: a note", room_b)
    await shopper_a.expect("agent A: still here")
    await shopper_b.expect("owner B: still here")
    for client in everyone:
        await client.absorb()
    # What crossed no process boundary is missing for now: that is what the resync repairs.
    assert not any(body == "b: during 0" for _, body in agent_a.rooms.get(room_b, {}).values())
    for node in (a, b):
        metrics = await node.metrics()
        assert metrics["sapa_redis_up"] == 0
        assert metrics["sapa_bus_dropped_total"] == 0

    cluster.redis.start()
    await cluster.wait_bus("ok")
    closes = await asyncio.gather(*(client.settle() for client in everyone))
    # Asked to reconnect at most once per outage (usually never: the backlogs are replayed).
    assert all(n <= 1 for n in closes), closes
    for shopper, room_id in ((shopper_a, room_a), (shopper_b, room_b)):
        assert shopper.rooms == {room_id: database_view(cluster, room_id, notes=False)}
    for staff in (agent_a, owner_b):
        assert staff.rooms == {
            room_a: database_view(cluster, room_a, notes=True),
            room_b: database_view(cluster, room_b, notes=True),
        }

    # And the processes talk to each other again.
    await shopper_a.send("a: after")
    await owner_b.expect("a: after")
    for node in (a, b):
        metrics = await node.metrics()
        assert metrics["sapa_redis_up"] == 1
        assert metrics["sapa_bus_replayed_total"] >= 1
    for client in everyone:
        assert client.ws is not None
        await client.ws.close()
