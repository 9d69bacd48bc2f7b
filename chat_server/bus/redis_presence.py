"""Agent presence shared through Redis: one expiring hash per site and process.

    sapa:presence:{site_id}            ZSET  process id -> time its entries expire
    sapa:presence:{site_id}:{process}  HASH  agent id -> {"name","status","connections","at"}

Both keys expire `ttl` seconds after the last write, and each process rewrites
its entries every heartbeat, so the agents of a process that died (or of a
Redis that restarted empty) vanish or come back on their own. The sorted set
lets a reader find the live processes of a site without SCAN.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable

from redis.asyncio import Redis

from chat_server.bus.redis import RedisBus
from chat_server.domain.presence import AgentPresence

TTL = 30.0
TIMEOUT = 1.0  # a widget session waits at most this long for the shared count


class RedisPresence:
    def __init__(self, bus: RedisBus, ttl: float = TTL) -> None:
        self.bus = bus
        self.ttl = ttl

    def _client(self) -> Redis:
        redis = self.bus.redis
        if redis is None:
            raise ConnectionError("the Redis link is down")
        return redis

    @staticmethod
    def _index(site_id: str) -> str:
        return f"sapa:presence:{site_id}"

    async def put(self, site_id: str, agents: dict[str, AgentPresence]) -> None:
        redis, index = self._client(), self._index(site_id)
        own, now, ttl_ms = f"{index}:{self.bus.origin}", time.time(), int(self.ttl * 1000)
        pipe = redis.pipeline(transaction=True)
        pipe.delete(own)
        if agents:
            pipe.hset(own, mapping={a: _dump(p) for a, p in agents.items()})
            pipe.pexpire(own, ttl_ms)
            pipe.zadd(index, {self.bus.origin: now + self.ttl})
        else:
            pipe.zrem(index, self.bus.origin)
        pipe.zremrangebyscore(index, "-inf", now)
        pipe.pexpire(index, ttl_ms)
        await asyncio.wait_for(pipe.execute(), TIMEOUT)

    async def others(self, site_id: str) -> list[dict[str, AgentPresence]]:
        redis, index = self._client(), self._index(site_id)
        processes = await asyncio.wait_for(redis.zrangebyscore(index, time.time(), "+inf"), TIMEOUT)
        names = [p.decode() if isinstance(p, bytes) else str(p) for p in processes]
        others = [name for name in names if name != self.bus.origin]
        if not others:
            return []
        pipe = redis.pipeline(transaction=False)
        for process in others:
            pipe.hgetall(f"{index}:{process}")
        hashes = await asyncio.wait_for(pipe.execute(), TIMEOUT)
        return [{k.decode(): _load(v) for k, v in h.items()} for h in hashes]

    async def withdraw(self, site_ids: Iterable[str]) -> None:
        redis = self._client()
        pipe = redis.pipeline(transaction=False)
        for site_id in site_ids:
            pipe.delete(f"{self._index(site_id)}:{self.bus.origin}")
            pipe.zrem(self._index(site_id), self.bus.origin)
        await asyncio.wait_for(pipe.execute(), TIMEOUT)


def _dump(p: AgentPresence) -> str:
    return json.dumps(
        {"name": p.name, "status": p.status, "connections": p.connections, "at": p.at},
        ensure_ascii=False,
    )


def _load(raw: bytes) -> AgentPresence:
    data = json.loads(raw)
    return AgentPresence(data["name"], data["status"], int(data["connections"]), float(data["at"]))
