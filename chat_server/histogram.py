"""A Prometheus-style histogram kept in plain numbers, for `/metrics`.

One writer per histogram (a bus's loop, the store's writer thread, the loop-lag task);
`/metrics` reads it from the event loop. A read may see one observation half counted
(its bucket, not yet its sum), which a scrape a moment later corrects.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

# Seconds: a Redis hop or a commit on one host is well under a millisecond; trouble shows
# up as the tail.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(slots=True)
class Histogram:
    """Per-bucket counts (cumulated when rendered), sum and count."""

    bounds: tuple[float, ...] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        # One slot per bound plus the +Inf overflow.
        self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        out, running = [], 0
        for bound, n in zip((*map(repr, self.bounds), "+Inf"), self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out
