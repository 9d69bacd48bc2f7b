"""Closed sockets leave nothing behind: no connection objects, no per-token or per-address
counts, no hub entries, and nothing waiting for the cyclic garbage collector. (What the C
heap keeps after them is tests/unit/test_heap_trim.py.)"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest
from websockets.server import ServerProtocol

from chat_server.web.context import AppContext
from chat_server.web.hub import Connection
from tests.conftest import timeout
from tests.server.conftest import Env


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
