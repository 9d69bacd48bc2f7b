"""Auto-assignment across two processes: caps hold and the queue keeps arrival order.

On one SQLite file (the scale cluster) and on two hosts of one PostgreSQL. Site "b" routes
here (the other scale tests use site "a" only).
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import timeout
from tests.scale.conftest import Cluster, Node
from tests.scale.test_pg_hosts import TwoHosts, nodes, two_hosts  # noqa: F401 (fixtures)
from tests.server.conftest import SiteFixture, WsClient, sql_rows

SHOPPERS = 50
CAP = 3


async def place_told(widget: WsClient, room_id: str, position: int) -> dict[str, Any]:
    """Wait for the widget to be told `position`; answer the latest frame it holds after
    (the highest version: frames from two processes may cross on the way)."""
    frames = [await widget.event("queue", wait=15, room_id=room_id, position=position)]
    frames += [f for f in await widget.drain(0.2) if f["type"] == "queue"]
    return max(frames, key=lambda f: f["version"])


async def all_told(widget_of: dict[str, WsClient], order: list[str]) -> None:
    """Every waiting widget is told its place in `order` (watched side by side: each watch
    lingers to catch a later, crossing frame)."""
    told = await asyncio.gather(
        *(place_told(widget_of[room], room, place) for place, room in enumerate(order, start=1))
    )
    assert [t["position"] for t in told] == list(range(1, len(order) + 1)), told


async def test_fifty_at_once_through_two_processes_fill_two_caps_and_queue_the_rest(
    cluster: Cluster,
) -> None:
    a, b = cluster.nodes
    await fifty_at_once(a, b, cluster.sites["b"], cluster.db_path)


async def test_fifty_at_once_through_two_postgresql_hosts(
    two_hosts: TwoHosts,  # noqa: F811
    nodes: list[Node],  # noqa: F811
) -> None:
    a, b = nodes
    await fifty_at_once(a, b, two_hosts.sites["b"], two_hosts.db_url)


async def fifty_at_once(a: Node, b: Node, site: SiteFixture, db: str) -> None:
    def query(sql: str, params: tuple[Any, ...]) -> list[Any]:
        return sql_rows(db, sql, params)

    api = {"Authorization": f"Bearer {site.creds.api_token}"}
    set_up = await a.http.put(
        "/api/v1/site", json={"routing": {"mode": "round_robin", "default_cap": CAP}}, headers=api
    )
    assert set_up.status_code == 200, set_up.text
    owner, _ = await a.agent(await a.agent_cookie(site.owner_email))
    agent, _ = await b.agent(await b.agent_cookie(site.agent_email))
    # Each process sees both agents online before the rush.
    for node in (a, b):
        listing = await node.http.get("/api/v1/agents", headers=api)
        assert all(item["online"] for item in listing.json()["items"]), listing.text

    widgets: list[WsClient] = []
    for i in range(SHOPPERS):
        node = (a, b)[i % 2]
        widget, _ = await node.widget(await node.widget_token("b"), "b")
        widgets.append(widget)
    acks = await asyncio.gather(
        *(
            w.request("send", wait=30, client_msg_id="first", body=f"halo {i}")
            for i, w in enumerate(widgets)
        )
    )
    assert all(ack["type"] == "ack" for ack in acks), acks
    widget_of = {ack["message"]["room_id"]: w for ack, w in zip(acks, widgets, strict=True)}

    rows = query(
        "SELECT r.id, r.assignee_id, r.status, r.queue_seq, m.created_at FROM rooms r"
        " JOIN messages m ON m.room_id = r.id AND m.seq = 1"
        " WHERE r.site_id = ? AND r.kind = 'private' ORDER BY r.queue_seq",
        (site.creds.site_id,),
    )
    assert len(rows) == SHOPPERS
    held: dict[str, int] = {}
    for row in rows:
        if row["assignee_id"]:
            held[row["assignee_id"]] = held.get(row["assignee_id"], 0) + 1
    assert held == {site.owner_id: CAP, site.agent_id: CAP}
    queued = [r for r in rows if r["assignee_id"] is None]
    assert len(queued) == SHOPPERS - 2 * CAP
    assert all(r["status"] == "queued" for r in queued)
    # Arrival order is commit order: the queue's order is the order the first messages landed.
    stamps = [r["created_at"] for r in rows]
    assert stamps == sorted(stamps)
    assert [r["id"] for r in rows[: 2 * CAP]] == [r["id"] for r in rows if r["assignee_id"]]
    await all_told(widget_of, [r["id"] for r in queued])

    # A slot frees on one process: the oldest waiting conversation is given at once.
    mine = [r["id"] for r in rows if r["assignee_id"] == site.agent_id]
    done = await agent.request("resolve", room_id=mine[0], wait=timeout(10))
    assert done["type"] == "ack", done
    oldest = queued[0]["id"]
    after = query("SELECT status, assignee_id FROM rooms WHERE id = ?", (oldest,))[0]
    assert (after["status"], after["assignee_id"]) == ("assigned", site.agent_id)
    waiting = query(
        "SELECT id FROM rooms WHERE site_id = ? AND kind = 'private' AND status = 'queued'"
        " AND assignee_id IS NULL ORDER BY queue_seq",
        (site.creds.site_id,),
    )
    assert [r["id"] for r in waiting] == [r["id"] for r in queued[1:]]
    await all_told(widget_of, [r["id"] for r in waiting])
    await owner.close()
    await agent.close()


async def test_two_processes_wake_each_snoozed_conversation_once(cluster: Cluster) -> None:
    """Both processes' timers find the same due snoozes; the write that takes one clears its
    mark, so each conversation wakes once (one `room` event), whichever process took it."""
    a, b = cluster.nodes
    site = cluster.sites["a"]
    api = {"Authorization": f"Bearer {site.creds.api_token}"}
    agent, _ = await a.agent(await a.agent_cookie(site.agent_email))
    rooms = []
    for i in range(20):
        node = (a, b)[i % 2]
        widget, _ = await node.widget(await node.widget_token())
        ack = await widget.request("send", client_msg_id="z", body=f"nanti ya {i}")
        rooms.append(ack["message"]["room_id"])
        snoozed = await node.http.put(
            f"/api/v1/rooms/{rooms[-1]}/snooze", json={"until": None}, headers=api
        )
        assert snoozed.status_code == 200 and snoozed.json()["snoozed"], snoozed.text
    await agent.drain(0.3)
    # Every snooze falls due at once, for both timers.
    marks = ", ".join("?" for _ in rooms)
    sql_rows(
        cluster.db_path,
        f"UPDATE rooms SET snoozed_until = '2000-01-01T00:00:00.000Z' WHERE id IN ({marks})",
        tuple(rooms),
    )
    woke: dict[str, int] = {}

    def woken(frame: dict[str, Any]) -> bool:
        return frame["room"]["id"] in rooms and not frame["room"]["snoozed"]

    while len(woke) < len(rooms):
        frame = await agent.event("room", wait=30, where=woken)
        woke[frame["room"]["id"]] = woke.get(frame["room"]["id"], 0) + 1
    for frame in await agent.drain(1.0):
        if frame["type"] == "room" and woken(frame):
            woke[frame["room"]["id"]] += 1
    assert woke == dict.fromkeys(rooms, 1)
    left = sql_rows(
        cluster.db_path,
        f"SELECT count(*) AS n FROM rooms WHERE id IN ({marks}) AND snoozed_until IS NOT NULL",
        tuple(rooms),
    )
    assert left[0]["n"] == 0
