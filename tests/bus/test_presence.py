"""Presence shared through Redis: every process counts every process's agents."""

from __future__ import annotations

import asyncio
import json
import time

from chat_server.bus import Event
from chat_server.bus.redis import RedisBus
from chat_server.bus.redis_presence import RedisPresence
from chat_server.domain.presence import AgentPresence, merge, online_count
from chat_server.services.presence import Presence
from tests.bus.conftest import Recorder
from tests.bus.test_redis_bus import until
from tests.conftest import timeout
from tests.scale.redis_server import RedisServer

SITE = "site_1"


def test_merge_adds_connections_and_keeps_the_latest_status() -> None:
    a = {"agt_1": AgentPresence("Ana", "online", 1, at=10.0)}
    b = {
        "agt_1": AgentPresence("Ana", "away", 2, at=20.0),
        "agt_2": AgentPresence("Budi", "online", 0, at=30.0),
    }
    merged = merge([a, b])
    assert merged["agt_1"] == AgentPresence("Ana", "away", 3, 20.0)
    assert merged["agt_2"].connections == 0
    assert online_count(merged) == 0
    # A disconnected entry's status never overrides a connected one, however recent.
    c = {"agt_1": AgentPresence("Ana", "offline", 0, at=99.0)}
    assert merge([a, c])["agt_1"].status == "online"
    assert merge([c, a])["agt_1"].status == "online"


def _presence(bus: RedisBus, ttl: float = 30.0) -> Presence:
    presence = Presence(bus, RedisPresence(bus, ttl=ttl), heartbeat=ttl / 3)
    bus.on_link_up.append(presence.refresh)
    return presence


def _counts(events: list[Event]) -> list[int]:
    return [json.loads(e.text)["agents_online"] for e in events if '"presence"' in e.text]


async def test_agents_on_either_process_count_everywhere(
    two_buses: tuple[RedisBus, RedisBus],
) -> None:
    a, b = two_buses
    on_a, on_b = _presence(a), _presence(b)
    seen_on_b = Recorder(b)

    await on_a.connected(SITE, "agt_1", "Ana", "online")
    assert await on_b.agents_online(SITE) == 1
    await on_b.connected(SITE, "agt_2", "Budi", "online")
    await on_b.connected(SITE, "agt_1", "Ana", "online")  # a second tab, on B
    assert await on_a.agents_online(SITE) == 2
    assert {p["id"]: p["status"] for p in await on_a.snapshot(SITE)} == {
        "agt_1": "online",
        "agt_2": "online",
    }

    await on_b.set_status(SITE, "agt_1", "away")  # the latest status wins on every process
    assert await on_a.agents_online(SITE) == 1
    await on_a.disconnected(SITE, "agt_1")
    await on_b.disconnected(SITE, "agt_1")
    assert {p["id"]: p["status"] for p in await on_a.snapshot(SITE)} == {
        "agt_1": "offline",
        "agt_2": "online",
    }
    # The frames a process announces carry the shared count, and reach the other process.
    await until(lambda: bool(_counts(seen_on_b.events)) and _counts(seen_on_b.events)[-1] == 1)
    assert 2 in _counts(seen_on_b.events)

    await on_b.close()  # withdraws B's entries at shutdown
    assert await on_a.agents_online(SITE) == 0


async def test_a_dead_process_agents_expire(two_buses: tuple[RedisBus, RedisBus]) -> None:
    a, b = two_buses
    on_a, on_b = _presence(a, ttl=1.0), _presence(b, ttl=1.0)
    await on_a.start()
    await on_b.start()
    try:
        await on_a.connected(SITE, "agt_1", "Ana", "online")
        await on_b.connected(SITE, "agt_2", "Budi", "online")
        assert await on_a.agents_online(SITE) == 2
        # B dies without a goodbye: its heartbeat stops and its entries run out.
        assert on_b._task is not None
        on_b._task.cancel()
        await until_count(on_a, 1)
        # A's own agents live on: its heartbeat keeps refreshing them.
        await until_count(on_a, 1, settle=1.5)
    finally:
        await on_a.close()


async def until_count(presence: Presence, count: int, settle: float = 0.0) -> None:
    await asyncio.sleep(settle)
    deadline = time.monotonic() + timeout(5)
    while await presence.agents_online(SITE) != count:
        assert time.monotonic() < deadline, f"agents_online never became {count}"
        await asyncio.sleep(0.05)


async def test_redis_restarting_empty_gets_presence_back(
    redis_server: RedisServer, two_buses: tuple[RedisBus, RedisBus]
) -> None:
    a, b = two_buses
    on_a, on_b = _presence(a), _presence(b)
    await on_a.connected(SITE, "agt_1", "Ana", "online")
    assert await on_b.agents_online(SITE) == 1

    redis_server.kill()
    await until(lambda: not a.healthy and not b.healthy)
    # Without Redis each process answers from what it holds itself.
    assert await on_a.agents_online(SITE) == 1
    assert await on_b.agents_online(SITE) == 0

    redis_server.start()  # empty: it keeps nothing on disk
    await until(lambda: a.healthy and b.healthy, wait=10)
    await until_count(on_b, 1)
