"""The FAQ follow-up of a shopper's message (services/faq.py `on_customer_message`): the
same words ranked once per FAQ revision, no ranking when nobody would see it, and a burst
of messages ranked for its first and its latest."""

from __future__ import annotations

import pytest

from tests.server.conftest import Env
from tests.server.test_faq import ENTRIES, add_entries, owner_token
from tests.server.test_public_rooms import default_room, post, visitor


async def counter(env: Env, name: str) -> float:
    assert env.http is not None
    for line in (await env.http.get("/metrics")).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


async def test_the_same_words_again_get_the_same_suggestions_from_one_ranking(env: Env) -> None:
    created = await add_entries(env)
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    reused = await counter(env, "sapa_faq_rankings_reused_total")
    cards = []
    for i in range(2):  # two shoppers, the same words
        widget, _ = await env.widget("a")
        sent = await widget.request("send", client_msg_id=f"q{i}", body="bisa cod gk kak?")
        message_id = sent["message"]["id"]
        for_agent = await agent.event("suggestions", for_message_id=message_id)
        for_shopper = await widget.event("suggestions", for_message_id=message_id)
        assert for_agent["items"][0]["faq_id"] == created[1]["id"]
        assert for_shopper["items"][0]["faq_id"] == created[1]["id"]
        cards.append((for_agent["items"], for_shopper["items"]))
    assert cards[0] == cards[1]
    assert await counter(env, "sapa_faq_rankings_reused_total") >= reused + 1

    # A changed FAQ ranks afresh: the new entry is offered for the same words.
    assert env.http is not None
    changed = await env.http.put(
        f"/api/v1/faq/{created[1]['id']}",
        json={**ENTRIES[1], "answer": "Tidak bisa, maaf."},
        headers=owner_token(env),
    )
    assert changed.status_code == 200, changed.text
    widget, _ = await env.widget("a")
    sent = await widget.request("send", client_msg_id="q9", body="bisa cod gk kak?")
    card = await agent.event("suggestions", for_message_id=sent["message"]["id"])
    assert card["items"][0]["answer"] == "Tidak bisa, maaf."


async def test_no_ranking_while_no_agent_is_connected_and_the_shopper_is_answered(
    env: Env,
) -> None:
    assert env.http is not None
    created = await add_entries(env)
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    widget, _ = await env.widget("a")
    first = await widget.request("send", client_msg_id="q1", body="halo kak")
    room_id = first["message"]["room_id"]
    await agent.event("suggestions", for_message_id=first["message"]["id"])
    await agent.request("send", room_id=room_id, client_msg_id="r1", body="Halo kak")
    await agent.close()
    while (await env.widget_session("a"))["config"]["agents_online"]:
        pass  # the server saw the console close
    skipped = await counter(env, "sapa_faq_suggestions_skipped_total")
    later = await widget.request("send", client_msg_id="q2", body="bisa cod gk kak?")
    for _ in range(1000):
        if await counter(env, "sapa_faq_suggestions_skipped_total") > skipped:
            break
    else:
        raise AssertionError("the follow-up ranked for nobody")
    # An agent who opens the conversation still gets them for the latest message.
    got = await env.http.get(f"/api/v1/rooms/{room_id}/suggestions", headers=owner_token(env))
    assert got.status_code == 200, got.text
    assert got.json()["for_message_id"] == later["message"]["id"]
    assert got.json()["items"][0]["faq_id"] == created[1]["id"]


async def test_a_burst_of_messages_is_ranked_for_its_first_and_its_latest(env: Env) -> None:
    created = await add_entries(env)
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    widget, _ = await env.widget("a")
    held = await counter(env, "sapa_faq_suggestions_held_total")
    bodies = ("bisa cod gk kak?", "ongkir ke medan brp?", "kalau cod bisa ke medan kak?")
    sent = [
        (await widget.request("send", client_msg_id=f"b{i}", body=body))["message"]["id"]
        for i, body in enumerate(bodies)
    ]
    first = await agent.event("suggestions", for_message_id=sent[0])
    assert first["items"][0]["faq_id"] == created[1]["id"]
    latest = await agent.event("suggestions", for_message_id=sent[2])
    assert latest["items"], latest
    # The middle message was replaced by the latest before its burst's window ended.
    others = [f for f in await agent.drain(0.5) if f["type"] == "suggestions"]
    assert [f["for_message_id"] for f in others] == []
    assert await counter(env, "sapa_faq_suggestions_held_total") == held + 1
    # The shopper, still queued, is offered the latest message's answers too.
    await widget.event("suggestions", for_message_id=sent[2])


@pytest.mark.settings(faq_burst_seconds=0)
async def test_without_a_burst_window_every_message_is_ranked(env: Env) -> None:
    await add_entries(env)
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    widget, _ = await env.widget("a")
    for i, body in enumerate(("bisa cod gk kak?", "ongkir ke medan brp?", "cod ke medan?")):
        sent = await widget.request("send", client_msg_id=f"z{i}", body=body)
        await agent.event("suggestions", for_message_id=sent["message"]["id"])


# A window longer than the test: a question held back would never be ranked in it.
@pytest.mark.settings(faq_burst_seconds=30)
async def test_visitors_in_a_public_room_are_each_their_own_burst(env: Env) -> None:
    await add_entries(env)
    room = await default_room(env)
    ani = await visitor(env, "Ani", join=room)
    budi = await visitor(env, "Budi", join=room)
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    asked = [
        (await post(ani, room, "p1", "bisa cod gk kak?"))["message"]["id"],
        (await post(budi, room, "p2", "bisa cod ke medan?"))["message"]["id"],
    ]
    # Budi asked within Ani's window: his question is still ranked at once, for him.
    for client, message_id in ((ani, asked[0]), (budi, asked[1])):
        mine = await client.event("suggestions")
        assert mine["for_message_id"] == message_id
        await agent.event("suggestions", for_message_id=message_id)
