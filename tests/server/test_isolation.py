"""Nothing crosses between sites, nor between two shoppers of one site."""

from __future__ import annotations

import json

from tests.server.conftest import Env


async def test_another_sites_agent_cannot_touch_a_room_and_hears_nothing(env: Env) -> None:
    widget, _ = await env.widget("a")
    spy, *_ = await env.agent(env.sites["b"].owner_email)
    sent = await widget.request("send", client_msg_id="c1", body="rahasia toko A")
    room_id = sent["message"]["room_id"]
    for frame in (
        {"type": "sync", "room_id": room_id, "after_seq": 0},
        {"type": "send", "room_id": room_id, "client_msg_id": "x", "body": "hi"},
        {"type": "assign", "room_id": room_id, "agent_id": None},
        {"type": "resolve", "room_id": room_id},
        {"type": "typing", "room_id": room_id, "active": True},
        {"type": "read", "room_id": room_id, "seq": 1},
    ):
        kind = frame.pop("type")
        answer = await spy.request(kind, **frame)
        assert answer["type"] == "error" and answer["code"] == "not_found", (kind, answer)
    heard = await spy.drain()
    assert "rahasia" not in json.dumps(heard)
    assert room_id not in json.dumps(heard)


async def test_another_sites_api_token_sees_no_room(env: Env) -> None:
    widget, _ = await env.widget("a")
    room_id = (await widget.request("send", client_msg_id="c1", body="halo"))["message"]["room_id"]
    assert env.http is not None
    b_token = {"authorization": f"Bearer {env.sites['b'].creds.api_token}"}
    assert (await env.http.get(f"/api/v1/rooms/{room_id}", headers=b_token)).status_code == 404
    assert (
        await env.http.get(f"/api/v1/rooms/{room_id}/messages", headers=b_token)
    ).status_code == 404
    listed = (await env.http.get("/api/v1/rooms", headers=b_token)).json()["items"]
    assert room_id not in [r["id"] for r in listed]
    a_token = {"authorization": f"Bearer {env.sites['a'].creds.api_token}"}
    assert (await env.http.get(f"/api/v1/rooms/{room_id}", headers=a_token)).status_code == 200


async def test_a_shopper_cannot_read_or_write_another_shoppers_room(env: Env) -> None:
    alice, _ = await env.widget("a")
    bob, _ = await env.widget("a")
    room_id = (await alice.request("send", client_msg_id="c1", body="alamat saya"))["message"][
        "room_id"
    ]
    assert (await bob.request("sync", room_id=room_id, after_seq=0))["code"] == "not_found"
    intrude = await bob.request("send", room_id=room_id, client_msg_id="x", body="hai")
    assert intrude["code"] == "not_found"
    assert (await bob.request("typing", room_id=room_id, active=True))["code"] == "not_found"
    assert "alamat" not in json.dumps(await bob.drain())


async def test_a_shopper_of_site_b_with_site_a_room_id_gets_not_found(env: Env) -> None:
    alice, _ = await env.widget("a")
    room_id = (await alice.request("send", client_msg_id="c1", body="halo"))["message"]["room_id"]
    mallory, _ = await env.widget("b")
    assert (await mallory.request("sync", room_id=room_id, after_seq=0))["code"] == "not_found"
