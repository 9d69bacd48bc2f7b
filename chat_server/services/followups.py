"""Work that follows a message without delaying its ack, run by a few long-lived tasks.

A task per message (the FAQ follow-up of every shopper text) cost the event loop more
than most of the work it ran: creating the task, registering it in asyncio's set of all
tasks (a WeakSet) and its removal callback, the done callback (bench/README.md, "Session
12"). Here follow-ups wait in a queue, and a runner task takes them one after another. A
follow-up that waits (for the FAQ model's worker, a write) keeps its runner; a new runner
starts only when none is free, up to `MAX_RUNNERS`, so follow-ups still run side by side
as before. A runner lets the loop turn every `PER_TURN` follow-ups.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

MAX_RUNNERS = 32
PER_TURN = 16


class FollowUps:
    def __init__(self, max_runners: int = MAX_RUNNERS) -> None:
        self.max_runners = max_runners
        self._queue: collections.deque[Coroutine[Any, Any, None]] = collections.deque()
        self._runners: set[asyncio.Task[None]] = set()
        self._free = 0  # runners about to take the next follow-up (not inside one)
        self.runners_started = 0

    def add(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` soon, after the caller's current step."""
        self._queue.append(work)
        if self._free == 0:
            self._start_runner()

    def _start_runner(self) -> None:
        if len(self._runners) >= self.max_runners:
            return  # the queue waits for one of them
        self._free += 1  # until it starts, a new runner counts as free
        self.runners_started += 1
        runner = asyncio.get_running_loop().create_task(self._run(), name="follow-ups")
        self._runners.add(runner)
        runner.add_done_callback(self._runners.discard)

    def __len__(self) -> int:
        """Follow-ups waiting for a runner."""
        return len(self._queue)

    async def _run(self) -> None:
        queue = self._queue
        done = 0
        try:
            while queue:
                work = queue.popleft()
                self._free -= 1
                if queue and self._free == 0:
                    # This one may wait (the model, a write): the next need not wait for it.
                    self._start_runner()
                try:
                    await work
                except Exception:
                    log.exception("follow-up of a message failed")
                finally:
                    self._free += 1
                done += 1
                if done % PER_TURN == 0:
                    await asyncio.sleep(0)  # the loop's other work gets its turn
        finally:
            self._free -= 1

    async def close(self) -> None:
        """Stop the runners; follow-ups still waiting are dropped."""
        while self._queue:
            self._queue.popleft().close()
        for runner in list(self._runners):
            runner.cancel()
        await asyncio.gather(*self._runners, return_exceptions=True)
