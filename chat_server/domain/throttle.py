"""Rate limits as pure state machines: callers pass the clock in."""

from __future__ import annotations

from collections import deque
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
