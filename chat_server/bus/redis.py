"""The bus for several processes or hosts: Redis pub/sub behind the same interface as MemoryBus.

Channels: one per site, `sapa:site:{site_id}`, and every process subscribes to
the pattern `sapa:site:*`. Load balancers spread every site's visitors over
every process, so a per-site subscription would filter out almost nothing
while costing a SUBSCRIBE round trip (and a window where events are missed)
each time a process sees its first client of a site. The per-site channel
still lets an operator watch one shop (`redis-cli psubscribe 'sapa:site:ID'`)
and would map onto sharded pub/sub later.

Echoes: a process delivers its own events to its own clients directly, then
publishes them; every message carries the publishing process's id and each
process ignores its own echoes. So local clients get each event exactly once,
without a Redis round trip, and still get it while Redis is away.

Failures: publishing only queues (a background task pipelines the queue to
Redis), so the send path never waits for or fails because of Redis. When the
link breaks, events are still delivered locally and counted as dropped, and a
supervisor reconnects with backoff. When it is back, this process closes its
clients with 1012 (they may have missed other processes' events; they
reconnect and `sync` from SQLite), and if it dropped events of its own it
tells the other processes, which close the clients that were connected while
those events were lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from chat_server.bus.base import Event, EventHandler
from chat_server.bus.stats import BusStats

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "sapa:site:"
PATTERN = CHANNEL_PREFIX + "*"
# "Clients connected before <time> may have missed events of <process>": outside the pattern.
RESYNC_CHANNEL = "sapa:resync"

PUBLISH_BATCH = 512
PROBE_INTERVAL = 5.0  # a PING on the command connection notices a silent network
STABLE_LINK = 10.0  # seconds a link must hold before the reconnect backoff starts over


class LinkDown(Exception):
    """Raised inside the link to make the supervisor reconnect."""


class RedisBus:
    def __init__(
        self,
        url: str,
        *,
        queue_size: int = 10_000,
        min_backoff: float = 0.1,
        max_backoff: float = 2.0,
        connect_wait: float = 2.0,
    ) -> None:
        self.url = url
        self.origin = uuid.uuid4().hex[:16]
        self.stats = BusStats()
        # Close this process's clients connected before the given time (wall clock).
        self.on_resync: Callable[[float], None] | None = None
        # Run after every (re)connection, e.g. to re-register presence Redis forgot.
        self.on_link_up: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self._origin_b = self.origin.encode()
        self._handlers: list[EventHandler] = []
        self._out: asyncio.Queue[tuple[str, str]] = asyncio.Queue(queue_size)
        self._inflight = 0
        self._redis: Redis | None = None
        self._up = False
        self._missed = False  # dropped events since the last link-up
        self._serving = False
        self._closing = False
        self._down_since: float | None = None
        self._up_since = 0.0
        self._backoff = (min_backoff, max_backoff)
        self._connect_wait = connect_wait
        self._link_ready = asyncio.Event()
        self._give_up = asyncio.Event()  # set when the link must be rebuilt
        self._supervisor: asyncio.Task[None] | None = None
        self._side_tasks: set[asyncio.Task[Any]] = set()

    # -- the Bus interface ----------------------------------------------------

    async def start(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise(), name="redis-bus")
        try:
            await asyncio.wait_for(self._link_ready.wait(), self._connect_wait)
        except TimeoutError:
            # Serve anyway: local clients work, and the supervisor keeps trying.
            log.warning("Redis at %s is not reachable; serving degraded", _redact(self.url))
        self._serving = True

    async def close(self) -> None:
        self._closing = True
        # Give queued events (e.g. presence going offline at shutdown) a moment to leave.
        if self._up:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._out.join(), 1.0)
        for task in [self._supervisor, *self._side_tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._handlers.clear()

    def subscribe(self, handler: EventHandler) -> None:
        self._handlers.append(handler)

    @property
    def healthy(self) -> bool:
        return self._up

    @property
    def redis(self) -> Redis | None:
        """The live client, or None while the link is down (callers fall back to local state)."""
        return self._redis if self._up else None

    async def publish(self, event: Event) -> None:
        self.stats.published += 1
        await self._deliver(event)
        if not self._up:
            self._drop(1)
            return
        wire = f"{self.origin} {time.time():.6f} {event.encode()}"
        try:
            self._out.put_nowait((CHANNEL_PREFIX + event.site_id, wire))
        except asyncio.QueueFull:
            # Redis cannot keep up: better a resync for everyone than a silent gap.
            self._drop(1)
            self._give_up.set()

    # -- delivery ---------------------------------------------------------------

    async def _deliver(self, event: Event) -> None:
        for handler in self._handlers:
            try:
                await handler(event)
            except Exception:
                # One failing subscriber must not stop delivery to the others.
                log.exception("bus subscriber failed")

    async def _dispatch(self, message: dict[str, Any]) -> None:
        kind, data = message["type"], message["data"]
        try:
            if kind == "pmessage":
                origin, sent_at, body = data.split(b" ", 2)
                if origin == self._origin_b:
                    self.stats.echoes += 1
                    return
                latency = max(0.0, time.time() - float(sent_at))
                event = Event.decode(body)
            elif kind == "message":
                origin, until = data.split(b" ", 1)
                if origin != self._origin_b:
                    log.warning("another process lost events; asking clients to resync")
                    self._resync(float(until))
                return
            else:
                return
        except (ValueError, KeyError, TypeError):
            # Not ours (someone typed into redis-cli?): skip it rather than break the link.
            log.warning("ignored a malformed message on %r", message.get("channel"))
            return
        self.stats.received += 1
        self.stats.latency.observe(latency)
        await self._deliver(event)

    def _resync(self, before: float) -> None:
        self.stats.resyncs += 1
        if self.on_resync is not None:
            try:
                self.on_resync(before)
            except Exception:
                log.exception("resync hook failed")

    def _drop(self, count: int) -> None:
        self.stats.dropped += count
        self._missed = True

    # -- the link ----------------------------------------------------------------

    async def _supervise(self) -> None:
        low, high = self._backoff
        delay = low
        while not self._closing:
            try:
                await self._link()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._up or self._down_since is None:
                    self.stats.link_failures += 1
                    log.warning(
                        "Redis bus link down (%s); serving local clients only, retrying",
                        _describe(exc),
                    )
                    self._down_since = time.monotonic()
                else:
                    log.debug("Redis still unreachable: %s", _describe(exc))
            finally:
                self._link_lost()
            if self._closing:
                return
            if self._link_ready.is_set():
                self._link_ready.clear()
                # Start the backoff over only after a link that held: a Redis that accepts and
                # then drops connections must not make clients reconnect several times a second.
                if time.monotonic() - self._up_since > STABLE_LINK:
                    delay = low
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, high)

    async def _link(self) -> None:
        redis = Redis.from_url(
            self.url,
            # No silent retries: a broken link must surface so clients get resynced.
            retry=Retry(NoBackoff(), 0),
            socket_timeout=3,
            socket_connect_timeout=2,
            health_check_interval=0,
            # `CLIENT LIST` then tells which process a connection belongs to.
            client_name=f"sapa-{self.origin}",
        )
        pubsub = redis.pubsub()
        try:
            await pubsub.psubscribe(PATTERN)
            await pubsub.subscribe(RESYNC_CHANNEL)
            await self._confirm(pubsub, {b"psubscribe", b"subscribe"})
            self._give_up.clear()
            self._link_up(redis)
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._watch())
                tasks.create_task(self._read(pubsub))
                tasks.create_task(self._write(redis))
                tasks.create_task(self._probe(redis))
        finally:
            self._redis = None
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            with contextlib.suppress(Exception):
                await redis.aclose()

    async def _confirm(self, pubsub: PubSub, pending: set[bytes]) -> None:
        """Wait for the subscription replies: only then are other processes' events arriving."""
        deadline = time.monotonic() + 5
        while pending:
            if time.monotonic() > deadline:
                raise LinkDown("no subscription confirmation")
            message = await pubsub.get_message(timeout=1.0)
            if message is None:
                continue
            kind = message["type"]
            if isinstance(kind, str):
                kind = kind.encode()
            if kind in pending:
                pending.discard(kind)
            else:
                await self._dispatch(message)

    def _link_up(self, redis: Redis) -> None:
        now = time.time()
        self._up_since = time.monotonic()
        self._redis = redis
        self._up = True
        if self._missed:
            # Others' clients may have missed what we published while the link was down.
            self._out.put_nowait((RESYNC_CHANNEL, f"{self.origin} {now!r}"))
            self._missed = False
        if self._down_since is not None:
            log.warning(
                "Redis bus link restored after %.1fs; asking clients to reconnect and sync",
                time.monotonic() - self._down_since,
            )
            self._down_since = None
        if self._serving:
            # Our clients may have missed other processes' events: all of them resync.
            self._resync(now)
        self._link_ready.set()
        for hook in self.on_link_up:
            task = asyncio.create_task(hook())
            self._side_tasks.add(task)
            task.add_done_callback(self._side_tasks.discard)

    def _link_lost(self) -> None:
        self._up = False
        self._redis = None
        lost = self._inflight + self._out.qsize()
        while not self._out.empty():
            self._out.get_nowait()
        for _ in range(lost):
            self._out.task_done()
        self._inflight = 0
        if lost:
            self._drop(lost)

    async def _watch(self) -> None:
        await self._give_up.wait()
        raise LinkDown("publish queue full: Redis does not keep up")

    async def _read(self, pubsub: PubSub) -> None:
        async for message in pubsub.listen():
            await self._dispatch(message)
            # A burst read from one socket buffer would otherwise be queued to clients without
            # their writers ever running, overflowing the send queues of busy agents (1013).
            await asyncio.sleep(0)
        raise LinkDown("subscription ended")

    async def _write(self, redis: Redis) -> None:
        while True:
            batch = [await self._out.get()]
            while len(batch) < PUBLISH_BATCH and not self._out.empty():
                batch.append(self._out.get_nowait())
            self._inflight = len(batch)
            pipe = redis.pipeline(transaction=False)
            for channel, data in batch:
                pipe.publish(channel, data)
            await pipe.execute()
            self._inflight = 0
            for _ in batch:
                self._out.task_done()

    async def _probe(self, redis: Redis) -> None:
        while True:
            await asyncio.sleep(PROBE_INTERVAL)
            await redis.ping()


def _redact(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
