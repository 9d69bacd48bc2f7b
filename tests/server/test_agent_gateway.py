"""The agent's socket and the conversation life cycle as both sides see it."""

from __future__ import annotations

import json

from tests.server.conftest import Env
from tests.server.test_widget_gateway import closed_with


async def test_agent_sees_the_new_conversation_live_and_the_shopper_sees_the_reply(
    env: Env,
) -> None:
    agent, welcome, _, _ = await env.agent(env.sites["a"].agent_email)
    assert welcome["site_id"] == env.sites["a"].creds.site_id
    assert welcome["agent"]["email"] == env.sites["a"].agent_email
    widget, _ = await env.widget("a")
    sent = await widget.request("send", client_msg_id="w1", body="kak, barangnya ready?")
    room_id = sent["message"]["room_id"]
    seen = await agent.event("message")
    assert seen["message"]["id"] == sent["message"]["id"]
    room = (await agent.event("room"))["room"]
    assert room["id"] == room_id and room["status"] == "queued"
    assert room["customer"]["id"] == sent["message"]["author"]["id"]

    reply = await agent.request("send", room_id=room_id, client_msg_id="a1", body="Ready kak!")
    assert reply["message"]["author"]["kind"] == "agent"

    def from_staff(frame: dict) -> bool:
        return frame["message"]["author"]["kind"] != "customer"

    # The first reply takes the conversation: the system line comes first, then the reply.
    got = await widget.event("message", where=from_staff)
    assert got["message"]["kind"] == "event"
    got = await widget.event("message", where=from_staff)
    assert got["message"]["body"] == "Ready kak!"
    status = await widget.event("room", where=lambda f: f["room"]["last_seq"] == 3)
    assert status["room"]["status"] == "assigned"
    assert "last_message" not in status["room"]


async def test_notes_reach_agents_only_never_the_widget_or_its_sync(env: Env) -> None:
    widget, _ = await env.widget("a")
    room_id = (await widget.request("send", client_msg_id="w1", body="halo"))["message"]["room_id"]
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    other, *_ = await env.agent(env.sites["a"].owner_email)
    note = await agent.request(
        "send", room_id=room_id, client_msg_id="n1", body="VIP, careful", kind="note"
    )
    assert note["message"]["kind"] == "note"
    assert (await other.event("message"))["message"]["body"] == "VIP, careful"
    after = await widget.drain()
    assert all("VIP" not in json.dumps(frame) for frame in after)
    synced = await widget.request("sync", room_id=room_id, after_seq=0)
    assert [m["kind"] for m in synced["messages"]] == ["text"]
    staff_view = await agent.request("sync", room_id=room_id, after_seq=0)
    assert [m["kind"] for m in staff_view["messages"]] == ["text", "note"]


async def test_assign_resolve_reopen_and_customer_reopening(env: Env) -> None:
    site = env.sites["a"]
    widget, _ = await env.widget("a")
    room_id = (await widget.request("send", client_msg_id="w1", body="halo"))["message"]["room_id"]
    owner, *_ = await env.agent(site.owner_email)
    assigned = await owner.request("assign", room_id=room_id, agent_id=site.agent_id)
    assert assigned["room"]["status"] == "assigned"
    assert assigned["room"]["assignee"]["id"] == site.agent_id
    unassigned = await owner.request("assign", room_id=room_id, agent_id=None)
    assert unassigned["room"]["status"] == "queued" and unassigned["room"]["assignee"] is None
    await owner.request("assign", room_id=room_id, agent_id=site.owner_id)
    resolved = await owner.request("resolve", room_id=room_id)
    assert resolved["room"]["status"] == "resolved"
    rated = await widget.request("rate", room_id=room_id, score=5, comment="mantap")
    assert rated["type"] == "ack"
    await widget.request("send", client_msg_id="w2", body="eh satu lagi kak")
    room = (await owner.request("sync", room_id=room_id, after_seq=0))["messages"]
    assert [m["body"] for m in room if m["kind"] == "event"][-1] == "Dibuka kembali oleh pelanggan"
    listed = await env.http.get(  # type: ignore[union-attr]
        f"/api/v1/rooms/{room_id}", headers={"authorization": f"Bearer {site.creds.api_token}"}
    )
    assert listed.json()["status"] == "assigned"
    assert listed.json()["assignee"]["id"] == site.owner_id
    reopened = await owner.request("reopen", room_id=room_id)
    assert reopened["room"]["status"] == "assigned"


async def test_rating_before_resolve_is_a_conflict_and_out_of_range_is_refused(env: Env) -> None:
    widget, _ = await env.widget("a")
    room_id = (await widget.request("send", client_msg_id="w1", body="halo"))["message"]["room_id"]
    early = await widget.request("rate", room_id=room_id, score=4)
    assert early["code"] == "conflict"
    wrong = await widget.request("rate", room_id=room_id, score=6)
    assert wrong["code"] == "bad_request"


async def test_assign_to_an_agent_of_another_site_is_not_found(env: Env) -> None:
    widget, _ = await env.widget("a")
    room_id = (await widget.request("send", client_msg_id="w1", body="halo"))["message"]["room_id"]
    owner, *_ = await env.agent(env.sites["a"].owner_email)
    refused = await owner.request("assign", room_id=room_id, agent_id=env.sites["b"].agent_id)
    assert refused["code"] == "not_found"


async def test_typing_and_read_receipts_reach_the_other_side(env: Env) -> None:
    widget, _ = await env.widget("a")
    sent = await widget.request("send", client_msg_id="w1", body="halo")
    room_id = sent["message"]["room_id"]
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    await widget.request("typing", room_id=room_id, active=True)
    typing = await agent.event("typing")
    assert typing["author"]["kind"] == "customer" and typing["active"] is True
    await agent.request("read", room_id=room_id, seq=1)
    read = await widget.event("read")
    assert read["seq"] == 1 and read["reader"]["kind"] == "agent"
    # A mark past the last message means "all of it" (PROTOCOL v1 sets no bound): stored
    # as the last seq, so later messages still count as unread.
    beyond = await agent.request("read", room_id=room_id, seq=99)
    assert beyond["type"] == "ack"
    assert (await widget.event("read"))["seq"] == 1


async def test_presence_counts_online_agents_for_shoppers(env: Env) -> None:
    widget, welcome = await env.widget("a")
    assert welcome["agents_online"] == 0
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    assert (await widget.event("presence"))["agents_online"] == 1
    # Site B's shoppers hear nothing of site A's agents.
    _, welcome_b = await env.widget("b")
    assert welcome_b["agents_online"] == 0
    await agent.request("status", status="away")
    assert (await widget.event("presence"))["agents_online"] == 0


async def test_agent_socket_needs_a_session_and_its_own_origin(env: Env) -> None:
    ws = await env.connect("/ws/agent", env.url)
    await ws.send('{"type": "hello"}')
    assert await closed_with(ws) == 4401
    response = await env.login(env.sites["a"].agent_email)
    cookie = response.cookies["sapa_session"]
    ws = await env.connect(
        "/ws/agent",
        "https://shop-a.test",
        additional_headers={"Cookie": f"sapa_session={cookie}"},
    )
    await ws.send('{"type": "hello"}')
    assert await closed_with(ws) == 4403
    ws = await env.connect(
        "/ws/agent",
        env.url,
        additional_headers={"Cookie": f"sapa_session={cookie}x"},
    )
    await ws.send('{"type": "hello"}')
    assert await closed_with(ws) == 4401


async def test_logout_closes_that_agents_sockets_only(env: Env) -> None:
    site = env.sites["a"]
    agent, _, session, csrf = await env.agent(site.agent_email)
    owner, *_ = await env.agent(site.owner_email)
    assert env.http is not None
    refused = await env.http.post("/api/v1/auth/logout", headers=session)
    assert refused.status_code == 403
    done = await env.http.post("/api/v1/auth/logout", headers={**session, "x-csrf-token": csrf})
    assert done.status_code == 200
    assert await closed_with(agent.ws) == 4000
    assert (await owner.request("status", status="online"))["type"] == "ack"
    after = await env.http.get("/api/v1/rooms", headers=session)
    assert after.status_code == 401
