"""The FAQ worker thread yields the CPU to chat: only it runs at the lowest priority."""

from __future__ import annotations

import os
import sys

import pytest

from chat_server.services.faq_worker import WORKER_NICE, SuggestWorker

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's"
)


def test_worker_thread_runs_at_lowest_priority_and_the_caller_does_not() -> None:
    before = os.getpriority(os.PRIO_PROCESS, 0)
    worker = SuggestWorker()
    try:
        # PRIO_PROCESS with who=0 reads the calling thread's own niceness on Linux.
        inside = worker._pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result(timeout=10)
    finally:
        worker.close()
    assert inside == WORKER_NICE == 19
    assert os.getpriority(os.PRIO_PROCESS, 0) == before  # the loop's thread keeps its own
