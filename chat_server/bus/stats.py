"""Counters a bus keeps about itself, read by `/metrics`. Plain numbers: one process, one loop."""

from __future__ import annotations

from dataclasses import dataclass, field

from chat_server.histogram import Histogram


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
