"""Counters a bus keeps about itself, read by `/metrics`. Plain numbers: one process, one loop."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

# Seconds. A Redis hop on one host is well under a millisecond; a backlog shows up as the tail.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(slots=True)
class Histogram:
    """A Prometheus-style histogram: per-bucket counts (cumulated when rendered), sum, count."""

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


@dataclass(slots=True)
class BusStats:
    published: int = 0  # events published by this process
    received: int = 0  # events from other processes delivered here
    echoes: int = 0  # this process's own events coming back from Redis, ignored
    dropped: int = 0  # events other processes never got (the replay backlog overflowed)
    replayed: int = 0  # events published late, after the link came back
    duplicates: int = 0  # replayed events from other processes that had already arrived
    gaps: int = 0  # holes seen in another process's numbering (each makes clients resync)
    resyncs: int = 0  # times this process told its clients to reconnect and sync
    link_failures: int = 0
    latency: Histogram = field(default_factory=Histogram)
