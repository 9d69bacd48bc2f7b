"""Closed sockets leave nothing behind: no connection objects, no per-token or per-address
counts, no hub entries, and nothing waiting for the cyclic garbage collector. (What the C
heap keeps after them is tests/unit/test_heap_trim.py.)"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from websockets.server import ServerProtocol

from chat_server.web.context import AppContext
from chat_server.web.hub import Connection
from tests.conftest import timeout
from tests.server.conftest import Env, SiteFixture, env_with


def live(kind: type) -> list[object]:
    """Objects of `kind` still tracked, garbage cycles included (no collection here)."""
    return [o for o in gc.get_objects() if issubclass(type(o), kind)]


@pytest.fixture
def no_cycle_collection() -> Iterator[None]:
    """What a busy server sees: its full collections are rare, so whatever only the
    collector would free stays. Here it never runs."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def test_sockets_that_carried_traffic_are_freed_when_they_close(
    no_cycle_collection: None, env: Env
) -> None:
    (ctx,) = [c for c in live(AppContext) if c.settings is env.app_settings]  # type: ignore[attr-defined]
    assert isinstance(ctx, AppContext)
    tokens = [(await env.widget_session("a"))["token"] for _ in range(10)]
    for round_ in range(3):
        clients = [(await env.widget("a", token=t))[0] for t in tokens for _ in range(2)]
        for i, client in enumerate(clients):
            ack = await client.request("send", client_msg_id=f"r{round_}-{i}", body="halo kak")
            assert ack["type"] == "ack"
        for client in clients:
            await client.close()
    # The server notices each close on its own schedule: wait for that, then look.
    for _ in range(int(timeout(10) / 0.05)):
        if not (ctx.hub.count("widget") or live(Connection)):
            break
        await asyncio.sleep(0.05)
    assert live(Connection) == []
    # websockets' protocol object holds the socket's zlib contexts (~50 KiB of C memory).
    assert live(ServerProtocol) == []
    assert not ctx.token_sockets.held and not ctx.address_sockets.held
    assert all(not s.customers and not s.rooms for s in ctx.hub._sites.values())


@pytest.fixture
async def sqlite_env(
    tmp_path: Path, seeded_db: tuple[Path, dict[str, SiteFixture]]
) -> AsyncIterator[Env]:
    async for environment in env_with(tmp_path, seeded_db):
        yield environment


async def test_ten_thousand_connects_and_closes_leave_no_connection_objects(
    no_cycle_collection: None, sqlite_env: Env
) -> None:
    """The socket route driven in-process (no uvicorn, no TCP): hello, welcome, close."""
    env = sqlite_env
    (ctx,) = [c for c in live(AppContext) if c.settings is env.app_settings]  # type: ignore[attr-defined]
    assert isinstance(ctx, AppContext)
    (app,) = [a for a in live(Starlette) if getattr(a.state, "ctx", None) is ctx]  # type: ignore[attr-defined]
    site = env.sites["a"]
    # Forty at a time: each hello waits on a few database reads, not on the CPU.
    tokens = [(await env.widget_session("a"))["token"] for _ in range(40)]

    async def connect_and_close(token: str) -> None:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        inbox.put_nowait({"type": "websocket.connect"})
        inbox.put_nowait(
            {"type": "websocket.receive", "text": json.dumps({"type": "hello", "token": token})}
        )

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "websocket.send" and '"welcome"' in message["text"]:
                inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
            elif message["type"] == "websocket.close":
                raise AssertionError(f"refused: {message}")

        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": "/ws/widget",
            "raw_path": b"/ws/widget",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"origin", site.origin.encode())],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
            "subprotocols": [],
            "state": {},
            "extensions": {},
        }
        await app(scope, inbox.get, send)

    async def churn(token: str, times: int) -> None:
        for _ in range(times):
            await connect_and_close(token)

    await asyncio.gather(*(churn(t, 10) for t in tokens))  # warm every cache first
    before = len(gc.get_objects())
    await asyncio.gather(*(churn(t, 250) for t in tokens))
    assert live(Connection) == []
    assert not ctx.token_sockets.held and not ctx.address_sockets.held
    assert all(not s.customers and not s.visitors for s in ctx.hub._sites.values())
    # Not one object per connection stays behind (10,000 of them would).
    assert len(gc.get_objects()) - before < 1_000
