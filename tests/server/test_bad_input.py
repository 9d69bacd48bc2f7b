"""Bad input over HTTP and sockets: a clear refusal every time, never a 500 or a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.conftest import timeout
from tests.server.bad_input import (
    JSON_ROUTES,
    JsonRoute,
    caller_headers,
    known_customer,
    watch_log,
)
from tests.server.conftest import Env, SiteFixture, env_with
from tests.server.test_widget_gateway import closed_with

NESTED = b"[" * 5000 + b"]" * 5000
BAD_BODIES = {
    "nested": NESTED,
    "nested object": b'{"a":' * 40 + b"1" + b"}" * 40,
    "lone surrogate escape": b'{"name": "\\ud800", "email": "x@y.test", "question": "\\udfff"}',
    "surrogate in UTF-8": b'{"name": "\xed\xa0\x80"}',
    "not UTF-8": b'{"name": "\xff"}',
    "duplicate keys": b'{"name": "a", "name": "b"}',
    "NaN": b'{"total": NaN}',
    "huge integer": b'{"total": ' + b"9" * 30 + b"}",
}


@pytest.mark.parametrize("route", JSON_ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_every_json_route_answers_bad_json_with_400(env: Env, route: JsonRoute) -> None:
    assert env.http is not None
    headers = await caller_headers(env, route.caller)
    path = route.path.replace("$CUSTOMER", await known_customer(env))
    with watch_log() as log:
        for name, body in BAD_BODIES.items():
            response = await env.http.request(route.method, path, content=body, headers=headers)
            assert response.status_code == 400, (name, response.text)
            assert response.json()["error"]["code"] == "bad_request", name
    assert log.tracebacks() == []


@pytest.mark.parametrize("client", ["widget", "agent"])
async def test_a_flood_of_bad_json_frames_is_refused_then_cut_off(env: Env, client: str) -> None:
    if client == "widget":
        socket, _ = await env.widget("a")
    else:
        socket, *_ = await env.agent(env.sites["a"].agent_email)
    frames = [
        b"[" * 3000 + b"]" * 3000,
        '{"type": "send", "ref": "s", "client_msg_id": "c", "body": "\\ud800"}',
        '{"type": "send", "ref": "d", "ref": "e", "body": "x"}',
    ]
    with watch_log() as log:
        # Each is answered with a bad_request error, not an internal one.
        for frame in frames:
            await socket.send_raw(frame)
            answer = json.loads(await asyncio.wait_for(socket.ws.recv(), timeout(5)))
            assert (answer["type"], answer["code"]) == ("error", "bad_request"), answer
        # And each counts as a bad frame: a flood of them ends the connection.
        for i in range(400):
            try:
                await socket.send_raw(frames[i % 3])
            except websockets.ConnectionClosed:
                break
        assert await closed_with(socket.ws) == 4429
    assert log.tracebacks() == []


@pytest.mark.parametrize("hello", [NESTED.decode(), '{"type": "hello", "token": "\\ud800"}'])
async def test_a_malformed_hello_is_closed_with_4401(env: Env, hello: str) -> None:
    for path, origin in (("/ws/widget", env.sites["a"].origin), ("/ws/agent", env.url)):
        ws = await env.connect(path, origin)
        with watch_log() as log:
            await ws.send(hello)
            assert await closed_with(ws) == 4401
        assert log.tracebacks() == []


# --- sockets held at once ---------------------------------------------------------------


@pytest.fixture
async def capped(
    tmp_path: Path, seeded_db: tuple[Path, dict[str, SiteFixture]]
) -> AsyncIterator[Env]:
    async for environment in env_with(
        tmp_path, seeded_db, sockets_per_token=3, sockets_per_address=5
    ):
        yield environment


async def open_widget(env: Env, token: str, address: str) -> websockets.ClientConnection:
    # Sent by the test from loopback, a trusted proxy: the server takes the address from it.
    ws = await env.connect(
        "/ws/widget", env.sites["a"].origin, additional_headers={"X-Forwarded-For": address}
    )
    # A capped address is closed before its hello.
    with contextlib.suppress(websockets.ConnectionClosed):
        await ws.send(json.dumps({"type": "hello", "token": token}))
    return ws


async def welcomed(ws: websockets.ClientConnection) -> bool:
    try:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout(5)))
    except websockets.ConnectionClosed:
        return False
    return bool(frame["type"] == "welcome")


async def test_sockets_per_token_are_capped_with_4429(capped: Env) -> None:
    token = (await capped.widget_session("a"))["token"]
    held = [await open_widget(capped, token, f"198.51.100.{i}") for i in range(3)]
    assert [await welcomed(ws) for ws in held] == [True] * 3
    extra = await open_widget(capped, token, "198.51.100.9")
    assert await closed_with(extra) == 4429
    # Another token is not affected, and a freed place can be taken again.
    other = (await capped.widget_session("a"))["token"]
    assert await welcomed(await open_widget(capped, other, "198.51.100.9"))
    await held[0].close()
    for _ in range(200):  # until the server has seen that close
        if await welcomed(await open_widget(capped, token, "198.51.100.9")):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the freed place was never given back")


async def test_sockets_per_address_are_capped_with_4429(capped: Env) -> None:
    tokens = [(await capped.widget_session("a"))["token"] for _ in range(6)]
    held = [await open_widget(capped, t, "203.0.113.7") for t in tokens[:5]]
    assert [await welcomed(ws) for ws in held] == [True] * 5
    assert await closed_with(await open_widget(capped, tokens[5], "203.0.113.7")) == 4429
    assert await welcomed(await open_widget(capped, tokens[5], "203.0.113.8"))
    # The trusted proxy's own address (no X-Forwarded-For) is not capped.
    widget, _ = await capped.widget("a")
    assert (await widget.request("ping"))["type"] == "ack"


async def test_behind_a_proxy_trusted_for_everything_relayed_sockets_are_still_capped(
    tmp_path: Path, seeded_db: tuple[Path, dict[str, SiteFixture]]
) -> None:
    async for env in env_with(tmp_path, seeded_db, trusted_proxies="*", sockets_per_address=2):
        tokens = [(await env.widget_session("a"))["token"] for _ in range(3)]
        held = [await open_widget(env, t, "203.0.113.20") for t in tokens[:2]]
        assert [await welcomed(ws) for ws in held] == [True, True]
        assert await closed_with(await open_widget(env, tokens[2], "203.0.113.20")) == 4429
        # The proxy itself, not relaying anyone, is not capped.
        for _ in range(3):
            widget, _ = await env.widget("a")
            assert (await widget.request("ping"))["type"] == "ack"


# --- /metrics -----------------------------------------------------------------------------


async def test_metrics_are_open_on_loopback_only_without_a_token(env: Env) -> None:
    assert env.http is not None
    assert (await env.http.get("/metrics")).status_code == 200
    relayed = await env.http.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"})
    assert relayed.status_code == 403
    assert relayed.json()["error"]["code"] == "forbidden"


async def test_metrics_need_the_token_from_elsewhere(
    tmp_path: Path, seeded_db: tuple[Path, dict[str, SiteFixture]]
) -> None:
    async for env in env_with(tmp_path, seeded_db, metrics_token="s3cret-metrics"):
        assert env.http is not None
        away = {"X-Forwarded-For": "203.0.113.5"}
        for auth in (None, "Bearer wrong", "Basic s3cret-metrics"):
            headers = away if auth is None else {**away, "authorization": auth}
            refused = await env.http.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Bearer")
        ok = await env.http.get(
            "/metrics", headers={**away, "authorization": "Bearer s3cret-metrics"}
        )
        assert ok.status_code == 200 and "sapa_connections" in ok.text
        assert (await env.http.get("/metrics")).status_code == 200


# --- security headers ---------------------------------------------------------------------


async def test_pages_carry_security_headers_and_the_widget_keeps_its_rules(env: Env) -> None:
    assert env.http is not None
    site_key = env.sites["a"].creds.site_key
    for path in ("/console/login", "/console", f"/help/{site_key}"):
        response = await env.http.get(path)
        assert response.status_code in (200, 303, 307), path
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
    widget = await env.http.get("/widget.js")
    assert widget.status_code == 200
    assert "content-security-policy" not in widget.headers
    assert "x-frame-options" not in widget.headers


# --- slow clients (slowloris) -------------------------------------------------------------


@pytest.fixture
async def strict(
    tmp_path: Path, seeded_db: tuple[Path, dict[str, SiteFixture]]
) -> AsyncIterator[Env]:
    async for environment in env_with(
        tmp_path, seeded_db, header_timeout=timeout(1), body_timeout=timeout(1)
    ):
        yield environment


async def raw_connection(
    env: Env, data: bytes
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", env.app_settings.port)
    if data:
        writer.write(data)
        await writer.drain()
    return reader, writer


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """What the server sent before it closed the connection (it must close it)."""
    try:
        return await asyncio.wait_for(reader.read(), timeout(15))
    except ConnectionResetError:
        return b""


async def test_half_sent_requests_are_cut_off_and_others_are_served(strict: Env) -> None:
    assert strict.http is not None
    partial = [
        b"",
        b"GET /healthz HTTP/1.1\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: sapa.test\r\nX-Slow: 1",
        b"POST /api/widget/session HTTP/1.1\r\nHost: sapa.test\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    ]
    with watch_log() as log:
        slow = [await raw_connection(strict, data) for data in partial]
        # A normal client is served while they hang on.
        assert (await strict.http.get("/healthz")).status_code == 200
        answers = await asyncio.gather(*(closed_by_server(reader) for reader, _ in slow))
        # Nothing was answered: the requests never completed.
        assert answers == [b""] * len(partial)
        for _, writer in slow:
            writer.close()
        # A keep-alive connection that starts a second request and stalls is cut off too.
        reader, writer = await raw_connection(
            strict, b"GET /healthz HTTP/1.1\r\nHost: sapa.test\r\n\r\nGET /healthz HTTP/1.1\r\n"
        )
        assert (await closed_by_server(reader)).startswith(b"HTTP/1.1 200")
        writer.close()
        assert (await strict.http.get("/healthz")).status_code == 200
    assert log.tracebacks() == []


async def test_connections_per_address_are_capped(
    tmp_path: Path, seeded_db: tuple[Path, dict[str, SiteFixture]]
) -> None:
    # No trusted proxy: the test's own loopback address is a client like any other.
    async for env in env_with(
        tmp_path, seeded_db, connections_per_address=4, trusted_proxies="", header_timeout=60
    ):
        held = [await raw_connection(env, b"GET /healthz HTTP/1.1\r\n") for _ in range(4)]
        reader, writer = await raw_connection(env, b"")
        assert (await closed_by_server(reader)).startswith(b"HTTP/1.1 503")
        writer.close()
        for _, held_writer in held:
            held_writer.close()
        # Places come back as connections close.
        while True:
            async with httpx.AsyncClient(base_url=env.url) as fresh:
                try:
                    if (await fresh.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            await asyncio.sleep(0.05)
