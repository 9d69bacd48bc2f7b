"""Rebalancing across processes: each one publishes its widget count, and the busiest hand some
of theirs back (see domain/balance.py for the rule).

    sapa:load  HASH  process id -> "<widgets> <wall time>"

An entry older than STALE_AFTER intervals is a dead process's and is ignored (and removed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from chat_server.bus.redis import RedisBus
from chat_server.domain.balance import to_shed

log = logging.getLogger(__name__)

LOAD_KEY = "sapa:load"
STALE_AFTER = 3


class Rebalancer:
    def __init__(
        self,
        bus: RedisBus,
        count: Callable[[], int],
        shed: Callable[[int, float], int],
        *,
        interval: float = 10.0,
        min_excess: int = 50,
    ) -> None:
        self.bus = bus
        self._count = count
        self._shed = shed  # (how many, spread over seconds) -> how many were asked
        self.interval = interval
        self.min_excess = min_excess
        self.shed_total = 0
        # After asking widgets to move, wait until they have landed and every process has
        # reported its new count: acting on stale counts would move too many.
        self._quiet_until = 0.0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="rebalance")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        redis = self.bus.redis
        if redis is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(redis.hdel(LOAD_KEY, self.bus.origin), 1.0)  # type: ignore[misc]

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.tick()
            except Exception as exc:
                # Redis away: nothing to balance against; the bus reports the outage.
                log.debug("rebalance skipped: %s", exc)

    async def tick(self) -> int:
        redis = self.bus.redis
        if redis is None:
            return 0
        own, now = self._count(), time.time()
        pipe = redis.pipeline(transaction=False)
        pipe.hset(LOAD_KEY, self.bus.origin, f"{own} {now:.3f}")
        pipe.expire(LOAD_KEY, int(self.interval * STALE_AFTER * 10) + 60)
        pipe.hgetall(LOAD_KEY)
        *_, raw = await asyncio.wait_for(pipe.execute(), 2.0)
        loads, stale = [], []
        for origin, value in raw.items():
            try:
                count_s, at_s = value.split(b" ")
                count, at = int(count_s), float(at_s)
            except ValueError:
                stale.append(origin)
                continue
            if now - at > self.interval * STALE_AFTER:
                stale.append(origin)
            else:
                loads.append(count)
        if stale:
            await redis.hdel(LOAD_KEY, *stale)  # type: ignore[misc]
        excess = to_shed(own, loads, self.min_excess)
        if not excess or now < self._quiet_until:
            return 0
        asked = self._shed(excess, self.interval / 2)
        self.shed_total += asked
        self._quiet_until = now + self.interval * STALE_AFTER
        log.info("rebalancing: %d of %d widgets asked to reconnect elsewhere", asked, own)
        return asked
