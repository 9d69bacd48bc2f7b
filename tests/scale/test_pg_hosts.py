"""Two hosts on one PostgreSQL and one Redis behave like one server.

Two `sapa serve` processes listen on two loopback addresses (127.0.0.1 and 127.0.0.2, as two
hosts would on two machines); they share nothing but the PostgreSQL database and the Redis
bus. The database is the ground truth every client's view is compared with.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.conftest import ServerProcess, start_server, timeout
from tests.pg_server import PgServer
from tests.scale.conftest import Node
from tests.scale.redis_server import RedisServer
from tests.server.conftest import SiteFixture, WsClient, seed

HOSTS = ("127.0.0.1", "127.0.0.2")


def query(db_url: str, sql: str, *params: Any) -> list[dict[str, Any]]:
    """Read PostgreSQL directly: the ground truth every client must match."""
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


@dataclass
class TwoHosts:
    db_url: str
    redis: RedisServer
    servers: list[ServerProcess]
    sites: dict[str, SiteFixture]

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        return query(self.db_url, sql, *params)


@pytest.fixture(scope="module")
def two_hosts(pg_server: PgServer, request: pytest.FixtureRequest) -> Iterator[TwoHosts]:
    # One database per module that uses the fixture (tests/scale/test_routing.py does too).
    db_url = pg_server.create_database("two_hosts_" + request.module.__name__.rsplit(".", 1)[-1])
    sites = asyncio.run(seed(db_url))
    redis = RedisServer()
    redis.start()
    try:
        with ThreadPoolExecutor(len(HOSTS)) as pool:
            servers = list(
                pool.map(lambda h: start_server(db_url, "--redis", redis.url, host=h), HOSTS)
            )
    except BaseException:
        redis.stop()
        raise
    yield TwoHosts(db_url, redis, servers, sites)
    with ThreadPoolExecutor(len(servers)) as pool:
        list(pool.map(lambda server: server.stop(), servers))
    redis.stop()


@pytest.fixture
async def nodes(two_hosts: TwoHosts) -> Any:
    out = [Node(server, two_hosts.sites) for server in two_hosts.servers]
    try:
        deadline = asyncio.get_running_loop().time() + timeout(15)
        while [(await node.ready()).get("bus") for node in out] != ["ok", "ok"]:
            assert asyncio.get_running_loop().time() < deadline, "the bus never came up"
            await asyncio.sleep(0.05)
        yield out
    finally:
        for node in out:
            await node.close()


@dataclass
class Peer:
    """A client that records what it was acked and what it was sent, message by message."""

    name: str
    ws: WsClient
    acked: list[dict[str, Any]] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # message id -> message

    def view(self) -> dict[str, dict[int, tuple[str, str]]]:
        """room -> seq -> (id, body): everything this client has been told about."""
        out: dict[str, dict[int, tuple[str, str]]] = {}
        for message in [*self.acked, *self.events.values()]:
            out.setdefault(message["room_id"], {})[message["seq"]] = (
                message["id"],
                message["body"],
            )
        return out

    def take(self, frame: dict[str, Any]) -> None:
        if frame.get("type") != "message":
            return
        message = frame["message"]
        assert message["id"] not in self.events, f"{self.name} got {message['id']} twice"
        self.events[message["id"]] = message

    async def pump(self, frames: list[dict[str, Any]], per_second: float) -> None:
        """Send on a fixed schedule (the per-socket frame limits allow bursts, not floods);
        the acks are collected as they come."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        refs = []
        for k, frame in enumerate(frames):
            delay = start + k / per_second - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            refs.append(frame["ref"])
            await self.ws.ws.send(json.dumps({"type": "send", **frame}))
        for ref in refs:
            ack = await self.ws.event("ack", wait=20, ref=ref)
            self.acked.append(ack["message"])

    async def catch_up(self, want: dict[str, dict[int, tuple[str, str]]]) -> None:
        """Read events until this client's view is `want`, or fail at the deadline."""
        for frame in self.ws.pending:
            self.take(frame)
        self.ws.pending = []
        deadline = asyncio.get_running_loop().time() + timeout(20)
        while self.view() != want:
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, f"{self.name} never caught up: {_difference(self.view(), want)}"
            try:
                self.take(await self.ws._recv(left))
            except TimeoutError:
                continue


def _difference(
    got: dict[str, dict[int, tuple[str, str]]], want: dict[str, dict[int, tuple[str, str]]]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for room in set(got) | set(want):
        g, w = got.get(room, {}), want.get(room, {})
        missing = sorted(set(w) - set(g))
        extra = sorted(set(g) - set(w))
        wrong = sorted(s for s in set(g) & set(w) if g[s] != w[s])
        if missing or extra or wrong:
            out[room] = {"missing": missing[:10], "extra": extra[:10], "wrong": wrong[:10]}
    return out


def database_view(db_url: str, rooms: list[str], notes: bool) -> dict[str, Any]:
    """room -> seq -> (id, body) as stored: what every client must end up having seen."""
    out: dict[str, dict[int, tuple[str, str]]] = {}
    for room_id in rooms:
        rows = query(
            db_url,
            "SELECT seq, id, body, kind FROM messages WHERE room_id = %s ORDER BY seq",
            room_id,
        )
        out[room_id] = {
            r["seq"]: (r["id"], r["body"]) for r in rows if notes or r["kind"] != "note"
        }
    return out


async def test_four_widgets_and_two_agents_on_two_hosts_exchange_a_thousand_messages(
    two_hosts: TwoHosts, nodes: list[Node]
) -> None:
    """Widgets 0 and 2 on host A, 1 and 3 on host B; the agent on A, the owner on B.

    Each shopper sends 100 messages; the agent on the other host answers at the same time
    (150 per room), so each room's seq is taken by writers on both hosts concurrently.
    """
    a, b = nodes
    site = two_hosts.sites["a"]
    staff = [
        Peer("agent@A", (await a.agent(await a.agent_cookie(site.agent_email)))[0]),
        Peer("owner@B", (await b.agent(await b.agent_cookie(site.owner_email)))[0]),
    ]
    shoppers = []
    for i, node in enumerate((a, b, a, b)):
        shoppers.append(
            Peer(f"w{i}@{'AB'[i % 2]}", (await node.widget(await node.widget_token()))[0])
        )

    # The first message of each shopper opens its room; then everybody talks at once.
    rooms = []
    for i, shopper in enumerate(shoppers):
        await shopper.pump([{"ref": "open", "client_msg_id": f"w{i}-0", "body": f"w{i}-0"}], 1)
        rooms.append(shopper.acked[0]["room_id"])

    def shopper_frames(i: int) -> list[dict[str, Any]]:
        return [
            {"ref": f"w{i}-{k}", "client_msg_id": f"w{i}-{k}", "body": f"w{i}-{k}"}
            for k in range(1, 100)
        ]

    def staff_frames(j: int) -> list[dict[str, Any]]:
        return [
            {
                "ref": f"s{j}-{r}-{k}",
                "room_id": room_id,
                "client_msg_id": f"s{j}-{r}-{k}",
                "body": f"s{j}-{r}-{k}",
            }
            for k in range(150)
            for r, room_id in enumerate(rooms)
            if r % 2 != j  # the agent on A answers the shoppers on B, and the other way round
        ]

    # 25 frames/s per widget and 75 per agent stay inside the burst allowance of the
    # per-socket limits for the 4 seconds the exchange takes.
    await asyncio.gather(
        *(s.pump(shopper_frames(i), 25) for i, s in enumerate(shoppers)),
        *(s.pump(staff_frames(j), 75) for j, s in enumerate(staff)),
    )
    sent = 4 * 100 + 2 * 2 * 150
    assert sent == 1000
    everyone = [*shoppers, *staff]
    assert sum(len(p.acked) for p in everyone) == sent

    # Stored once each, where the ack said; seqs contiguous from 1 and counted by the room.
    marks = ",".join(["%s"] * len(rooms))
    stored = two_hosts.rows(
        f"SELECT id, room_id, seq, client_msg_id, body, kind FROM messages"
        f" WHERE room_id IN ({marks}) ORDER BY room_id, seq",
        *rooms,
    )
    by_client_id: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in stored:
        if row["client_msg_id"] is not None:
            by_client_id.setdefault((row["room_id"], row["client_msg_id"]), []).append(row)
    assert len(by_client_id) == sent
    for peer in everyone:
        for message in peer.acked:
            (row,) = by_client_id[(message["room_id"], message["client_msg_id"])]
            assert (row["id"], row["seq"], row["body"]) == (
                message["id"],
                message["seq"],
                message["body"],
            )
    last_seq = {
        r["id"]: r["last_seq"]
        for r in two_hosts.rows(f"SELECT id, last_seq FROM rooms WHERE id IN ({marks})", *rooms)
    }
    for room_id in rooms:
        seqs = [r["seq"] for r in stored if r["room_id"] == room_id]
        assert seqs == list(range(1, len(seqs) + 1)), room_id
        assert last_seq[room_id] == len(seqs)

    # In order: each sender's messages hold seqs in the order they were sent.
    for peer in everyone:
        for room_id in rooms:
            seqs = [m["seq"] for m in peer.acked if m["room_id"] == room_id]
            assert seqs == sorted(seqs), (peer.name, room_id)

    # Every client saw exactly what the database holds: shoppers their room, staff all four.
    views = database_view(two_hosts.db_url, rooms, notes=True)
    await asyncio.gather(
        *(
            s.catch_up({room_id: views[room_id]})
            for s, room_id in zip(shoppers, rooms, strict=True)
        ),
        *(s.catch_up(views) for s in staff),
    )
    for peer in everyone:
        for frame in await peer.ws.drain(0.2):
            peer.take(frame)  # a late duplicate fails here
    for peer in everyone:
        await peer.ws.close()


async def test_first_messages_at_once_on_both_hosts_make_one_room(
    two_hosts: TwoHosts, nodes: list[Node]
) -> None:
    a, b = nodes
    for attempt in range(5):
        token = await a.widget_token()
        on_a, _ = await a.widget(token)
        on_b, _ = await b.widget(token)
        acks = await asyncio.gather(
            on_a.request("send", client_msg_id=f"x{attempt}-a", body="from host A"),
            on_b.request("send", client_msg_id=f"x{attempt}-b", body="from host B"),
        )
        assert all(ack["type"] == "ack" for ack in acks), acks
        room_ids = {ack["message"]["room_id"] for ack in acks}
        assert len(room_ids) == 1
        customer_id = acks[0]["message"]["author"]["id"]
        rooms = two_hosts.rows(
            "SELECT id FROM rooms WHERE customer_id = %s AND kind = 'private'", customer_id
        )
        assert [r["id"] for r in rooms] == list(room_ids)
        stored = two_hosts.rows(
            "SELECT seq, body FROM messages WHERE room_id = %s AND author_kind = 'customer'"
            " ORDER BY seq",
            rooms[0]["id"],
        )
        assert sorted(r["body"] for r in stored) == ["from host A", "from host B"]
        assert sorted(r["seq"] for r in stored) == sorted(a["message"]["seq"] for a in acks)
        # Each tab sees the other's message: same customer, other host.
        await on_a.event("message", where=lambda f: f["message"]["body"] == "from host B")
        await on_b.event("message", where=lambda f: f["message"]["body"] == "from host A")
        await on_a.close()
        await on_b.close()
