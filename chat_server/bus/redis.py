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

Failures: publishing only appends to a backlog that a background task
pipelines to Redis, so the send path never waits for or fails because of
Redis. An event leaves the backlog only once Redis has taken it; while the
link is down the backlog keeps everything (up to `backlog_size` events), and
when the link is back it is published late, in order ("replay"). Each process
numbers what it publishes (`origin:seq`), so a receiver drops replayed events
it already had and notices a hole in anyone's numbering.

Clients are asked to reconnect and `sync` (close 1012) only when events really
went missing for them, and at most once per outage:
- a hole in another process's numbering (its backlog overflowed) resyncs the
  clients connected before the hole was seen;
- after this process's own link comes back it reads every process's last
  published number (`sapa:bus:last`): if someone published while this process
  was away and those events do not arrive within a moment, this process's
  clients resync (a partition that cut off this process alone);
- a process whose backlog overflowed also says so on `sapa:resync`, so the
  others do not wait for its next event to notice.
A Redis restart, where every process is cut off at once and replays its own
backlog, closes nobody: the consoles and widgets get the late events live.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
import uuid
from collections import deque
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
# Hash: process id -> "<last seq Redis took> <wall time>", read by a process whose link came back.
LAST_KEY = "sapa:bus:last"
LAST_TTL = 86_400
# How long a relinked process waits for events published after it resubscribed before deciding
# that what another process published meanwhile is lost for its clients.
CATCH_UP_WAIT = 1.0
# A link can die this long before the probe or a read notices it.
DETECTION_SLACK = 10.0

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
        backlog_size: int = 20_000,
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
        # (channel, encoded event, numbers skipped before it): not yet taken by Redis, oldest first.
        self._backlog: deque[tuple[str, str, int]] = deque()
        self._backlog_size = backlog_size
        self._confirmed = 0  # the number of the last event Redis took from this process
        self._skip_next = 0  # events dropped since the last append: a hole the others will see
        self._overflowed = False  # dropped events since the last link-up: tell the others
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._seen: dict[bytes, int] = {}  # other process -> last number delivered here
        self._last_resync = 0.0
        self._redis: Redis | None = None
        self._up = False
        self._serving = False
        self._closing = False
        self._down_since: float | None = None
        self._lost_at: float | None = None  # wall clock of the last link loss
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
        if self._up and self._backlog:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), 1.0)
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
        if not self._up and _ephemeral(event):
            return  # a typing indicator is worthless once the link is back
        if len(self._backlog) >= self._backlog_size:
            # Redis is away too long or cannot keep up: a hole in the numbering makes every
            # other process resync its clients rather than miss this event silently.
            self._drop(1)
            if self._up:
                self._give_up.set()
            return
        self._backlog.append((CHANNEL_PREFIX + event.site_id, event.encode(), self._skip_next))
        self._skip_next = 0
        self._drained.clear()
        self._wake.set()

    @property
    def backlog(self) -> int:
        """Events Redis has not taken yet (the link is down, or slow)."""
        return len(self._backlog)

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
                sender, sent_at, body = data.split(b" ", 2)
                origin, _, number = sender.partition(b":")
                if origin == self._origin_b:
                    self.stats.echoes += 1
                    return
                latency = max(0.0, time.time() - float(sent_at))
                event = Event.decode(body)
                if number and not self._in_order(origin, int(number)):
                    return
            elif kind == "message":
                origin, until_b, lost_b = data.split(b" ")
                until, lost = float(until_b), int(lost_b)
                if origin != self._origin_b:
                    log.warning("another process lost events; asking clients to resync")
                    self._resync(until)
                    self._seen[origin] = max(self._seen.get(origin, 0), lost)
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

    def _in_order(self, origin: bytes, number: int) -> bool:
        """False for a replayed event already delivered; a hole makes this process resync."""
        last = self._seen.get(origin)
        if last is not None and number <= last:
            self.stats.duplicates += 1
            return False
        if last is not None and number > last + 1:
            self.stats.gaps += 1
            log.warning("events of another process were lost; asking clients to resync")
            self._resync(time.time())
        self._seen[origin] = number
        return True

    def _resync(self, before: float) -> None:
        self._last_resync = time.time()
        self.stats.resyncs += 1
        if self.on_resync is not None:
            try:
                self.on_resync(before)
            except Exception:
                log.exception("resync hook failed")

    def _drop(self, count: int) -> None:
        self.stats.dropped += count
        self._skip_next += count
        self._overflowed = True

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
        notice: str | None = None
        if self._overflowed:
            # Part of the backlog is gone: replaying the rest helps nobody, since everyone's
            # clients resync anyway (at once, thanks to the notice; the hole says it again).
            self._skip_next += sum(1 + skip for _, _, skip in self._backlog)
            self.stats.dropped += len(self._backlog)
            self._backlog.clear()
            # "Numbers up to N are lost": receivers resync now and not again at the hole.
            notice = f"{self.origin} {now!r} {self._confirmed + self._skip_next}"
            self._overflowed = False
        elif self._backlog and self._down_since is not None:
            self.stats.replayed += len(self._backlog)
        if self._down_since is not None:
            log.warning(
                "Redis bus link restored after %.1fs; publishing %d late events",
                time.monotonic() - self._down_since,
                len(self._backlog),
            )
            self._down_since = None
        if self._serving and self._lost_at is not None:
            # Others may have published while we were away: check, and resync only if lost.
            self._spawn(self._check_missed(redis, self._lost_at, now))
        self._link_ready.set()
        self._wake.set()
        if notice is not None:
            self._spawn(self._notify(redis, notice))
        for hook in self.on_link_up:
            self._spawn(hook())

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_done)

    def _side_done(self, task: asyncio.Task[Any]) -> None:
        self._side_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("Redis bus side task failed: %s", _describe(task.exception()))  # type: ignore[arg-type]

    async def _notify(self, redis: Redis, notice: str) -> None:
        # Also as our last number: a process that is not listening yet finds it when it checks.
        _, at, lost = notice.split(" ")
        pipe = redis.pipeline(transaction=False)
        pipe.publish(RESYNC_CHANNEL, notice)
        pipe.hset(LAST_KEY, self.origin, f"{lost} {float(at):.6f}")
        await pipe.execute()

    async def _check_missed(self, redis: Redis, lost_at: float, link_up_at: float) -> None:
        """After our own outage: did anyone publish what our clients never got?"""
        behind: dict[bytes, int] = {}
        raw: dict[bytes, bytes] = await redis.hgetall(LAST_KEY)  # type: ignore[misc,assignment]
        for origin, value in raw.items():
            if origin == self._origin_b:
                continue
            try:
                number, at = value.split(b" ")
                last, published_at = int(number), float(at)
            except ValueError:
                continue
            # It published nothing since before our link died: nothing to miss.
            if published_at >= lost_at - DETECTION_SLACK and last > self._seen.get(origin, 0):
                behind[origin] = last
        if not behind:
            return
        # Events published after we resubscribed are on their way (replays among them).
        deadline = time.monotonic() + CATCH_UP_WAIT
        while time.monotonic() < deadline:
            if all(self._seen.get(o, 0) >= n for o, n in behind.items()):
                return
            await asyncio.sleep(0.05)
        for origin, last in behind.items():
            # Lost, and covered by this resync: the next number from them is not a new hole.
            self._seen[origin] = max(self._seen.get(origin, 0), last)
        if self._last_resync < link_up_at:
            log.warning("events published while the link was down are lost here; resync")
            self._resync(link_up_at)

    def _link_lost(self) -> None:
        if self._up:
            self._lost_at = time.time()
        self._up = False
        self._redis = None

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
            if not self._backlog:
                self._wake.clear()
                await self._wake.wait()
                continue
            # Events leave the backlog only once Redis took them: a batch cut short by a broken
            # link is sent again, with the same numbers, and receivers drop what they had.
            batch = list(itertools.islice(self._backlog, PUBLISH_BATCH))
            number, now = self._confirmed, time.time()
            pipe = redis.pipeline(transaction=False)
            for channel, body, skipped in batch:
                number += 1 + skipped
                pipe.publish(channel, f"{self.origin}:{number} {now:.6f} {body}")
            pipe.hset(LAST_KEY, self.origin, f"{number} {now:.6f}")
            pipe.expire(LAST_KEY, LAST_TTL)
            await pipe.execute()
            for _ in batch:
                self._backlog.popleft()
            self._confirmed = number
            if not self._backlog:
                self._drained.set()

    async def _probe(self, redis: Redis) -> None:
        while True:
            await asyncio.sleep(PROBE_INTERVAL)
            await redis.ping()


def _ephemeral(event: Event) -> bool:
    # Event.frame writes "type" first; typing is the one frame that is stale by the time the
    # link is back.
    return event.text.startswith('{"type":"typing"')


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
