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


async def test_publishing_without_redis_delivers_locally_and_replays_when_back(
    redis_server: RedisServer, two_buses: tuple[RedisBus, RedisBus]
) -> None:
    a, b = two_buses
    got_a, got_b = Recorder(a), Recorder(b)
    redis_server.kill()
    await until(lambda: not a.healthy and not b.healthy)

    started = time.monotonic()
    sent = [event(n) for n in range(100)]
    for e in sent:
        await a.publish(e)
    assert time.monotonic() - started < 0.5
    assert got_a.texts == [e.text for e in sent]
    assert a.stats.dropped == 0 and a.backlog == 100 and got_b.events == []

    redis_server.start()
    await until(lambda: a.healthy and b.healthy, wait=10)
    await until(lambda: a.backlog == 0)
    assert a.stats.replayed == 100
    # B gets A's events late, in order, once; or, when A replayed before B was listening
    # again, B finds out at its own reconnection and resyncs its clients (once).
    await until(lambda: len(got_b.events) == 100 or bool(got_b.resyncs), wait=5)
    await asyncio.sleep(timeout(0.3))
    assert got_b.texts == [e.text for e in sent][100 - len(got_b.events) :]
    assert len(got_b.resyncs) == (0 if len(got_b.events) == 100 else 1)
    assert got_a.resyncs == []
    assert a.stats.link_failures == 1 and b.stats.link_failures == 1

    await a.publish(event(1000))
    await until(lambda: got_b.texts[-1:] == [event(1000).text])
    assert len(got_b.resyncs) <= 1


async def test_a_redis_restart_resyncs_nobody_when_every_event_is_replayed(
    redis_server: RedisServer, two_buses: tuple[RedisBus, RedisBus]
) -> None:
    """The usual outage: nobody could publish, so everything arrives late and nobody reconnects."""
    a, b = two_buses
    got_a, got_b = Recorder(a), Recorder(b)
    redis_server.kill()
    await until(lambda: not a.healthy and not b.healthy)
    redis_server.start()
    await until(lambda: a.healthy and b.healthy, wait=10)
    await a.publish(event(1))
    await b.publish(event(2))
    await until(lambda: got_b.texts[-1:] == [event(1).text])
    await until(lambda: got_a.texts[-1:] == [event(2).text])
    await asyncio.sleep(timeout(1.5))  # past the catch-up wait
    assert got_a.resyncs == [] and got_b.resyncs == []


async def test_a_process_cut_off_alone_replays_and_resyncs_only_its_own_clients(
    redis_server: RedisServer,
) -> None:
    """Only A loses Redis (a network partition): A's late events reach B; what B published
    meanwhile is lost for A's clients, so A (and only A) resyncs, once."""
    a = RedisBus(redis_server.url, min_backoff=0.5, max_backoff=1.0)
    b = RedisBus(redis_server.url, max_backoff=0.3)
    for bus in (a, b):
        await bus.start()
    got_a, got_b = Recorder(a), Recorder(b)
    admin = Redis.from_url(redis_server.url)
    try:
        await b.publish(event(0))  # A has heard from B before the cut
        await until(lambda: got_a.texts == [event(0).text])
        for client in await admin.client_list():
            if client["name"] == f"sapa-{a.origin}":
                await admin.client_kill_filter(_id=client["id"])
        await until(lambda: not a.healthy)
        await a.publish(event(1))  # kept for later
        await b.publish(event(2))  # Redis takes it; A is not listening
        await until(lambda: b.backlog == 0)
        await until(lambda: a.healthy, wait=10)
        await until(lambda: got_b.texts[-1:] == [event(1).text])
        await until(lambda: len(got_a.resyncs) == 1, wait=5)
        await asyncio.sleep(timeout(0.3))
        assert len(got_a.resyncs) == 1 and got_b.resyncs == []
        assert event(2).text not in got_a.texts
        assert b.healthy and b.stats.link_failures == 0
    finally:
        await admin.aclose()
        for bus in (a, b):
            await bus.close()


async def test_an_overflowing_backlog_makes_the_others_resync_once(
    redis_server: RedisServer,
) -> None:
    a = RedisBus(redis_server.url, max_backoff=0.3, backlog_size=5)
    b = RedisBus(redis_server.url, max_backoff=0.3)
    for bus in (a, b):
        await bus.start()
    got_a, got_b = Recorder(a), Recorder(b)
    try:
        await a.publish(event(0))
        await until(lambda: got_b.texts == [event(0).text])
        redis_server.kill()
        await until(lambda: not a.healthy and not b.healthy)
        for n in range(1, 11):
            await a.publish(event(n))
        assert a.stats.dropped == 5 and a.backlog == 5
        redis_server.start()
        await until(lambda: a.healthy and b.healthy, wait=10)
        # The notice reaches B if B is listening again; otherwise B sees A's number ahead.
        await until(lambda: len(got_b.resyncs) == 1, wait=5)
        await a.publish(event(11))
        await until(lambda: got_b.texts[-1:] == [event(11).text])
        await asyncio.sleep(timeout(0.3))
        assert len(got_b.resyncs) == 1 and got_a.resyncs == []
        # What was kept is not replayed: the clients resync from the database anyway.
        assert [t for t in got_b.texts if t in {event(n).text for n in range(1, 11)}] == []
    finally:
        for bus in (a, b):
            await bus.close()


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
        await until(lambda: bus.backlog == 0)
        assert bus.stats.replayed == 1
        # Nobody else published: nothing was missed, nobody reconnects.
        await asyncio.sleep(timeout(0.3))
        assert got.resyncs == []
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
