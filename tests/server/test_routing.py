"""Auto-assignment with caps, the queue and what each shopper is told of their place in it."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.server.conftest import Env, WsClient


def bearer(env: Env, site: str = "a") -> dict[str, str]:
    return {"Authorization": f"Bearer {env.sites[site].creds.api_token}"}


async def put_routing(env: Env, routing: Any, site: str = "a") -> Any:
    assert env.http is not None
    return await env.http.put("/api/v1/site", json={"routing": routing}, headers=bearer(env, site))


async def latest_queue(widget: WsClient, room_id: str) -> dict[str, Any] | None:
    """The `queue` frame a widget keeps for a room: the one of the highest version."""
    frames = [f for f in [*widget.pending, *await widget.drain(0.3)] if f["type"] == "queue"]
    widget.pending = [f for f in widget.pending if f["type"] != "queue"]
    mine = [f for f in frames if f["room_id"] == room_id]
    return max(mine, key=lambda f: f["version"]) if mine else None


def queue_in_db(env: Env, site: str = "a") -> list[str]:
    rows = env.sql(
        "SELECT id FROM rooms WHERE site_id = ? AND kind = 'private' AND status = 'queued'"
        " AND assignee_id IS NULL ORDER BY queue_seq",
        (env.sites[site].creds.site_id,),
    )
    return [r["id"] for r in rows]


async def test_routing_settings_and_caps_are_checked(env: Env) -> None:
    assert env.http is not None
    site = env.sites["a"]
    got = (await env.http.get("/api/v1/site", headers=bearer(env))).json()
    assert got["routing"] == {"mode": "manual", "default_cap": 3}
    ok = await put_routing(env, {"mode": "least_busy", "default_cap": 5})
    assert ok.status_code == 200 and ok.json()["routing"] == {
        "mode": "least_busy",
        "default_cap": 5,
    }
    for bad in (
        {"mode": "random"},
        {"default_cap": 0},
        {"default_cap": -2},
        {"default_cap": 10**12},
        {"default_cap": "3"},
        {"nope": 1},
        "fast",
    ):
        response = await put_routing(env, bad)
        assert response.status_code == 400, (bad, response.text)
    still = (await env.http.get("/api/v1/site", headers=bearer(env))).json()["routing"]
    assert still == {"mode": "least_busy", "default_cap": 5}

    url = f"/api/v1/agents/{site.agent_id}"
    assert (await env.http.patch(url, json={"cap": 2}, headers=bearer(env))).json()["cap"] == 2
    for bad_cap in (0, -1, 101, 1.5, "2", True):
        response = await env.http.patch(url, json={"cap": bad_cap}, headers=bearer(env))
        assert response.status_code == 400, (bad_cap, response.text)
    # Another site's agent is not found; an agent may not change caps.
    other = await env.http.patch(url, json={"cap": 2}, headers=bearer(env, "b"))
    assert other.status_code == 404
    listed = (await env.http.get("/api/v1/agents", headers=bearer(env))).json()["items"]
    assert {a["id"]: a["cap"] for a in listed}[site.agent_id] == 2
    reset = await env.http.patch(url, json={"cap": None}, headers=bearer(env))
    assert reset.json()["cap"] is None
    # Each change is in the site's audit log (newest first); refusals and the other site's
    # attempt are not.
    audit = await env.http.get(
        "/api/v1/audit", params={"action": "agent_cap_changed"}, headers=bearer(env)
    )
    assert [(i["target"], i["detail"]) for i in audit.json()["items"]] == [
        (site.agent_id, {"cap": None}),
        (site.agent_id, {"cap": 2}),
    ]


async def test_agents_in_the_console_may_not_change_caps(env: Env) -> None:
    assert env.http is not None
    site = env.sites["a"]
    _, _, headers, csrf = await env.agent(site.agent_email)
    response = await env.http.patch(
        f"/api/v1/agents/{site.agent_id}",
        json={"cap": 50},
        headers={**headers, "x-csrf-token": csrf, "origin": env.url},
    )
    assert response.status_code == 403


async def test_caps_hold_the_queue_keeps_arrival_order_and_a_resolve_takes_the_oldest(
    env: Env,
) -> None:
    site = env.sites["a"]
    assert (await put_routing(env, {"mode": "round_robin", "default_cap": 2})).status_code == 200
    agent, *_ = await env.agent(site.agent_email)
    owner, *_ = await env.agent(site.owner_email)
    opened = [await env.widget("a") for _ in range(7)]
    widgets = [w for w, _ in opened]
    acks = await asyncio.gather(
        *(w.request("send", client_msg_id="first", body=f"halo {i}") for i, w in enumerate(widgets))
    )
    rooms = [ack["message"]["room_id"] for ack in acks]
    rows = env.sql(
        "SELECT assignee_id, count(*) AS n FROM rooms WHERE site_id = ? AND kind = 'private'"
        " GROUP BY assignee_id",
        (site.creds.site_id,),
    )
    counts = {r["assignee_id"]: r["n"] for r in rows}
    assert counts == {site.agent_id: 2, site.owner_id: 2, None: 3}
    waiting = queue_in_db(env)
    assert len(waiting) == 3
    # Every waiting shopper's latest queue frame is their true place.
    by_room = dict(zip(rooms, widgets, strict=True))
    for place, room_id in enumerate(waiting, start=1):
        frame = await latest_queue(by_room[room_id], room_id)
        assert frame is not None and frame["position"] == place, (place, frame)

    # A slot frees: the oldest waiting conversation goes to that agent at once.
    assigned = env.sql("SELECT id FROM rooms WHERE assignee_id = ?", (site.agent_id,))
    done = await agent.request("resolve", room_id=assigned[0]["id"])
    assert done["type"] == "ack", done
    oldest = waiting[0]
    row = env.sql("SELECT status, assignee_id FROM rooms WHERE id = ?", (oldest,))[0]
    assert (row["status"], row["assignee_id"]) == ("assigned", site.agent_id)
    seen = await agent.event(
        "room", where=lambda f: f["room"]["id"] == oldest and f["room"]["assignee"] is not None
    )
    assert seen["room"]["assignee"]["id"] == site.agent_id
    assert queue_in_db(env) == waiting[1:]
    for place, room_id in enumerate(waiting[1:], start=1):
        frame = await latest_queue(by_room[room_id], room_id)
        assert frame is not None and frame["position"] == place

    # The shopper's other tab (or a reconnect) learns its place from the welcome.
    token = dict(zip(rooms, (session["token"] for _, session in opened), strict=True))
    _, welcome = await env.widget("a", token=token[waiting[2]])
    mine = next(r for r in welcome["rooms"] if r["id"] == waiting[2])
    assert mine["status"] == "queued" and mine["queue"]["position"] == 2
    assert mine["queue"]["room_id"] == waiting[2]
    await owner.close()


async def test_an_agent_coming_online_or_a_raised_cap_takes_from_the_queue(env: Env) -> None:
    assert env.http is not None
    site = env.sites["a"]
    assert (await put_routing(env, {"mode": "least_busy", "default_cap": 1})).status_code == 200
    widgets = [(await env.widget("a"))[0] for _ in range(3)]
    rooms = []
    for i, widget in enumerate(widgets):
        ack = await widget.request("send", client_msg_id="m", body=f"tolong {i}")
        rooms.append(ack["message"]["room_id"])
    # Nobody online: everyone waits, in order, and is told so.
    assert queue_in_db(env) == rooms
    for place, (widget, room_id) in enumerate(zip(widgets, rooms, strict=True), start=1):
        frame = await latest_queue(widget, room_id)
        assert frame is not None and frame["position"] == place
        assert "eta_seconds" in frame

    agent, *_ = await env.agent(site.agent_email)
    await agent.event("room", where=lambda f: f["room"]["id"] == rooms[0])
    assert queue_in_db(env) == rooms[1:]
    # Away agents receive nothing more; their conversations stay theirs.
    await agent.request("status", status="away")
    patched = await env.http.patch(
        f"/api/v1/agents/{site.agent_id}", json={"cap": 3}, headers=bearer(env)
    )
    assert patched.status_code == 200
    assert queue_in_db(env) == rooms[1:]
    await agent.request("status", status="online")
    assert queue_in_db(env) == []
    owned = env.sql("SELECT count(*) AS n FROM rooms WHERE assignee_id = ?", (site.agent_id,))
    assert owned[0]["n"] == 3


async def test_manual_sites_send_no_queue_frames(env: Env) -> None:
    widget, _ = await env.widget("a")
    await widget.request("send", client_msg_id="m", body="halo")
    assert [f for f in await widget.drain(0.3) if f["type"] == "queue"] == []


async def test_transfer_with_a_handover_note_frees_the_slot_for_the_queue(env: Env) -> None:
    site = env.sites["a"]
    assert (await put_routing(env, {"mode": "round_robin", "default_cap": 1})).status_code == 200
    owner, *_ = await env.agent(site.owner_email)
    await owner.request("status", status="away")  # the owner takes nothing from the queue
    agent, *_ = await env.agent(site.agent_email)
    first, _ = await env.widget("a")
    second, _ = await env.widget("a")
    room = (await first.request("send", client_msg_id="m", body="satu"))["message"]["room_id"]
    waiting = (await second.request("send", client_msg_id="m", body="dua"))["message"]["room_id"]
    assert queue_in_db(env) == [waiting]

    done = await agent.request(
        "transfer", room_id=room, agent_id=site.owner_id, note="Pelanggan VIP, minta refund"
    )
    assert done["type"] == "ack", done
    assert done["room"]["assignee"]["id"] == site.owner_id
    told = await owner.event("transfer", room_id=room)
    assert told["note"] == "Pelanggan VIP, minta refund"
    assert told["from"]["id"] == site.agent_id
    notes = env.sql(
        "SELECT body, author_id FROM messages WHERE room_id = ? AND kind = 'note'", (room,)
    )
    assert [(n["body"], n["author_id"]) for n in notes] == [
        ("Pelanggan VIP, minta refund", site.agent_id)
    ]
    # The transferring agent's slot went to the oldest waiting conversation, in the same write.
    row = env.sql("SELECT assignee_id FROM rooms WHERE id = ?", (waiting,))[0]
    assert row["assignee_id"] == site.agent_id
    # The shopper never sees the note.
    assert all(f.get("message", {}).get("kind") != "note" for f in await first.drain(0.3))


async def test_bad_transfers_are_refused(env: Env) -> None:
    site = env.sites["a"]
    agent, *_ = await env.agent(site.agent_email)
    widget, _ = await env.widget("a")
    room = (await widget.request("send", client_msg_id="m", body="halo"))["message"]["room_id"]
    cases = [
        ({"agent_id": env.sites["b"].agent_id}, "not_found"),  # another site's agent
        ({"agent_id": "agt_nobody"}, "not_found"),
        ({"team_id": "team_1", "agent_id": site.owner_id}, "bad_request"),
        ({"agent_id": site.owner_id, "note": "x" * 4001}, "bad_request"),
        ({"agent_id": site.owner_id, "note": 5}, "bad_request"),
        ({}, "bad_request"),
    ]
    for fields, code in cases:
        answer = await agent.request("transfer", room_id=room, **fields)
        assert answer["type"] == "error" and answer["code"] == code, (fields, answer)
    ok = await agent.request("transfer", room_id=room, agent_id=site.owner_id)
    assert ok["type"] == "ack"
    again = await agent.request("transfer", room_id=room, agent_id=site.owner_id)
    assert again["code"] == "conflict"
    other_room = await agent.request("transfer", room_id="room_elsewhere", agent_id=site.owner_id)
    assert other_room["code"] == "not_found"
