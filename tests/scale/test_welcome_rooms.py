"""Each process keeps its sites' public-room listing for the welcomes it serves
(services/public_rooms.py `WelcomeRooms`): a change made through the other process still
shows in this one's next welcome."""

from __future__ import annotations

import secrets
from typing import Any

from tests.scale.conftest import Cluster, Node


async def session_rooms(node: Node) -> dict[str, dict[str, Any]]:
    """The public rooms a new widget session on `node` lists, by id."""
    site = node.sites["a"]
    response = await node.http.post(
        "/api/widget/session",
        json={"site_key": site.creds.site_key},
        headers={"origin": site.origin},
    )
    assert response.status_code == 200, response.text
    return {r["id"]: r for r in response.json()["config"]["rooms"] if r["kind"] == "public"}


async def hello_rooms(node: Node) -> dict[str, dict[str, Any]]:
    """The same from the welcome of a widget that says hello on `node`."""
    client, welcome = await node.widget(await node.widget_token())
    await client.close()
    return {r["id"]: r for r in welcome["rooms"] if r["kind"] == "public"}


async def test_a_room_change_on_one_process_shows_in_the_others_next_welcome(
    cluster: Cluster,
) -> None:
    a, b = cluster.nodes
    site = cluster.sites["a"]
    api = {"Authorization": f"Bearer {site.creds.api_token}"}
    before = await session_rooms(a)  # a's listing is now kept...
    assert before == await hello_rooms(a)  # ...and serves hellos too
    listener, _ = await a.widget(await a.widget_token())

    # A new room, made through b.
    name = f"Promo {secrets.token_hex(3)}"
    made = await b.http.post("/api/v1/rooms", json={"name": name}, headers=api)
    assert made.status_code == 201, made.text
    room_id = made.json()["id"]
    await listener.event("room", where=lambda f: f["room"]["id"] == room_id)
    assert (await session_rooms(a))[room_id]["name"] == name
    assert (await hello_rooms(a))[room_id]["name"] == name

    # A post in it, through b: a's next welcomes count it.
    ack = await listener.request("join", room_id=room_id)
    assert ack["type"] == "ack", ack
    owner, _ = await b.agent(await b.agent_cookie(site.owner_email))
    sent = await owner.request("send", room_id=room_id, client_msg_id="w-1", body="Diskon!")
    assert sent["type"] == "ack", sent
    await listener.event("message", where=lambda f: f["message"]["id"] == sent["message"]["id"])
    assert (await session_rooms(a))[room_id]["last_seq"] == sent["message"]["seq"]
    assert (await hello_rooms(a))[room_id]["last_seq"] == sent["message"]["seq"]

    # Pinned, then archived, through b: a lists it pinned, then no more.
    pin = await owner.request(
        "room_settings", room_id=room_id, pinned_message_id=sent["message"]["id"]
    )
    assert pin["type"] == "ack", pin
    await listener.event("room", where=lambda f: f["room"]["pinned"] is not None)
    assert (await session_rooms(a))[room_id]["pinned"]["id"] == sent["message"]["id"]
    archived = await owner.request("room_settings", room_id=room_id, archived=True)
    assert archived["type"] == "ack", archived
    await listener.event("room", where=lambda f: f["room"]["archived"])
    assert room_id not in await session_rooms(a)
    assert room_id not in await hello_rooms(a)
    assert await session_rooms(a) == await session_rooms(b)
    await owner.close()
    await listener.close()
