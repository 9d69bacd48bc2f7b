"""Public-room post allowances shared by every process through Redis.

The same token buckets as `domain/public_rooms.PostThrottle` (per visitor, per client
address, per room), kept in Redis hashes and changed by one Lua script, so a post takes
from every allowance or from none, atomically across processes. While the link is down
callers fall back to their own process's buckets (limits per process, as without Redis).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from redis.asyncio import Redis

from chat_server.bus.redis import RedisBus
from chat_server.domain.throttle import Allowance

log = logging.getLogger(__name__)
TIMEOUT = 0.5  # a post waits at most this long for Redis, then counts in this process
PREFIX = "sapa:posts:"
UPLOADS_PREFIX = "sapa:uploads:"  # the same buckets for uploads (services/files.py)

# KEYS: buckets. ARGV: now, then (rate per second, burst, tokens a new bucket starts with)
# for each bucket. Answers 0 (taken from every bucket) or the whole seconds to wait (nothing
# taken).
_TAKE = """
local now = tonumber(ARGV[1])
local tokens, wait = {}, 0
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[i * 3 - 1]), tonumber(ARGV[i * 3])
  local saved = redis.call('HMGET', key, 't', 's')
  local t, s = tonumber(saved[1]), tonumber(saved[2])
  if t == nil then t, s = tonumber(ARGV[i * 3 + 1]), now end
  t = math.min(burst, t + math.max(0, now - s) * rate)
  tokens[i] = t
  if t < 1 then wait = math.max(wait, math.max(1, math.ceil((1 - t) / rate))) end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[i * 3 - 1]), tonumber(ARGV[i * 3])
  redis.call('HSET', key, 't', tostring(tokens[i] - 1), 's', ARGV[1])
  redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
end
return 0
"""

# KEYS: buckets. ARGV: the burst of each. A refused post gives its token back.
_GIVE_BACK = """
for i, key in ipairs(KEYS) do
  local t = tonumber(redis.call('HGET', key, 't'))
  if t ~= nil then
    redis.call('HSET', key, 't', tostring(math.min(tonumber(ARGV[i]), t + 1)))
  end
end
return 0
"""


class RedisPostAllowances:
    def __init__(self, bus: RedisBus, prefix: str = PREFIX) -> None:
        self.bus = bus
        self.prefix = prefix

    def _client(self) -> Redis | None:
        return self.bus.redis

    async def take(self, allowances: Sequence[Allowance]) -> int | None:
        """0 when the post may go (taken from every allowance), else the seconds to wait;
        None when Redis cannot answer (the caller counts in its own process)."""
        redis = self._client()
        if redis is None:
            return None
        keys = [self.prefix + a.key for a in allowances]
        args: list[float] = [time.time()]
        for a in allowances:
            args += [a.rate, a.burst, a.start]
        try:
            answer = await asyncio.wait_for(redis.eval(_TAKE, len(keys), *keys, *args), TIMEOUT)
        except Exception as exc:  # link lost, timeout, error reply: never a failed send for it
            log.warning("post allowances counted in this process: %r", exc)
            return None
        return int(answer)

    async def give_back(self, allowances: Sequence[Allowance]) -> None:
        redis = self._client()
        if redis is None:
            return
        keys = [self.prefix + a.key for a in allowances]
        try:
            await asyncio.wait_for(
                redis.eval(_GIVE_BACK, len(keys), *keys, *(a.burst for a in allowances)), TIMEOUT
            )
        except Exception as exc:  # the allowance refills by itself; nothing else to do
            log.warning("could not give a post allowance back: %r", exc)
