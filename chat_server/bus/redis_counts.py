"""Counters shared by every process through Redis (login attempts), each with its own window.

    sapa:count:{name}   STRING  a count that expires `window` seconds after its first add

One Lua script creates the key with its expiry and adds in one step, so a process that dies
between the two can never leave a counter without expiry (which would lock an account out
for good), and a count never goes below zero.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from redis.asyncio import Redis

from chat_server.bus.redis import RedisBus

TIMEOUT = 1.0
PREFIX = "sapa:count:"

_ADD = """
local out = {}
for i, key in ipairs(KEYS) do
  redis.call('SET', key, 0, 'EX', ARGV[2], 'NX')
  local value = redis.call('INCRBY', key, ARGV[1])
  if value < 0 then
    redis.call('SET', key, 0, 'KEEPTTL')
    value = 0
  end
  out[i] = value
end
return out
"""


class RedisCounts:
    def __init__(self, bus: RedisBus) -> None:
        self.bus = bus

    def _client(self) -> Redis:
        redis = self.bus.redis
        if redis is None:
            raise ConnectionError("the Redis link is down")
        return redis

    async def add(self, names: Sequence[str], amount: int, window: int) -> list[int]:
        redis = self._client()
        keys = [PREFIX + name for name in names]
        result = await asyncio.wait_for(
            redis.eval(_ADD, len(keys), *keys, amount, window),  # type: ignore[misc]
            TIMEOUT,
        )
        return [int(value) for value in result]

    async def clear(self, names: Sequence[str]) -> None:
        redis = self._client()
        await asyncio.wait_for(redis.delete(*[PREFIX + name for name in names]), TIMEOUT)
