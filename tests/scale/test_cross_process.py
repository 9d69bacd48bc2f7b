"""Two `sapa serve` processes joined by Redis behave like one server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.scale.conftest import Cluster, Node
from tests.server.conftest import WsClient


def _from(kind: str, body: str | None = None) -> Any:
    def fits(frame: dict[str, Any]) -> bool:
        message = frame["message"]
        return bool(message["author"]["kind"] == kind and body in (None, message["body"]))

    return fits


async def _conversation(widget_node: Node, agent_node: Node, tag: str) -> None:
    site = widget_node.sites["a"]
    agent, _ = await agent_node.agent(await agent_node.agent_cookie(site.agent_email))
    widget, _ = await widget_node.widget(await widget_node.widget_token())

    ack = await widget.request("send", client_msg_id=f"{tag}-1", body=f"hello from {tag}")
    assert ack["type"] == "ack", ack
    room_id = ack["message"]["room_id"]
    seen = await agent.event("message", where=_from("customer", f"hello from {tag}"))
    assert seen["message"]["id"] == ack["message"]["id"]

    reply = await agent.request("send", room_id=room_id, client_msg_id=f"{tag}-r", body="hi!")
    assert reply["type"] == "ack", reply
    got = await widget.event("message", where=_from("agent", "hi!"))
    assert got["message"]["seq"] == reply["message"]["seq"]

    # Nothing arrives twice: the publisher's own process ignores its echo from Redis.
    for client, consumed in ((widget, got), (agent, seen)):
        frames = [consumed, *await client.drain(0.3)]
        ids = [f["message"]["id"] for f in frames if f["type"] == "message"]
        assert ids.count(ack["message"]["id"]) == 1, ids
        assert ids.count(reply["message"]["id"]) == 1, ids
    await widget.close()
    await agent.close()


async def test_widget_on_one_process_agent_on_the_other_both_ways(cluster: Cluster) -> None:
    a, b = cluster.nodes
    await _conversation(a, b, "ab")
    await _conversation(b, a, "ba")


async def test_presence_counts_agents_on_every_process(cluster: Cluster) -> None:
    a, b = cluster.nodes
    site = cluster.sites["a"]
    widget, welcome = await a.widget(await a.widget_token())
    assert welcome["agents_online"] == 0

    agent, agent_welcome = await b.agent(await b.agent_cookie(site.agent_email))
    assert agent_welcome["agents_online"] == 1
    assert (await widget.event("presence", agents_online=1))["agents_online"] == 1
    # A fresh widget session on the process without agents counts the agent of the other one.
    session = await a.http.post(
        "/api/widget/session",
        json={"site_key": site.creds.site_key},
        headers={"origin": site.origin},
    )
    assert session.json()["config"]["agents_online"] == 1
    owner, owner_welcome = await a.agent(await a.agent_cookie(site.owner_email))
    assert owner_welcome["agents_online"] == 2
    await widget.event("presence", agents_online=2)
    listing = await b.http.get(
        "/api/v1/agents", headers={"Authorization": f"Bearer {site.creds.api_token}"}
    )
    assert {a["id"]: a["online"] for a in listing.json()["items"]} == {
        site.agent_id: True,
        site.owner_id: True,
    }

    await agent.close()
    await widget.event("presence", agents_online=1)
    await owner.close()
    await widget.event("presence", agents_online=0)


async def test_a_thousand_messages_each_way_arrive_once_and_in_order(cluster: Cluster) -> None:
    """20 shoppers on A send 50 each; 10 agent sockets on B answer 50 per room."""
    a, b = cluster.nodes
    site = cluster.sites["a"]
    cookie = await b.agent_cookie(site.agent_email)
    watcher, _ = await b.agent(cookie)
    widgets = [
        (await a.widget(token))[0]
        for token in await asyncio.gather(*(a.widget_token() for _ in range(20)))
    ]

    async def shopper(i: int, widget: WsClient) -> str:
        # Pipelined, as a fast typist with a bad connection would: acks come back later.
        for k in range(50):
            frame = {
                "type": "send",
                "ref": f"s{k}",
                "client_msg_id": f"w{i}-{k}",
                "body": f"w{i}-{k}",
            }
            await widget.ws.send(json.dumps(frame))
        acks = [await widget.event("ack", wait=20, ref=f"s{k}") for k in range(50)]
        return str(acks[0]["message"]["room_id"])

    rooms = await asyncio.gather(*(shopper(i, w) for i, w in enumerate(widgets)))

    # The agent on B sees every customer message exactly once, in each room's order.
    per_room = await _collect(watcher, 1000, "customer")
    assert set(per_room) == set(rooms)
    for i, room_id in enumerate(rooms):
        assert [m["body"] for m in per_room[room_id]] == [f"w{i}-{k}" for k in range(50)]
        seqs = [m["seq"] for m in per_room[room_id]]
        assert seqs == sorted(set(seqs))

    agents = [(await b.agent(cookie))[0] for _ in range(10)]

    async def answer(j: int, agent: WsClient) -> None:
        for room_id in rooms[2 * j : 2 * j + 2]:
            for k in range(50):
                frame = {
                    "type": "send",
                    "ref": f"{room_id}-{k}",
                    "room_id": room_id,
                    "client_msg_id": f"{room_id}-a{k}",
                    "body": f"a-{k}",
                }
                await agent.ws.send(json.dumps(frame))
        for room_id in rooms[2 * j : 2 * j + 2]:
            for k in range(50):
                ack = await agent.event("ack", wait=20, ref=f"{room_id}-{k}")
                assert ack.get("message"), ack

    await asyncio.gather(*(answer(j, agent) for j, agent in enumerate(agents)))

    async def replies(widget: WsClient, room_id: str) -> None:
        got = (await _collect(widget, 50, "agent"))[room_id]
        assert [m["body"] for m in got] == [f"a-{k}" for k in range(50)]
        extra = [f for f in await widget.drain(0.2) if f["type"] == "message"]
        assert [f for f in extra if f["message"]["author"]["kind"] == "agent"] == []

    await asyncio.gather(*(replies(w, r) for w, r in zip(widgets, rooms, strict=True)))
    marks = ",".join("?" * len(rooms))
    stored = cluster.query(
        f"SELECT count(*) FROM messages WHERE room_id IN ({marks})"
        " AND author_kind IN ('customer', 'agent')",
        tuple(rooms),
    )
    assert stored[0][0] == 2000


async def _collect(client: WsClient, count: int, author: str) -> dict[str, list[dict[str, Any]]]:
    """`count` message events by `author`, grouped by room; a duplicate fails at once."""
    out: dict[str, list[dict[str, Any]]] = {}
    seen: set[str] = set()
    frames = client.pending
    client.pending = []
    while len(seen) < count:
        frame = frames.pop(0) if frames else await client._recv(20)
        if frame.get("type") != "message" or frame["message"]["author"]["kind"] != author:
            continue
        message = frame["message"]
        assert message["id"] not in seen, f"delivered twice: {message}"
        seen.add(message["id"])
        out.setdefault(message["room_id"], []).append(message)
    client.pending = frames
    return out


async def test_two_first_messages_on_two_processes_make_one_room(cluster: Cluster) -> None:
    a, b = cluster.nodes
    for attempt in range(5):
        token = await a.widget_token()
        on_a, _ = await a.widget(token)
        on_b, _ = await b.widget(token)
        acks = await asyncio.gather(
            on_a.request("send", client_msg_id=f"x{attempt}-a", body="from tab A"),
            on_b.request("send", client_msg_id=f"x{attempt}-b", body="from tab B"),
        )
        assert all(ack["type"] == "ack" for ack in acks), acks
        room_ids = {ack["message"]["room_id"] for ack in acks}
        assert len(room_ids) == 1
        customer_id = acks[0]["message"]["author"]["id"]
        rooms = cluster.query(
            "SELECT id FROM rooms WHERE customer_id = ? AND kind = 'private'", (customer_id,)
        )
        assert [r["id"] for r in rooms] == list(room_ids)
        bodies = cluster.query(
            "SELECT body FROM messages WHERE room_id = ? AND author_kind = 'customer'",
            (rooms[0]["id"],),
        )
        assert sorted(r["body"] for r in bodies) == ["from tab A", "from tab B"]
        # Each tab sees the other's message: same customer, other process.
        await on_a.event("message", where=_from("customer", "from tab B"))
        await on_b.event("message", where=_from("customer", "from tab A"))
        await on_a.close()
        await on_b.close()


async def test_metrics_count_what_crossed(cluster: Cluster) -> None:
    a, b = cluster.nodes
    before = await b.metrics()
    site = cluster.sites["a"]
    agent, _ = await b.agent(await b.agent_cookie(site.agent_email))
    widget, _ = await a.widget(await a.widget_token())
    await widget.request("send", client_msg_id="metrics-1", body="count me")
    await agent.event("message", where=_from("customer", "count me"))
    after = await b.metrics()
    assert after['sapa_connections{kind="agent"}'] >= 1
    assert after["sapa_bus_received_total"] > before["sapa_bus_received_total"]
    assert after["sapa_messages_delivered_total"] > before["sapa_messages_delivered_total"]
    assert after["sapa_bus_latency_seconds_count"] > before["sapa_bus_latency_seconds_count"]
    assert (
        after['sapa_bus_latency_seconds_bucket{le="+Inf"}']
        == after["sapa_bus_latency_seconds_count"]
    )
    assert after["sapa_redis_up"] == 1 and after["sapa_bus_healthy"] == 1
    sent = await a.metrics()
    assert sent["sapa_messages_stored_total"] >= 1 and sent["sapa_bus_published_total"] >= 1
    # The text format: every sample belongs to a family announced by HELP and TYPE.
    text = (await a.http.get("/metrics")).text
    assert (await a.http.get("/metrics")).headers["content-type"].startswith("text/plain")
    families = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    for line in text.splitlines():
        if not line.startswith("#"):
            name = line.split("{", 1)[0].split(" ", 1)[0]
            base = name.removesuffix("_bucket").removesuffix("_sum").removesuffix("_count")
            assert name in families or base in families, line
    await widget.close()
    await agent.close()
