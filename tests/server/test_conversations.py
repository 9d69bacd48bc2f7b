"""Several conversations per shopper: a new one after a resolve, the past ones read-only."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.server.conftest import Env, WsClient
from tests.server.test_crm import api, identify
from tests.server.test_privacy import private_rooms, record


async def resolved_conversation(env: Env, shopper: WsClient, agent: WsClient, cmid: str) -> str:
    """The shopper writes in their current conversation; an agent resolves it."""
    sent = await shopper.request("send", client_msg_id=cmid, body=f"pertanyaan {cmid}")
    assert sent["type"] == "ack", sent
    room_id: str = sent["message"]["room_id"]
    assert (await agent.request("resolve", room_id=room_id))["type"] == "ack"
    return room_id


async def start_over(shopper: WsClient) -> list[dict[str, Any]]:
    answer = await shopper.request("new_conversation")
    assert answer["type"] == "ack", answer
    past: list[dict[str, Any]] = answer["past_conversations"]
    return past


def current_rooms(env: Env, customer_id: str) -> list[Any]:
    return env.sql(
        "SELECT id FROM rooms WHERE customer_id = ? AND kind = 'private' AND superseded_at IS NULL",
        (customer_id,),
    )


async def test_a_shopper_starts_a_new_conversation_after_a_resolve(env: Env) -> None:
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    shopper, welcome = await env.widget("a")
    assert welcome["past_conversations"] == []
    sent = await shopper.request("send", client_msg_id="a1", body="paket saya belum sampai")
    first = sent["message"]["room_id"]
    # While it is open the current conversation is where the shopper talks.
    refused = await shopper.request("new_conversation")
    assert refused["type"] == "error" and refused["code"] == "conflict"
    assert (await agent.request("resolve", room_id=first))["type"] == "ack"
    assert (await shopper.request("rate", room_id=first, score=5))["type"] == "ack"

    [past] = await start_over(shopper)
    assert past["id"] == first and past["status"] == "resolved" and past["rated"] is True
    assert past["last_message"]["body"] == "paket saya belum sampai"
    # Staff see the conversation left behind.
    left = await agent.event("room", where=lambda f: "superseded_at" in f["room"])
    assert left["room"]["id"] == first and left["room"]["status"] == "resolved"
    # Already left (another tab was first): nothing to do, the same answer.
    assert [p["id"] for p in await start_over(shopper)] == [first]

    # v1: send without room_id goes to the current conversation, a new one, queued.
    sent = await shopper.request("send", client_msg_id="b1", body="mau tanya ukuran")
    second = sent["message"]["room_id"]
    assert second != first and sent["message"]["seq"] == 1
    again = await shopper.request("send", client_msg_id="b2", body="ukuran M ada?")
    assert again["message"]["room_id"] == second
    inbox = await agent.event("room", where=lambda f: f["room"]["id"] == second)
    assert inbox["room"]["status"] == "queued"

    # The past conversation is read-only: no message, not even a resend; no reopen.
    closed = await shopper.request("send", room_id=first, client_msg_id="a1", body="halo")
    assert closed["type"] == "error" and closed["code"] == "room_closed"
    reopen = await agent.request("reopen", room_id=first)
    assert reopen["type"] == "error" and reopen["code"] == "room_closed"

    # A reconnect: the current conversation in rooms, the past one listed and syncable.
    shopper2, welcome2 = await env.widget("a", token=welcome["token"])
    assert [r["id"] for r in private_rooms(welcome2)] == [second]
    assert [p["id"] for p in welcome2["past_conversations"]] == [first]
    synced = await shopper2.request("sync", room_id=first, after_seq=0)
    bodies = [m["body"] for m in synced["messages"] if m["kind"] == "text"]
    assert bodies == ["paket saya belum sampai"]

    # Each conversation has its own CSAT.
    assert (await agent.request("resolve", room_id=second))["type"] == "ack"
    assert (await shopper2.request("rate", room_id=second, score=3))["type"] == "ack"
    assert (await shopper2.request("rate", room_id=first, score=4))["type"] == "ack"
    rated = env.sql("SELECT room_id, score FROM ratings ORDER BY room_id")
    assert sorted((r[0], r[1]) for r in rated) == sorted([(first, 4), (second, 3)])

    # Another shopper, or another site's, never reaches it.
    other, _ = await env.widget("a")
    for frame in ("sync", "rate"):
        fields: dict[str, Any] = {"after_seq": 0} if frame == "sync" else {"score": 1}
        answer = await other.request(frame, room_id=first, **fields)
        assert answer["code"] == "not_found", answer
    foreign, _ = await env.widget("b")
    assert (await foreign.request("sync", room_id=first, after_seq=0))["code"] == "not_found"

    # The customer record shows every conversation.
    shown = {r["id"]: r for r in (await record(env, welcome["customer_id"]))["rooms"]}
    assert set(shown) == {first, second}
    assert shown[first]["superseded_at"] and "superseded_at" not in shown[second]


async def test_two_tabs_starting_over_at_once_leave_one_current_conversation(env: Env) -> None:
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    tab1, welcome = await env.widget("a")
    tab2, _ = await env.widget("a", token=welcome["token"])
    first = await resolved_conversation(env, tab1, agent, "x1")
    answers = await asyncio.gather(start_over(tab1), start_over(tab2))
    assert all([p["id"] for p in past] == [first] for past in answers)
    sent = await asyncio.gather(
        tab1.request("send", client_msg_id="t1", body="dari tab satu"),
        tab2.request("send", client_msg_id="t2", body="dari tab dua"),
    )
    [room_id] = {s["message"]["room_id"] for s in sent}
    assert room_id != first
    assert [r[0] for r in current_rooms(env, welcome["customer_id"])] == [room_id]


async def test_identify_brings_every_conversation_and_keeps_one_current(env: Env) -> None:
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    # The known customer, on one device: a past conversation and a current one.
    known_device, known_welcome = await env.widget("a")
    assert (await identify(env, "a", known_welcome["token"], "kenal-1")).status_code == 200
    known_device, known_welcome = await env.widget("a", token=known_welcome["token"])
    known_id = known_welcome["customer_id"]
    known_past = await resolved_conversation(env, known_device, agent, "k1")
    await start_over(known_device)
    sent = await known_device.request("send", client_msg_id="k2", body="yang sekarang")
    known_current = sent["message"]["room_id"]
    # The same person, anonymous on another device: a past one and a current one too.
    anon, anon_welcome = await env.widget("a")
    anon_past = await resolved_conversation(env, anon, agent, "n1")
    await start_over(anon)
    await anon.request("send", client_msg_id="n2", body="dari perangkat lain")

    merged = await identify(env, "a", anon_welcome["token"], "kenal-1")
    assert merged.json()["customer_id"] == known_id
    _, welcome = await env.widget("a", token=anon_welcome["token"])
    assert [r["id"] for r in private_rooms(welcome)] == [known_current]
    assert {p["id"] for p in welcome["past_conversations"]} == {known_past, anon_past}
    assert [r[0] for r in current_rooms(env, known_id)] == [known_current]
    # The anonymous current conversation joined the known one, in order.
    synced = await known_device.request("sync", room_id=known_current, after_seq=0)
    texts = [m["body"] for m in synced["messages"] if m["kind"] == "text"]
    assert texts == ["yang sekarang", "dari perangkat lain"]

    # Erase covers every conversation, past and current.
    assert env.http is not None
    erased = await env.http.delete(f"/api/v1/customers/{known_id}", headers=api(env))
    assert erased.status_code == 200, erased.text
    words = env.sql(
        "SELECT m.body FROM messages m JOIN rooms r ON r.id = m.room_id"
        " WHERE r.customer_id = ? AND m.kind = 'text'",
        (known_id,),
    )
    assert len(words) == 4 and all("pertanyaan" not in w[0] for w in words)
    assert all(w[0] not in ("yang sekarang", "dari perangkat lain") for w in words)


async def test_a_shared_device_lists_only_the_shoppers_own_past_conversations(env: Env) -> None:
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    device, welcome = await env.widget("a")
    assert (await identify(env, "a", welcome["token"], "pembeli-x")).status_code == 200
    device, welcome = await env.widget("a", token=welcome["token"])
    await resolved_conversation(env, device, agent, "p1")
    assert len(await start_over(device)) == 1
    # Y logs in on the same browser: a fresh token, and none of X's conversations.
    as_y = await identify(env, "a", welcome["token"], "pembeli-y")
    _, y_welcome = await env.widget("a", token=as_y.json()["token"])
    assert y_welcome["past_conversations"] == [] and private_rooms(y_welcome) == []
