"""The shopper's socket: hello, sending, syncing, and every way a frame can be wrong."""

from __future__ import annotations

import json

import pytest
import websockets

from tests.conftest import timeout
from tests.server.conftest import Env


async def closed_with(client_ws: websockets.asyncio.client.ClientConnection) -> int | None:
    try:
        while True:
            await __import__("asyncio").wait_for(client_ws.recv(), timeout(5))
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def test_first_send_creates_the_private_room_and_acks_after_storing(env: Env) -> None:
    widget, welcome = await env.widget("a")
    # Only the site's default public room until the first message opens the conversation.
    assert [r["kind"] for r in welcome["rooms"]] == ["public"]
    ack = await widget.request("send", client_msg_id="c1", body="halo kak, ongkir ke medan brp?")
    assert ack["type"] == "ack"
    message = ack["message"]
    assert message["seq"] == 1 and message["kind"] == "text"
    assert message["author"]["kind"] == "customer"
    assert message["client_msg_id"] == "c1"
    synced = await widget.request("sync", room_id=message["room_id"], after_seq=0)
    assert [m["id"] for m in synced["messages"]] == [message["id"]]
    # A second welcome names the conversation now that it exists.
    again, welcome2 = await env.widget("a", token=welcome["token"])
    assert [r["id"] for r in welcome2["rooms"] if r["kind"] == "private"] == [message["room_id"]]
    assert welcome2["rooms"][0]["status"] == "queued"
    await again.close()


async def test_resending_a_client_msg_id_returns_the_stored_message(env: Env) -> None:
    widget, _ = await env.widget("a")
    first = await widget.request("send", client_msg_id="same", body="satu")
    second = await widget.request("send", client_msg_id="same", body="satu")
    assert second["message"]["id"] == first["message"]["id"]
    assert second["duplicate"] is True and first["duplicate"] is False
    synced = await widget.request("sync", room_id=first["message"]["room_id"], after_seq=0)
    assert len(synced["messages"]) == 1


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_request"),
        ("[1, 2]", "bad_request"),
        ('{"ref": "x"}', "bad_request"),
        ('{"type": "dance", "ref": "x"}', "bad_request"),
        ('{"type": "send", "ref": "x", "body": "hi"}', "bad_request"),
        ('{"type": "send", "ref": "x", "client_msg_id": "", "body": "hi"}', "bad_request"),
        ('{"type": "send", "ref": "x", "client_msg_id": "c", "body": "   "}', "bad_request"),
        (
            '{"type": "send", "ref": "x", "client_msg_id": "c", "body": "hi", "kind": "note"}',
            "bad_request",
        ),
        ('{"type": "sync", "ref": "x", "room_id": "r", "after_seq": -1}', "bad_request"),
        (
            '{"type": "sync", "ref": "x", "room_id": "r", "after_seq": 0, "limit": 201}',
            "bad_request",
        ),
        ('{"type": "sync", "ref": "x", "room_id": "nope", "after_seq": 0}', "not_found"),
        ('{"type": "assign", "ref": "x", "room_id": "r", "agent_id": null}', "bad_request"),
        ('{"type": "hello", "ref": "x", "token": "t"}', "bad_request"),
    ],
)
async def test_bad_frames_get_error_frames_and_the_socket_keeps_serving(
    env: Env, frame: str, code: str
) -> None:
    widget, _ = await env.widget("a")
    await widget.send_raw(frame)
    error = await widget.event("error")
    assert error["code"] == code
    if '"ref"' in frame:
        assert error["ref"] == "x"
    ack = await widget.request("send", client_msg_id="after", body="still here")
    assert ack["type"] == "ack"


async def test_a_body_over_4000_characters_is_too_large_and_4000_is_fine(env: Env) -> None:
    widget, _ = await env.widget("a")
    refused = await widget.request("send", client_msg_id="big", body="é" * 4001)
    assert refused["type"] == "error" and refused["code"] == "too_large"
    accepted = await widget.request("send", client_msg_id="max", body="é" * 4000)
    assert accepted["type"] == "ack"


async def test_a_frame_over_the_limit_closes_with_1009(env: Env) -> None:
    widget, _ = await env.widget("a")
    await widget.send_raw(json.dumps({"type": "ping", "pad": "x" * 70_000}))
    assert await closed_with(widget.ws) == 1009


async def test_no_hello_in_time_closes_with_4408(env: Env) -> None:
    ws = await env.connect("/ws/widget", env.sites["a"].origin)
    assert await closed_with(ws) == 4408


async def test_wrong_or_missing_token_closes_with_4401(env: Env) -> None:
    for hello in ({"type": "hello", "token": "forged"}, {"type": "hello"}, {"type": "send"}):
        ws = await env.connect("/ws/widget", env.sites["a"].origin)
        await ws.send(json.dumps(hello))
        assert await closed_with(ws) == 4401


async def test_foreign_origin_closes_with_4403_and_subdomains_are_admitted(env: Env) -> None:
    session = await env.widget_session("a")
    ws = await env.connect("/ws/widget", "https://evil.test")
    await ws.send(json.dumps({"type": "hello", "token": session["token"]}))
    assert await closed_with(ws) == 4403
    # Site B's domain is foreign to site A's token too.
    _, welcome = await env.widget("a", token=session["token"], origin="https://www.shop-a.test")
    assert welcome["type"] == "welcome"


async def test_a_flood_is_rate_limited_then_cut_off_with_4429(env: Env) -> None:
    widget, _ = await env.widget("a")
    for i in range(400):
        try:
            await widget.send_raw(
                json.dumps({"type": "typing", "room_id": "x", "active": bool(i % 2)})
            )
        except websockets.ConnectionClosed:
            break
    assert await closed_with(widget.ws) == 4429
    # Everyone else is still served.
    other, _ = await env.widget("a")
    assert (await other.request("send", client_msg_id="ok", body="halo"))["type"] == "ack"


async def test_ping_is_answered(env: Env) -> None:
    widget, _ = await env.widget("a")
    await widget.send_raw('{"type": "ping"}')
    assert (await widget.event("pong"))["type"] == "pong"


async def test_unknown_site_key_is_404_and_bad_json_is_400(env: Env) -> None:
    assert env.http is not None
    response = await env.http.post("/api/widget/session", json={"site_key": "pk_nope"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    response = await env.http.post("/api/widget/session", content=b"{oops")
    assert response.status_code == 400
    response = await env.http.post(
        "/api/widget/session", content=b"x" * 300_000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


async def test_session_refuses_a_foreign_origin_and_makes_no_customer(env: Env) -> None:
    assert env.http is not None
    response = await env.http.post(
        "/api/widget/session",
        json={"site_key": env.sites["a"].creds.site_key},
        headers={"origin": "https://shop-b.test"},
    )
    assert response.status_code == 403


async def test_a_token_of_another_site_starts_a_new_customer(env: Env) -> None:
    from_b = await env.widget_session("b")
    on_a = await env.widget_session("a", token=from_b["token"])
    assert on_a["token"] != from_b["token"]
    assert on_a["customer_id"] != from_b["customer_id"]
    same = await env.widget_session("a", token=on_a["token"])
    assert same["customer_id"] == on_a["customer_id"]


async def test_compression_is_on_by_default(env: Env) -> None:
    widget, _ = await env.widget("a")
    names = [e.name for e in widget.ws.protocol.extensions]
    assert names == ["permessage-deflate"]


@pytest.mark.settings(ws_compression=False)
async def test_compression_can_be_switched_off(env: Env) -> None:
    widget, _ = await env.widget("a")
    assert widget.ws.protocol.extensions == []
    sent = await widget.request("send", client_msg_id="c1", body="tanpa kompresi")
    assert sent["type"] == "ack"
