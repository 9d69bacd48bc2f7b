"""At most one run per key and window: the first item at once, a burst's latest at its end.

A shopper who sends several messages within a second gets FAQ suggestions for the first at
once and for the latest when the second is over, not for each in between: the console
shows the suggestions of a conversation's latest message anyway, and each ranking costs
the event loop about as much as the rest of the message (bench/README.md, "Session 14").
Nobody types two messages within a second; a paste of many lines or a script does, and
its ranking no longer grows with its rate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

WINDOW_S = 1.0


class _Window(Generic[T]):
    __slots__ = ("handle", "latest")

    def __init__(self, handle: asyncio.TimerHandle) -> None:
        self.handle = handle
        self.latest: T | None = None


class Bursts(Generic[T]):
    """`offer(key, item)` says whether to run `item` now; an item kept back instead (the
    window's latest, replacing any earlier one) goes to `run` when its window ends."""

    def __init__(self, run: Callable[[T], None], window: float = WINDOW_S) -> None:
        self.window = window
        self._run = run
        self._open: dict[Hashable, _Window[T]] = {}
        self.held = 0  # items replaced by a later one of their burst, never run

    def offer(self, key: Hashable, item: T) -> bool:
        """True: run `item` now (no window was open for `key`; one opens). False: it is
        kept back until the window ends."""
        if self.window <= 0:
            return True
        window = self._open.get(key)
        if window is None:
            self._open[key] = self._open_window(key)
            return True
        if window.latest is not None:
            self.held += 1
        window.latest = item
        return False

    def _open_window(self, key: Hashable) -> _Window[T]:
        loop = asyncio.get_running_loop()
        return _Window(loop.call_later(self.window, self._end, key))

    def _end(self, key: Hashable) -> None:
        window = self._open.pop(key)
        if window.latest is not None:
            # The burst goes on: its latest item runs now and opens the next window.
            self._open[key] = self._open_window(key)
            self._run(window.latest)

    def __len__(self) -> int:
        """Windows open."""
        return len(self._open)

    def close(self) -> None:
        """Drop every window; items kept back are not run."""
        for window in self._open.values():
            window.handle.cancel()
        self._open.clear()
