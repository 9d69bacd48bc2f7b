"""Public rooms: fan-out, display names, moderation, mutes, slow mode, isolation, FAQ drafts."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from chat_server.domain.models import Author
from chat_server.domain.public_rooms import UNANSWERED_WINDOW
from chat_server.services.public_rooms import create_room
from chat_server.store import open_database
from chat_server.store import rooms as room_store
from chat_server.store.sql import Tx
from chat_server.web.hub import ROOM_SLICE
from tests.server.conftest import Env, SiteFixture, WsClient
from tests.server.test_faq import add_entries

# These tests post quickly from fresh visitors on one address: limits that identities share
# (per address, slow first posts) are tested in test_abuse.py.
pytestmark = pytest.mark.settings(room_posts_per_address=0, room_new_identity_posts=0)


def api(env: Env, site: str = "a") -> dict[str, str]:
    return {"authorization": f"Bearer {env.sites[site].creds.api_token}"}


async def public_rooms(env: Env, site: str = "a") -> list[dict[str, Any]]:
    assert env.http is not None
    response = await env.http.get("/api/v1/rooms?kind=public", headers=api(env, site))
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def default_room(env: Env, site: str = "a") -> str:
    return str((await public_rooms(env, site))[0]["id"])


async def new_room(env: Env, name: str, site: str = "a") -> str:
    assert env.http is not None
    response = await env.http.post("/api/v1/rooms", json={"name": name}, headers=api(env, site))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def visitor(
    env: Env, name: str | None = None, join: str | None = None, site: str = "a"
) -> WsClient:
    client, _ = await env.widget(site)
    if name is not None:
        ack = await client.request("profile", name=name)
        assert ack["type"] == "ack", ack
    if join is not None:
        ack = await client.request("join", room_id=join)
        assert ack["type"] == "ack", ack
    return client


async def post(client: WsClient, room_id: str, cmid: str, body: str, **extra: Any) -> Any:
    return await client.request("send", room_id=room_id, client_msg_id=cmid, body=body, **extra)


def bodies(frames: list[dict[str, Any]], room_id: str) -> list[str]:
    return [
        f["message"]["body"]
        for f in frames
        if f.get("type") == "message" and f["message"]["room_id"] == room_id
    ]


async def test_every_site_has_a_default_room_and_owners_add_more(env: Env) -> None:
    assert env.http is not None
    rooms = await public_rooms(env)
    assert [(r["name"], r["status"], r["position"], r["archived"]) for r in rooms] == [
        ("Tanya Jawab", "open", 1, False)
    ]
    assert rooms[0]["unanswered"] == 0 and rooms[0]["pinned"] is None
    watcher, welcome = await env.widget("a")
    assert [r["name"] for r in welcome["rooms"] if r["kind"] == "public"] == ["Tanya Jawab"]
    assert "unanswered" not in welcome["rooms"][0]

    _, _, agent_session, csrf = await env.agent(env.sites["a"].agent_email)
    refused = await env.http.post(
        "/api/v1/rooms", json={"name": "Promo"}, headers={**agent_session, "x-csrf-token": csrf}
    )
    assert refused.status_code == 403
    bad = await env.http.post("/api/v1/rooms", json={"name": "  "}, headers=api(env))
    assert bad.status_code == 400
    promo = await new_room(env, "Promo")
    # Every widget of the site hears of the new room (welcome.rooms is a list to keep current).
    event = await watcher.event("room", where=lambda f: f["room"]["id"] == promo)
    assert event["room"]["name"] == "Promo" and "unanswered" not in event["room"]

    moved = await env.http.patch(f"/api/v1/rooms/{promo}", json={"position": 0}, headers=api(env))
    assert moved.status_code == 200 and moved.json()["position"] == 0
    _, welcome = await env.widget("a")
    assert [r["name"] for r in welcome["rooms"] if r["kind"] == "public"] == [
        "Promo",
        "Tanya Jawab",
    ]
    archived = await env.http.patch(
        f"/api/v1/rooms/{promo}", json={"archived": True}, headers=api(env)
    )
    assert archived.json()["archived"] is True
    _, welcome = await env.widget("a")
    assert [r["name"] for r in welcome["rooms"] if r["kind"] == "public"] == ["Tanya Jawab"]
    # Staff still list archived rooms, to bring them back.
    assert [r["name"] for r in await public_rooms(env)] == ["Promo", "Tanya Jawab"]
    for body in ({}, {"position": -1}, {"slow_mode_seconds": 3601}, {"archived": "yes"}):
        response = await env.http.patch(f"/api/v1/rooms/{promo}", json=body, headers=api(env))
        assert response.status_code == 400, body
    # Assignee filters are about conversations; public rooms never show up in them.
    listed = await env.http.get("/api/v1/rooms?assignee=none", headers=api(env))
    assert all(r["kind"] == "private" for r in listed.json()["items"])


async def test_one_post_reaches_every_joined_widget_once_in_order(env: Env) -> None:
    room = await default_room(env)
    # More readers than one slice of the hub's fan-out, so the sliced path is the one taken.
    # Opened 16 at a time: a burst of every session request at once measures the test
    # machine (httpx's 5 s timeout on a busy one), not the fan-out this test is about.
    gate = asyncio.Semaphore(16)

    async def reader() -> WsClient:
        async with gate:
            return await visitor(env, join=room)

    readers = await asyncio.gather(*(reader() for _ in range(ROOM_SLICE + 22)))
    outsider = await visitor(env)  # connected, not joined
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    ani, budi = await visitor(env, "Ani", join=room), await visitor(env, "Budi", join=room)
    sent = []
    for i in range(4):
        for who, client in (("ani", ani), ("budi", budi)):
            ack = await post(client, room, f"{who}{i}", f"{who} {i}")
            assert ack["type"] == "ack", ack
            sent.append(ack["message"])
    staff = await post(agent, room, "s1", "Halo semua, ada yang bisa dibantu?")
    sent.append(staff["message"])
    expected = [m["body"] for m in sorted(sent, key=lambda m: m["seq"])]
    assert [m["seq"] for m in sorted(sent, key=lambda m: m["seq"])] == list(range(1, 10))

    async def heard(client: WsClient) -> list[str]:
        got: list[str] = []
        while len(got) < len(expected):
            frame = await client.event("message", wait=10)
            got.append(frame["message"]["body"])
        return got + bodies(await client.drain(0.2), room)

    for got in await asyncio.gather(*(heard(r) for r in [*readers, ani, budi])):
        assert got == expected
    assert bodies(await outsider.drain(), room) == []
    names = {m["author"]["name"] for m in sent}
    assert names == {"Ani", "Budi", "Agent a"}
    for client in [*readers, outsider, ani, budi]:
        await client.close()


async def test_a_display_name_may_not_imitate_staff(env: Env) -> None:
    room = await default_room(env)
    shopper = await visitor(env)
    # No name chosen yet: a generated one (PROTOCOL v1 clients never send `profile`).
    unnamed = await post(shopper, room, "c0", "halo")
    assert unnamed["message"]["author"]["name"].startswith("Pembeli ")
    for name in ("Admin", "4dm1n Toko", "CS Rina", "a.d.m.i.n", "ＡＤＭＩＮ", "Agent A", "OWNER a"):
        answer = await shopper.request("profile", name=name)
        assert answer["type"] == "error" and answer["code"] == "forbidden", name
    for name in ("x", "y" * 41, "   ", "!!!"):
        answer = await shopper.request("profile", name=name)
        assert answer["code"] == "bad_request", name
    ack = await shopper.request("profile", name="  Siti   Aminah ")
    assert ack["customer"]["name"] == "Siti Aminah"
    posted = await post(shopper, room, "c1", "halo lagi")
    assert posted["message"]["author"] == {
        "kind": "customer",
        "id": ack["customer"]["id"],
        "name": "Siti Aminah",
    }
    # The agent console's side: the name is the customer's name everywhere.
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    assert (await agent.request("profile", name="Rina"))["code"] == "bad_request"


async def test_hiding_withdraws_a_message_from_every_visitor_and_unhiding_restores_it(
    env: Env,
) -> None:
    assert env.http is not None
    room = await default_room(env)
    ani = await visitor(env, "Ani", join=room)
    watcher = await visitor(env, join=room)
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    other_agent, *_ = await env.agent(env.sites["a"].owner_email)
    spam = (await post(ani, room, "c1", "promo judi online"))["message"]
    fine = (await post(ani, room, "c2", "ada warna merah?"))["message"]
    answer = await post(agent, room, "s1", "Ada kak", reply_to=spam["id"])
    assert answer["type"] == "ack"
    pinned = await agent.request("room_settings", room_id=room, pinned_message_id=spam["id"])
    assert pinned["room"]["pinned"]["id"] == spam["id"]
    for client in (ani, watcher):
        shown = await client.event("room", where=lambda f: f["room"]["pinned"] is not None)
        assert shown["room"]["pinned"]["body"] == "promo judi online"
        await client.drain()

    hidden = await agent.request("moderate", room_id=room, message_id=spam["id"], action="hide")
    assert hidden["message"]["hidden"] is True
    for client in (ani, watcher):
        gone = await client.event("withdrawn")
        assert gone == {"type": "withdrawn", "room_id": room, "message_id": spam["id"]}
        # A hidden message cannot stay pinned.
        unpinned = await client.event("room", where=lambda f: f["room"]["id"] == room)
        assert unpinned["room"]["pinned"] is None
    seen = await other_agent.event("moderated")
    assert seen["action"] == "hide" and seen["message"]["hidden"] is True
    assert seen["by"]["name"] == "Agent a"

    # Visitors: not in sync, join or history; nor quoted inside the answer to it.
    synced = await watcher.request("sync", room_id=room, after_seq=0)
    joined = await watcher.request("join", room_id=room)
    history = await watcher.request("history", room_id=room)
    for listing in (synced["messages"], joined["messages"], history["messages"]):
        assert [m["id"] for m in listing] == [fine["id"], answer["message"]["id"]]
        assert listing[-1]["reply_to"] == {"id": spam["id"], "hidden": True}
        assert "judi" not in json.dumps(listing)
    # Staff: everything, flagged.
    staff_sync = await agent.request("sync", room_id=room, after_seq=0)
    flagged = {m["id"]: m.get("hidden", False) for m in staff_sync["messages"]}
    assert flagged[spam["id"]] is True and flagged[fine["id"]] is False
    staff_history = await agent.request("history", room_id=room, limit=2)
    assert staff_history["messages"][-1]["reply_to"]["hidden"] is True
    rest = await env.http.get(f"/api/v1/rooms/{room}/messages", headers=api(env))
    assert [m.get("hidden", False) for m in rest.json()["items"]] == [True, False, False]
    assert (await agent.request("room_settings", room_id=room, pinned_message_id=spam["id"]))[
        "code"
    ] == "conflict"
    assert (await post(agent, room, "s2", "x", reply_to=spam["id"]))["code"] == "conflict"
    assert (await post(ani, room, "c3", "x", reply_to=spam["id"]))["code"] == "not_found"

    # Hiding twice changes nothing and tells nobody.
    again = await agent.request("moderate", room_id=room, message_id=spam["id"], action="hide")
    assert again["type"] == "ack"
    assert [f["type"] for f in await watcher.drain()] == []

    restored = await agent.request("moderate", room_id=room, message_id=spam["id"], action="unhide")
    assert "hidden" not in restored["message"]
    back = await watcher.event("message")
    assert back["message"]["id"] == spam["id"] and back["message"]["body"] == "promo judi online"
    synced = await watcher.request("sync", room_id=room, after_seq=0)
    assert synced["messages"][0]["id"] == spam["id"]
    assert synced["messages"][-1]["reply_to"]["body"] == "promo judi online"
    bad = await agent.request("moderate", room_id=room, message_id="msg_nope", action="hide")
    assert bad["code"] == "not_found"
    assert (await agent.request("moderate", room_id=room, message_id=spam["id"], action="x"))[
        "code"
    ] == "bad_request"
    # Visitors do not moderate.
    assert (await ani.request("moderate", room_id=room, message_id=fine["id"], action="hide"))[
        "code"
    ] == "bad_request"


async def test_a_visitor_who_was_away_drops_what_was_hidden_and_gets_back_what_was_unhidden(
    env: Env,
) -> None:
    room = await default_room(env)
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    ani = await visitor(env, "Ani", join=room)
    question = (await post(ani, room, "c1", "promo judi online"))["message"]
    fine = (await post(ani, room, "c2", "ada warna merah?"))["message"]
    answer = (await post(agent, room, "s1", "Ada kak", reply_to=question["id"]))["message"]
    watcher, session = await env.widget("a")
    joined = await watcher.request("join", room_id=room)
    base, held = joined["room"]["last_rev"], answer["seq"]
    assert [m["id"] for m in joined["messages"]] == [question["id"], fine["id"], answer["id"]]
    staff_base = await agent.request("sync", room_id=room, after_seq=held, since_rev=base)
    assert staff_base["updates"] == [] and "withdrawn" not in staff_base
    await watcher.close()

    # Hidden while the watcher is away: it learns the id, never the message.
    await agent.request("moderate", room_id=room, message_id=question["id"], action="hide")
    watcher, welcome = await env.widget("a", token=session["token"])
    listed = next(r for r in welcome["rooms"] if r["id"] == room)
    assert listed["last_rev"] == base + 1
    caught = await watcher.request("sync", room_id=room, after_seq=held, since_rev=base)
    assert caught["withdrawn"] == [question["id"]]
    assert caught["updates"] == [] and caught["messages"] == []
    assert caught["rev"] == base + 1 and caught["has_more"] is False
    assert "judi" not in json.dumps(caught)
    # A v1 client's sync is as it always was.
    plain = await watcher.request("sync", room_id=room, after_seq=held)
    assert set(plain) == {"type", "ref", "messages", "has_more"}
    # Staff see the flag change as an ordinary update.
    staff = await agent.request("sync", room_id=room, after_seq=held, since_rev=base)
    assert [(m["id"], m.get("hidden")) for m in staff["updates"]] == [(question["id"], True)]
    assert "withdrawn" not in staff and staff["rev"] == base + 1
    await watcher.close()

    # Unhidden while away: back among the updates, quoted again in its answer's next load.
    await agent.request("moderate", room_id=room, message_id=question["id"], action="unhide")
    watcher, _ = await env.widget("a", token=session["token"])
    back = await watcher.request("sync", room_id=room, after_seq=held, since_rev=base + 1)
    assert back["withdrawn"] == [] and back["rev"] == base + 2
    assert [(m["id"], m["body"]) for m in back["updates"]] == [
        (question["id"], "promo judi online")
    ]
    assert "hidden" not in back["updates"][0]
    # From before both: only where it stands now.
    both = await watcher.request("sync", room_id=room, after_seq=held, since_rev=base)
    assert both["withdrawn"] == [] and [m["id"] for m in both["updates"]] == [question["id"]]
    staff = await agent.request("sync", room_id=room, after_seq=held, since_rev=base + 1)
    assert [(m["id"], m.get("hidden")) for m in staff["updates"]] == [(question["id"], None)]
    # Nothing else changed: the answer and the other post keep rev 0.
    assert {m["id"] for m in both["updates"]}.isdisjoint({fine["id"], answer["id"]})


async def test_withdrawn_ids_count_against_the_catch_up_page(env: Env) -> None:
    room = await default_room(env)
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    posts = []
    for i in range(6):
        sent = await post(agent, room, f"s{i}", f"info {i}")
        posts.append(sent["message"])
    ids = [p["id"] for p in posts]
    reader = await visitor(env)
    base = (await reader.request("join", room_id=room))["room"]["last_rev"]
    held = posts[-1]["seq"]

    async def moderate(message_id: str, action: str) -> None:
        done = await agent.request("moderate", room_id=room, message_id=message_id, action=action)
        assert done["type"] == "ack", done

    await moderate(ids[0], "hide")  # base + 1
    await moderate(ids[1], "hide")  # base + 2, taken again below
    assert (await agent.request("edit", message_id=ids[2], body="info 2, diperbaiki"))[
        "type"
    ] == "ack"  # base + 3
    await moderate(ids[3], "hide")  # base + 4
    await moderate(ids[1], "unhide")  # base + 5
    await moderate(ids[4], "hide")  # base + 6

    pages = []
    since, more = base, True
    while more:
        page = await reader.request("sync", room_id=room, after_seq=held, since_rev=since, limit=2)
        assert page["messages"] == []
        pages.append(([m["id"] for m in page["updates"]], page["withdrawn"], page["rev"]))
        since, more = page["rev"], page["has_more"]
    assert pages == [
        ([ids[2]], [ids[0]], base + 3),
        ([ids[1]], [ids[3]], base + 5),
        ([], [ids[4]], base + 6),
    ]
    # Staff page the same changes as updates.
    staff = await agent.request("sync", room_id=room, after_seq=held, since_rev=base, limit=3)
    assert [m["id"] for m in staff["updates"]] == [ids[0], ids[2], ids[3]]
    assert staff["has_more"] is True and staff["rev"] == base + 4
    # Hiding what is hidden takes no rev.
    await moderate(ids[0], "hide")
    again = await reader.request("sync", room_id=room, after_seq=held, since_rev=base + 6)
    assert again["withdrawn"] == [] and again["updates"] == [] and again["rev"] == base + 6


async def test_mutes_and_slow_mode(env: Env) -> None:
    room = await default_room(env)
    second = await new_room(env, "Obrolan")
    ani, budi = await visitor(env, "Ani"), await visitor(env, "Budi")
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    first = (await post(ani, room, "c1", "halo"))["message"]
    customer_id = first["author"]["id"]

    muted = await agent.request("mute", room_id=room, customer_id=customer_id, minutes=10)
    assert muted["until"].endswith("Z")
    told = await ani.event("muted")
    assert told["until"] == muted["until"] and told["room_id"] == room
    refused = await post(ani, room, "c2", "halo lagi")
    assert refused["code"] == "forbidden" and muted["until"] in refused["message"]
    assert (await post(ani, second, "c3", "di sini boleh"))["type"] == "ack"
    assert (await post(budi, room, "b1", "saya boleh"))["type"] == "ack"
    for bad in (
        {"customer_id": customer_id, "minutes": 10081},
        {"customer_id": customer_id, "minutes": -1},
        {"customer_id": "cus_nope", "minutes": 5},
    ):
        answer = await agent.request("mute", room_id=room, **bad)
        assert answer["code"] in ("bad_request", "not_found"), bad
    unmuted = await agent.request("mute", room_id=room, customer_id=customer_id, minutes=0)
    assert unmuted["until"] is None
    assert (await post(ani, room, "c2", "halo lagi"))["type"] == "ack"

    slow = await agent.request("room_settings", room_id=second, slow_mode_seconds=30)
    assert slow["room"]["slow_mode_seconds"] == 30
    assert (await post(budi, second, "b2", "pertama"))["type"] == "ack"
    waiting = await post(budi, second, "b3", "kedua")
    assert waiting["code"] == "rate_limited" and "wait" in waiting["message"]
    assert (await post(agent, second, "s1", "staff are not slowed"))["type"] == "ack"
    assert (await post(agent, second, "s2", "not at all"))["type"] == "ack"
    # Slow mode is per room.
    assert (await post(budi, room, "b4", "di room lain"))["type"] == "ack"
    # Owners only rename, archive or reorder; any agent sets slow mode, pins and mutes.
    assert (await agent.request("room_settings", room_id=second, name="X"))["code"] == "forbidden"
    assert (await agent.request("room_settings", room_id=second))["code"] == "bad_request"


async def test_a_visitor_hears_nothing_of_rooms_not_joined_nor_of_other_sites(env: Env) -> None:
    assert env.http is not None
    room_a1 = await default_room(env)
    room_a2 = await new_room(env, "Room dua")
    room_b = await default_room(env, "b")
    listener = await visitor(env, join=room_a1)
    poster = await visitor(env, "Poster", join=room_a2)
    await post(poster, room_a2, "c1", "rahasia room dua")
    assert "rahasia" not in json.dumps(await listener.drain())

    mallory = await visitor(env, "Mallory", site="b")
    for frame in (
        {"type": "join", "room_id": room_a1},
        {"type": "sync", "room_id": room_a1, "after_seq": 0},
        {"type": "history", "room_id": room_a1},
        {"type": "send", "room_id": room_a1, "client_msg_id": "m1", "body": "hi"},
    ):
        kind = frame.pop("type")
        answer = await mallory.request(kind, **frame)
        assert answer["code"] == "not_found", (kind, answer)
    spy, *_ = await env.agent(env.sites["b"].owner_email)
    for kind, fields in (
        ("moderate", {"room_id": room_a1, "message_id": "x", "action": "hide"}),
        ("mute", {"room_id": room_a1, "customer_id": "x", "minutes": 1}),
        ("room_settings", {"room_id": room_a1, "slow_mode_seconds": 5}),
        ("history", {"room_id": room_a1}),
    ):
        assert (await spy.request(kind, **fields))["code"] == "not_found", kind
    b_token = api(env, "b")
    patch = await env.http.patch(f"/api/v1/rooms/{room_a1}", json={"name": "x"}, headers=b_token)
    assert patch.status_code == 404
    faq = await env.http.post(f"/api/v1/rooms/{room_a1}/messages/x/faq", headers=b_token)
    assert faq.status_code == 404
    assert room_a1 not in [r["id"] for r in await public_rooms(env, "b")]
    assert room_b not in [r["id"] for r in await public_rooms(env, "a")]
    heard = json.dumps(await spy.drain())
    assert "rahasia" not in heard and room_a1 not in heard

    # A conversation is not a room to join, nor to moderate.
    private = (await poster.request("send", client_msg_id="p1", body="pesanan saya?"))["message"]
    assert (await poster.request("join", room_id=private["room_id"]))["code"] == "bad_request"
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    hide = {"room_id": private["room_id"], "message_id": private["id"], "action": "hide"}
    assert (await agent.request("moderate", **hide))["code"] == "bad_request"
    # Notes stay in conversations; read marks of a public room stay with their reader.
    note = await post(agent, room_a1, "n1", "catatan", kind="note")
    assert note["code"] == "bad_request"
    staff_post = await post(agent, room_a1, "s1", "halo")
    neighbour = await visitor(env, join=room_a1)
    read = await listener.request("read", room_id=room_a1, seq=staff_post["message"]["seq"])
    assert read["type"] == "ack"
    assert [f for f in await neighbour.drain() if f["type"] == "read"] == []


async def test_archived_rooms_are_read_only_for_visitors(env: Env) -> None:
    room = await new_room(env, "Lama")
    ani = await visitor(env, "Ani", join=room)
    await post(ani, room, "c1", "sebelum diarsipkan")
    owner, *_ = await env.agent(env.sites["a"].owner_email)
    archived = await owner.request("room_settings", room_id=room, archived=True)
    assert archived["room"]["archived"] is True
    await ani.event("room", where=lambda f: f["room"]["id"] == room and f["room"]["archived"])
    refused = await post(ani, room, "c2", "sesudah")
    assert refused["code"] == "forbidden" and "archived" in refused["message"]
    # A resend of what was stored before still answers the stored message.
    again = await post(ani, room, "c1", "sebelum diarsipkan")
    assert again["duplicate"] is True
    joined = await ani.request("join", room_id=room)
    assert [m["body"] for m in joined["messages"]] == ["sebelum diarsipkan"]


async def test_floods_are_refused_and_resends_still_answer(env: Env) -> None:
    room = await default_room(env)
    second = await new_room(env, "Kedua")
    ani = await visitor(env, "Ani")
    for i in range(5):
        assert (await post(ani, room if i % 2 else second, f"c{i}", f"pesan {i}"))["type"] == "ack"
    flooded = await post(ani, room, "c5", "pesan 5")
    assert flooded["code"] == "rate_limited" and "wait" in flooded["message"]
    assert (await post(ani, room, "c1", "pesan 1"))["duplicate"] is True
    # Another visitor has an allowance of their own.
    budi = await visitor(env, "Budi")
    assert (await post(budi, room, "b1", "halo"))["type"] == "ack"
    # Private conversations are not limited by public-room rates.
    assert (await ani.request("send", client_msg_id="p1", body="tolong"))["type"] == "ack"


async def test_history_pages_backwards_within_bounds(env: Env) -> None:
    room = await default_room(env)
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    for i in range(70):
        frame = {"type": "send", "room_id": room, "client_msg_id": f"s{i}", "body": f"info {i}"}
        await agent.ws.send(json.dumps(frame))
    # A socket's frames are handled in order: once the ping is answered, all 70 are stored.
    await agent.request("ping", wait=10)
    reader = await visitor(env)
    joined = await reader.request("join", room_id=room)
    assert [m["seq"] for m in joined["messages"]] == list(range(21, 71))
    page = await reader.request("history", room_id=room, before_seq=21)
    assert [m["seq"] for m in page["messages"]] == list(range(1, 21))
    assert page["has_more"] is False
    page = await reader.request("history", room_id=room, before_seq=41, limit=10)
    assert [m["seq"] for m in page["messages"]] == list(range(31, 41)) and page["has_more"]
    biggest = await reader.request("history", room_id=room, limit=50)
    assert len(biggest["messages"]) == 50
    for bad in (
        {"limit": 51},
        {"limit": 0},
        {"limit": 10**9},
        {"before_seq": 0},
        {"before_seq": "x"},
        {"limit": True},
    ):
        answer = await reader.request("history", room_id=room, **bad)
        assert answer["code"] == "bad_request", bad
    assert (await reader.request("sync", room_id=room, after_seq=0, limit=201))[
        "code"
    ] == "bad_request"


async def test_an_answer_shows_the_question_it_replies_to(env: Env) -> None:
    room = await default_room(env)
    other = await new_room(env, "Lain")
    ani = await visitor(env, "Ani", join=room)
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    question = (await post(ani, room, "c1", "Kak, ada ukuran XL?" + " panjang" * 40))["message"]
    assert (await public_rooms(env))[0]["unanswered"] == 1
    answer = await post(agent, room, "s1", "Ada kak, stok 3.", reply_to=question["id"])
    quoted = answer["message"]["reply_to"]
    assert quoted["id"] == question["id"] and quoted["author"]["name"] == "Ani"
    assert len(quoted["body"]) == 200 and quoted["body"].startswith("Kak, ada ukuran XL?")
    live = await ani.event("message", where=lambda f: f["message"]["id"] == answer["message"]["id"])
    assert live["message"]["reply_to"] == quoted
    synced = await ani.request("sync", room_id=room, after_seq=question["seq"])
    assert synced["messages"][0]["reply_to"] == quoted
    assert (await public_rooms(env))[0]["unanswered"] == 0
    # Only messages of the same room, and only text, can be answered.
    elsewhere = await post(agent, other, "s2", "x", reply_to=question["id"])
    assert elsewhere["code"] == "not_found"
    assert (await post(agent, room, "s3", "x", reply_to="msg_nope"))["code"] == "not_found"
    assert (await ani.request("send", client_msg_id="c2", body="x", reply_to="m"))[
        "code"
    ] == "bad_request"


async def test_owners_turn_an_answered_question_into_a_draft_faq_entry(env: Env) -> None:
    assert env.http is not None
    room = await default_room(env)
    ani = await visitor(env, "Ani")
    agent, _, agent_session, csrf = await env.agent(env.sites["a"].agent_email)
    question = (await post(ani, room, "c1", "Bisa kirim ke Bali?"))["message"]
    unanswered = (await post(ani, room, "c2", "Ada promo?"))["message"]
    await post(agent, room, "s1", "Bisa, 2-3 hari.", reply_to=question["id"])
    await post(agent, room, "s2", "Bisa kak, ongkir mulai Rp20.000.", reply_to=question["id"])
    url = f"/api/v1/rooms/{room}/messages/{question['id']}/faq"
    refused = await env.http.post(url, headers={**agent_session, "x-csrf-token": csrf})
    assert refused.status_code == 403
    created = await env.http.post(url, headers=api(env))
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["question"] == "Bisa kirim ke Bali?"
    assert entry["answer"] == "Bisa kak, ongkir mulai Rp20.000."
    assert entry["status"] == "draft" and entry["lang"] == "id"
    drafts = await env.http.get("/api/v1/faq?status=draft", headers=api(env))
    assert [e["id"] for e in drafts.json()["items"]] == [entry["id"]]
    none = await env.http.post(
        f"/api/v1/rooms/{room}/messages/{unanswered['id']}/faq", headers=api(env)
    )
    assert none.status_code == 409
    staff = (await post(agent, room, "s3", "pengumuman"))["message"]
    for message_id in ("msg_nope", staff["id"]):
        missing = await env.http.post(
            f"/api/v1/rooms/{room}/messages/{message_id}/faq", headers=api(env)
        )
        assert missing.status_code == 404


async def test_faq_answers_a_public_question_to_the_asker_only(env: Env) -> None:
    await add_entries(env)
    room = await default_room(env)
    ani = await visitor(env, "Ani", join=room)
    watcher = await visitor(env, join=room)
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    question = (await post(ani, room, "c1", "bisa cod gk kak?"))["message"]
    mine = await ani.event("suggestions", wait=10)
    assert mine["for_message_id"] == question["id"] and mine["room_id"] == room
    assert "COD" in mine["items"][0]["question"]
    staff = await agent.event("suggestions", wait=10)
    assert staff["for_message_id"] == question["id"]
    assert [f for f in await watcher.drain(0.5) if f["type"] == "suggestions"] == []


async def test_agent_unread_counts_from_the_read_mark_and_at_most_the_latest_window(
    tmp_path: Path, seeded_db: tuple[Path, dict[str, SiteFixture]]
) -> None:
    path = tmp_path / "unread.db"
    shutil.copyfile(seeded_db[0], path)
    site = seeded_db[1]["a"]
    db = open_database(str(path), readers=1)
    await db.open()
    try:
        busy = await create_room(db, site.creds.site_id, "Busy")
        shopper = Author("customer", "cus_unread", "Pembeli")

        def posts(conn: Tx) -> None:
            for n in range(UNANSWERED_WINDOW + 3):
                room = room_store.load_room(conn, busy.site_id, busy.id)
                assert room is not None
                room_store.append_message(conn, room, "text", f"q{n}", shopper, f"c{n}")

        await db.write(posts)

        async def unread() -> int:
            rooms = await room_store.list_rooms(db, busy.site_id, site.agent_id, kind="public")
            return int(next(r for r in rooms if r.id == busy.id).extra["unread"])

        async def mark(seq: int) -> int:
            return await db.write(
                lambda conn: room_store.set_read_mark(conn, busy.id, "agent", site.agent_id, seq)
            )

        # Never read: only the latest window counts, not the whole history.
        assert await unread() == UNANSWERED_WINDOW
        assert await mark(2) == 2 and await unread() == UNANSWERED_WINDOW
        assert await mark(UNANSWERED_WINDOW + 1) == UNANSWERED_WINDOW + 1 and await unread() == 2
        # A read mark never moves back.
        assert await mark(5) == UNANSWERED_WINDOW + 1 and await unread() == 2
    finally:
        await db.close()
