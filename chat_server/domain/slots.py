"""Caps on things held at once per key (sockets per token, per address), with no I/O."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class Slots:
    """At most `limit` holders per key at once; 0 means no limit."""

    limit: int
    held: Counter[str] = field(default_factory=Counter)

    def take(self, key: str) -> bool:
        if self.limit and self.held[key] >= self.limit:
            return False
        self.held[key] += 1
        return True

    def give(self, key: str) -> None:
        left = self.held[key] - 1
        if left > 0:
            self.held[key] = left
        else:
            del self.held[key]
