"""RedisBus alone: fan-out between two buses, no double delivery, and life without Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from redis.asyncio import Redis

from chat_server.bus import Event
from chat_server.bus.redis import RedisBus
from chat_server.domain import audience
from tests.bus.conftest import Recorder
from tests.conftest import timeout
from tests.scale.redis_server import RedisServer


def event(n: int, site: str = "site_1") -> Event:
    return Event.frame(site, (audience.AGENTS,), {"type": "test", "n": n})


async def until(check: Callable[[], bool], wait: float = 5) -> None:
    deadline = time.monotonic() + timeout(wait)
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_each_process_gets_every_event_once_in_order(
    two_buses: tuple[RedisBus, RedisBus],
) -> None:
    a, b = two_buses
    got_a, got_b = Recorder(a), Recorder(b)
    sent = [event(n, site=f"site_{n % 3}") for n in range(500)]
    for e in sent:
        await a.publish(e)
    # The publisher's own subscribers get it at once, without a Redis round trip.
    assert got_a.events == sent
    await until(lambda: len(got_b.events) == len(sent))
    assert got_b.events == sent
    await until(lambda: a.stats.echoes == len(sent))
    await asyncio.sleep(0.1)
    # Echoes are ignored: still exactly once on both sides.
    assert got_a.events == sent and got_b.events == sent
    assert (a.stats.published, a.stats.received, b.stats.received) == (500, 0, 500)
    assert b.stats.latency.count == 500
    assert a.stats.dropped == b.stats.dropped == 0


async def test_control_events_cross_too(two_buses: tuple[RedisBus, RedisBus]) -> None:
    a, b = two_buses
    got_b = Recorder(b)
    close = Event("site_1", (audience.agent("agt_1"),), "", {"close": 4000, "reason": "logout"})
    await a.publish(close)
    await until(lambda: len(got_b.events) == 1)
    assert got_b.events == [close]


async def test_publishing_without_redis_delivers_locally_and_never_blocks(
    redis_server: RedisServer, two_buses: tuple[RedisBus, RedisBus]
) -> None:
    a, b = two_buses
    got_a, got_b = Recorder(a), Recorder(b)
    redis_server.kill()
    await until(lambda: not a.healthy and not b.healthy)

    started = time.monotonic()
    for n in range(100):
        await a.publish(event(n))
    assert time.monotonic() - started < 0.5
    assert got_a.texts == [event(n).text for n in range(100)]
    assert a.stats.dropped == 100 and got_b.events == []

    redis_server.start()
    await until(lambda: a.healthy and b.healthy, wait=10)
    # Both resync their own clients. A dropped events, so B must also drop every client that
    # was connected before A came back: by A's notice, or by its own later reconnection.
    await until(lambda: bool(got_a.resyncs and got_b.resyncs), wait=10)
    await until(lambda: max(got_b.resyncs) >= got_a.resyncs[0])
    assert a.stats.link_failures == 1 and b.stats.link_failures == 1

    await a.publish(event(1000))
    await until(lambda: got_b.texts == [event(1000).text])


async def test_a_process_cut_off_alone_makes_the_others_resync(
    redis_server: RedisServer, two_buses: tuple[RedisBus, RedisBus]
) -> None:
    """Only A loses Redis (a network partition): B's clients missed A's events, and B is told."""
    a, b = two_buses
    got_a, got_b = Recorder(a), Recorder(b)
    admin = Redis.from_url(redis_server.url)
    try:
        for client in await admin.client_list():
            if client["name"] == f"sapa-{a.origin}":
                await admin.client_kill_filter(_id=client["id"])
        await until(lambda: not a.healthy)
        await a.publish(event(1))  # dropped: B never sees it
        await until(lambda: a.healthy, wait=10)
        await until(lambda: len(got_b.resyncs) == 1)
        assert got_b.resyncs == got_a.resyncs  # the notice carries A's time
        assert b.healthy and b.stats.link_failures == 0
    finally:
        await admin.aclose()


async def test_starts_degraded_without_redis_and_recovers(redis_server: RedisServer) -> None:
    redis_server.kill()
    bus = RedisBus(redis_server.url, max_backoff=0.3, connect_wait=0.3)
    got = Recorder(bus)
    await bus.start()
    try:
        assert not bus.healthy
        await bus.publish(event(1))
        assert got.texts == [event(1).text]
        redis_server.start()
        await until(lambda: bus.healthy, wait=10)
        # Clients that connected meanwhile may have missed other processes' events.
        await until(lambda: len(got.resyncs) == 1)
    finally:
        await bus.close()


async def test_a_stranger_on_the_channel_breaks_nothing(
    redis_server: RedisServer, two_buses: tuple[RedisBus, RedisBus]
) -> None:
    a, b = two_buses
    got_b = Recorder(b)
    admin = Redis.from_url(redis_server.url)
    try:
        for junk in (b"hello", b"x 1.0 {not json", b"x 1.0 {}", b"x y"):
            await admin.publish("sapa:site:site_1", junk)
            await admin.publish("sapa:resync", junk)
    finally:
        await admin.aclose()
    await a.publish(event(7))
    await until(lambda: got_b.texts == [event(7).text])
    assert a.healthy and b.healthy and b.stats.link_failures == 0 and got_b.resyncs == []
