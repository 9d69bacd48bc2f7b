"""RedisBus against a real redis-server, with no web server around it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from chat_server.bus import Event
from chat_server.bus.redis import RedisBus
from tests.scale.redis_server import RedisServer


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


class Recorder:
    """A bus subscriber that keeps what it got, and the resync requests it was given."""

    def __init__(self, bus: RedisBus) -> None:
        self.events: list[Event] = []
        self.resyncs: list[float] = []
        bus.subscribe(self.handle)
        bus.on_resync = self.resyncs.append

    async def handle(self, event: Event) -> None:
        self.events.append(event)

    @property
    def texts(self) -> list[str]:
        return [e.text for e in self.events]


@pytest.fixture
async def two_buses(redis_server: RedisServer) -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    """Two processes' buses, as two `sapa serve` would have."""
    buses = (
        RedisBus(redis_server.url, max_backoff=0.3),
        RedisBus(redis_server.url, max_backoff=0.3),
    )
    for bus in buses:
        await bus.start()
    try:
        yield buses
    finally:
        for bus in buses:
            await bus.close()
