"""Snooze, agents offline too long, and deactivation: conversations leave an agent's hands
and come back, routed, live, decided inside write transactions.

The routing timer ticks every 0.1 s here; tests move a snooze's end (or an agent's offline
mark) into the past in the database instead of waiting for a clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chat_server.ids import format_time
from tests.server.conftest import Env, WsClient
from tests.server.test_routing import bearer, put_routing

pytestmark = pytest.mark.settings(routing_tick=0.1)


def later(**delta: float) -> str:
    return format_time(datetime.now(UTC) + timedelta(**delta))


def past() -> str:
    return format_time(datetime.now(UTC) - timedelta(seconds=1))


async def shopper_room(env: Env, site: str = "a", body: str = "halo") -> tuple[WsClient, str]:
    widget, _ = await env.widget(site)
    ack = await widget.request("send", client_msg_id="first", body=body)
    return widget, ack["message"]["room_id"]


def queue_in_db(env: Env) -> list[str]:
    """The queue: waiting conversations that are not snoozed, in line."""
    rows = env.sql(
        "SELECT id FROM rooms WHERE site_id = ? AND kind = 'private' AND status = 'queued'"
        " AND assignee_id IS NULL AND snoozed_until IS NULL ORDER BY queue_seq",
        (env.sites["a"].creds.site_id,),
    )
    return [r["id"] for r in rows]


def holder(env: Env, room_id: str) -> tuple[str, str | None, str | None]:
    row = env.sql("SELECT status, assignee_id, snoozed_until FROM rooms WHERE id = ?", (room_id,))
    return row[0]["status"], row[0]["assignee_id"], row[0]["snoozed_until"]


async def test_a_snoozed_conversation_leaves_the_inbox_and_wakes_once_when_due(env: Env) -> None:
    assert env.http is not None
    site = env.sites["a"]
    agent, *_ = await env.agent(site.agent_email)
    widget, room = await shopper_room(env)
    await agent.request("assign", room_id=room, agent_id=site.agent_id)
    until = later(hours=3)
    ack = await agent.request("snooze", room_id=room, until=until)
    assert ack["type"] == "ack", ack
    assert ack["room"]["snoozed"] is True and ack["room"]["snoozed_until"] == until
    assert ack["room"]["status"] == "assigned"  # v1 statuses are unchanged
    listed = await env.http.get("/api/v1/rooms?snoozed=true", headers=bearer(env))
    assert [r["id"] for r in listed.json()["items"]] == [room]
    open_ = await env.http.get("/api/v1/rooms?kind=private&snoozed=false", headers=bearer(env))
    assert room not in [r["id"] for r in open_.json()["items"]]
    # The shopper never learns of it.
    assert all("snoozed" not in f.get("room", {}) for f in await widget.drain(0.3))

    # Its time comes (moved into the past rather than waited for): the timer wakes it, live.
    await agent.drain(0.2)
    env.sql("UPDATE rooms SET snoozed_until = ? WHERE id = ?", (past(), room))
    woke = await agent.event("room", where=lambda f: f["room"]["id"] == room)
    assert woke["room"]["snoozed"] is False and woke["room"]["snoozed_until"] is None
    assert woke["room"]["assignee"]["id"] == site.agent_id  # back to its assignee
    assert holder(env, room) == ("assigned", site.agent_id, None)
    # Once: no second room event for it.
    assert [f for f in await agent.drain(0.5) if f.get("room", {}).get("id") == room] == []


async def test_the_shopper_writing_wakes_it_and_rest_snoozes_until_a_reply(env: Env) -> None:
    assert env.http is not None
    site = env.sites["a"]
    agent, *_ = await env.agent(site.agent_email)
    widget, room = await shopper_room(env)
    await agent.request("send", room_id=room, client_msg_id="r1", body="Sebentar kak")
    # No time: until the shopper writes (no clock ever wakes it).
    put = await env.http.put(
        f"/api/v1/rooms/{room}/snooze", json={"until": None}, headers=bearer(env)
    )
    assert put.status_code == 200, put.text
    assert put.json()["snoozed"] is True and put.json()["snoozed_until"] is None
    await agent.drain(0.2)
    await widget.request("send", client_msg_id="again", body="Sudah kak?")
    woke = await agent.event(
        "room", where=lambda f: f["room"]["id"] == room and not f["room"]["snoozed"]
    )
    assert woke["room"]["assignee"]["id"] == site.agent_id
    assert holder(env, room)[2] is None

    # DELETE wakes at once; a conversation that is not snoozed stays as it is.
    await env.http.put(
        f"/api/v1/rooms/{room}/snooze", json={"until": later(days=1)}, headers=bearer(env)
    )
    woken = await env.http.delete(f"/api/v1/rooms/{room}/snooze", headers=bearer(env))
    assert woken.status_code == 200 and woken.json()["snoozed"] is False
    again = await env.http.delete(f"/api/v1/rooms/{room}/snooze", headers=bearer(env))
    assert again.status_code == 200 and again.json()["snoozed"] is False


async def test_bad_snoozes_are_refused(env: Env) -> None:
    assert env.http is not None
    site = env.sites["a"]
    agent, *_ = await env.agent(site.agent_email)
    _, room = await shopper_room(env)
    _, other_site_room = await shopper_room(env, "b")
    cases = [
        ({"until": past()}, "bad_request"),  # in the past
        ({"until": "next tuesday"}, "bad_request"),
        ({"until": later(days=400)}, "bad_request"),  # more than a year
        ({"until": 5}, "bad_request"),
        ({}, "bad_request"),
        ({"room_id": other_site_room, "until": later(hours=1)}, "not_found"),
    ]
    for fields, code in cases:
        answer = await agent.request("snooze", **{"room_id": room, **fields})
        assert answer["type"] == "error" and answer["code"] == code, (fields, answer)
    await agent.request("resolve", room_id=room)
    resolved = await agent.request("snooze", room_id=room, until=later(hours=1))
    assert resolved["code"] == "conflict"
    for body in ({"until": "x" * 100}, {"until": later(hours=1), "extra": 1}, []):
        answer = await env.http.put(f"/api/v1/rooms/{room}/snooze", json=body, headers=bearer(env))
        assert answer.status_code == 400, (body, answer.text)
    public = await env.http.post("/api/v1/rooms", json={"name": "Diskusi"}, headers=bearer(env))
    assert public.status_code in (200, 201), public.text
    refused = await agent.request("snooze", room_id=public.json()["id"], until=later(hours=1))
    assert refused["code"] == "bad_request"


async def test_snoozing_frees_a_slot_and_a_waiting_snooze_rejoins_the_queue(env: Env) -> None:
    site = env.sites["a"]
    assert (await put_routing(env, {"mode": "round_robin", "default_cap": 1})).status_code == 200
    agent, *_ = await env.agent(site.agent_email)
    _, first = await shopper_room(env, body="satu")
    _, second = await shopper_room(env, body="dua")
    _, third = await shopper_room(env, body="tiga")
    assert holder(env, first)[1] == site.agent_id and queue_in_db(env) == [second, third]
    # A sleeping conversation does not count against the cap: the next in line comes at once.
    await agent.request("snooze", room_id=first, until=later(hours=1))
    assert holder(env, second)[1] == site.agent_id and queue_in_db(env) == [third]
    # A waiting one steps out of the queue while it sleeps...
    await agent.request("snooze", room_id=third, until=later(hours=1))
    assert queue_in_db(env) == []
    # ...and is routed when it wakes (the agent is full: it waits; a resolve gives it the slot).
    await agent.drain(0.2)
    env.sql("UPDATE rooms SET snoozed_until = ? WHERE id IN (?, ?)", (past(), first, third))
    await agent.event("room", where=lambda f: f["room"]["id"] == third and not f["room"]["snoozed"])
    assert holder(env, first) == ("assigned", site.agent_id, None)  # its own, over the cap
    assert queue_in_db(env) == [third]
    await agent.request("resolve", room_id=second)
    assert queue_in_db(env) == [third]  # first still holds the one slot
    await agent.request("resolve", room_id=first)
    assert holder(env, third)[1] == site.agent_id


async def test_deactivating_an_agent_routes_their_conversations_now(env: Env) -> None:
    assert env.http is not None
    site = env.sites["a"]
    assert (await put_routing(env, {"mode": "round_robin", "default_cap": 5})).status_code == 200
    await env.agent(site.agent_email)
    _, room = await shopper_room(env)
    assert holder(env, room)[1] == site.agent_id
    owner, *_ = await env.agent(site.owner_email)
    done = await env.http.patch(
        f"/api/v1/agents/{site.agent_id}", json={"active": False}, headers=bearer(env)
    )
    assert done.status_code == 200, done.text
    got = await owner.event(
        "room", where=lambda f: f["room"]["id"] == room and f["room"]["assignee"] is not None
    )
    assert got["room"]["assignee"]["id"] == site.owner_id
    assert holder(env, room) == ("assigned", site.owner_id, None)


async def test_an_agent_offline_longer_than_the_site_allows_gives_conversations_back(
    env: Env,
) -> None:
    assert env.http is not None
    site = env.sites["a"]
    bad = [0, -1, 10**9, "5", 1.5, True]
    for value in bad:
        answer = await put_routing(env, {"offline_return_minutes": value})
        assert answer.status_code == 400, (value, answer.text)
    ok = await put_routing(env, {"mode": "round_robin", "offline_return_minutes": 10})
    assert ok.status_code == 200 and ok.json()["routing"]["offline_return_minutes"] == 10
    agent, *_ = await env.agent(site.agent_email)
    _, room = await shopper_room(env)
    assert holder(env, room)[1] == site.agent_id
    owner, *_ = await env.agent(site.owner_email)
    await owner.request("status", status="away")  # connected: an away agent keeps theirs
    await agent.close()
    # The agent's last console closed: they are marked offline (by the close or the timer).
    marked = lambda: env.sql("SELECT offline_since FROM agents WHERE id = ?", (site.agent_id,))  # noqa: E731
    for _ in range(100):  # the close is handled after the socket is gone: poll for its mark
        if marked()[0]["offline_since"] is not None:
            break
        await owner.drain(0.1)
    assert marked()[0]["offline_since"] is not None
    assert holder(env, room)[1] == site.agent_id  # not yet: 10 minutes
    # Eleven minutes pass (moved in the database): the conversation goes back, and the only
    # online agent is away, so it waits in the queue.
    eleven = format_time(datetime.now(UTC) - timedelta(minutes=11))
    env.sql("UPDATE agents SET offline_since = ? WHERE id = ?", (eleven, site.agent_id))
    back = await owner.event(
        "room", where=lambda f: f["room"]["id"] == room and f["room"]["assignee"] is None
    )
    assert back["room"]["status"] == "queued"
    assert queue_in_db(env) == [room]
    await owner.request("status", status="online")
    assert holder(env, room)[1] == site.owner_id
    # Turned off again: null.
    off = await put_routing(env, {"offline_return_minutes": None})
    assert "offline_return_minutes" not in off.json()["routing"]
