"""Rate limits as pure state machines: callers pass the clock in."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    """`rate` tokens per second, up to `burst`; take() says whether an action may go ahead."""

    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = 0.0

    def take(self, now: float, cost: float = 1.0) -> bool:
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


@dataclass(slots=True)
class SlidingWindow:
    """At most `limit` events per `window` seconds per key (login failures)."""

    limit: int
    window: float
    events: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self.events.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked(self, key: str, now: float) -> bool:
        return len(self._recent(key, now)) >= self.limit

    def hit(self, key: str, now: float) -> None:
        self._recent(key, now).append(now)
        if len(self.events) > 10_000:  # bound memory under a credential-stuffing flood
            self.events = {k: v for k, v in self.events.items() if v and v[-1] > now - self.window}

    def clear(self, key: str) -> None:
        self.events.pop(key, None)


@dataclass(slots=True)
class WindowCounts:
    """Counts per key over a fixed window that starts at the key's first count.

    The same rule as Redis `SET key 0 EX window NX` + `INCRBY`, so one process alone and
    several sharing Redis limit alike.
    """

    window: float
    counts: dict[str, tuple[float, int]] = field(default_factory=dict)

    def add(self, key: str, now: float, amount: int = 1) -> int:
        start, count = self.counts.get(key, (now, 0))
        if now - start >= self.window:
            start, count = now, 0
        count = max(0, count + amount)
        self.counts[key] = (start, count)
        if len(self.counts) > 10_000:  # bound memory under a credential-stuffing flood
            self.counts = {k: v for k, v in self.counts.items() if now - v[0] < self.window}
        return count

    def clear(self, key: str) -> None:
        self.counts.pop(key, None)


@dataclass(slots=True)
class InFlight:
    """At most `limit` operations at once per key (e.g. password checks for one email)."""

    limit: int
    counts: dict[str, int] = field(default_factory=dict)

    def enter(self, key: str) -> bool:
        count = self.counts.get(key, 0)
        if count >= self.limit:
            return False
        self.counts[key] = count + 1
        return True

    def leave(self, key: str) -> None:
        count = self.counts.get(key, 0) - 1
        if count > 0:
            self.counts[key] = count
        else:
            self.counts.pop(key, None)


@dataclass(slots=True)
class KeyedBuckets:
    """One token bucket per key (a client address, a site), in bounded memory.

    `per_minute` actions per minute with bursts of `burst`; 0 means no limit.
    """

    per_minute: float
    burst: float
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    max_keys: int = 10_000

    def take(self, key: str, now: float) -> bool:
        if self.per_minute <= 0:
            return True
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= self.max_keys:
                self._forget_full(now)
            bucket = self.buckets[key] = TokenBucket(self.per_minute / 60, self.burst)
        return bucket.take(now)

    def _forget_full(self, now: float) -> None:
        """A bucket that has refilled says nothing a new one would not: drop those."""
        refill = self.burst / (self.per_minute / 60)
        self.buckets = {k: b for k, b in self.buckets.items() if now - b.stamp < refill}
        if len(self.buckets) >= self.max_keys:
            # More keys than that at once (a spread-out flood) defeats a per-key limit
            # anyway; a per-site limit still holds.
            self.buckets.clear()


@dataclass(frozen=True, slots=True)
class Allowance:
    """One token bucket an action takes from: `rate` actions a second, up to `burst`.

    The same shape counts in one process (`take_allowances`) and across processes
    (bus/redis_limits.py), so both limit alike.
    """

    key: str
    rate: float
    burst: float
    start: float  # tokens a new bucket starts with


def take_allowances(
    buckets: dict[str, TokenBucket], allowances: Iterable[Allowance], now: float, max_keys: int
) -> int:
    """Take one from every allowance, or from none: 0 when taken, else the whole seconds
    until the scarcest one has a token again. `buckets` is the caller's, kept bounded."""
    wanted = []
    for allowance in allowances:
        bucket = buckets.get(allowance.key)
        if bucket is None:
            if len(buckets) >= max_keys:
                # A bucket idle long enough to be full again: forgetting it changes nothing.
                idle = [
                    k for k, b in buckets.items() if b.tokens + (now - b.stamp) * b.rate >= b.burst
                ]
                for key in idle:
                    del buckets[key]
            bucket = TokenBucket(allowance.rate, allowance.burst, allowance.start, now)
            buckets[allowance.key] = bucket
        bucket.tokens = min(bucket.burst, bucket.tokens + (now - bucket.stamp) * bucket.rate)
        bucket.stamp = now
        wanted.append(bucket)
    short = [b for b in wanted if b.tokens < 1]
    if short:
        return max(max(1, math.ceil((1 - b.tokens) / b.rate)) for b in short)
    for bucket in wanted:
        bucket.tokens -= 1
    return 0
