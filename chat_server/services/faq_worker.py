"""Where FAQ messages are ranked: one worker thread, and words alone at once under load.

The multilingual model costs one encoder forward pass per message (tens of
milliseconds of CPU, measured in bench/README.md); ranking on words costs about a
millisecond. Chat must never wait for the model, so every suggestion (shopper,
agent, `faq_search`, REST, help center) is ranked here:

- while at most `max_waiting` messages wait behind the one being ranked, the
  message joins the worker's queue and is ranked with the model there (its
  per-message budget: one forward pass, plus at most `max_waiting` others'
  passes of waiting);
- otherwise it is ranked on words alone, at once, on the caller's loop, and
  `semantic_skipped` counts it. So is a message that reaches the worker while
  the model is busy embedding entries for an engine build.

Without a model the worker still does the ranking (off the loop), with the same bound.

The worker thread runs at the lowest CPU priority (Linux nice 19 for that thread
alone): the model spends only CPU that chat does not want. Its queue bound is what
turns that into "skipped under load": while the loop keeps the core busy the
worker hardly runs, its queue stays full, and new messages are ranked on words.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from faq import Engine, Suggestion
from faq.semantic import Embedder, load_embedder

log = logging.getLogger(__name__)

MODEL_SETTINGS = ("auto", "off")
# Messages allowed to wait behind the one being ranked before the next goes lexical.
MAX_WAITING = 1
# The worker thread's niceness (Linux): 19 gives it ~1.5 % of a core the loop wants.
WORKER_NICE = 19


def _lower_priority() -> None:
    """Runs first on the worker thread: only that thread yields, not the process."""
    if not sys.platform.startswith("linux"):
        return  # elsewhere PRIO_PROCESS with a thread id is not a thread's priority
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICE)
    except OSError as error:  # a sandbox that forbids it: ranking still works
        log.warning("faq: could not lower the FAQ worker's priority: %s", error)


def load_model(setting: str) -> Embedder | None:
    """The process's embedding model (loaded once), or None when off or unavailable.

    When the package cannot load, faq.semantic logs the one line that says so.
    """
    if setting == "off":
        log.info("faq: semantic model off (SAPA_FAQ_MODEL=off); ranking on words alone")
        return None
    began = time.perf_counter()
    embedder = load_embedder()
    if embedder is not None:
        log.info(
            "faq: semantic model %s loaded in %.2f s",
            embedder.name,
            time.perf_counter() - began,
        )
    return embedder


class SuggestWorker:
    """A single-thread executor with a short queue; overflow is ranked lexically at once."""

    def __init__(self, max_waiting: int = MAX_WAITING) -> None:
        self.max_waiting = max_waiting
        self._pool = ThreadPoolExecutor(
            1, thread_name_prefix="sapa-faq", initializer=_lower_priority
        )
        self._in_worker = 0  # being ranked or waiting; touched on the event loop only
        # For /metrics: messages ranked with the model, model skipped, and the model's
        # CPU seconds spent on messages (the worker thread's own CPU clock).
        self.semantic_used = 0
        self.semantic_skipped = 0
        self.semantic_cpu_seconds = 0.0

    async def suggest(self, engine: Engine, text: str, limit: int) -> list[Suggestion]:
        return (await self.rank(engine, text, limit))[0]

    async def rank(self, engine: Engine, text: str, limit: int) -> tuple[list[Suggestion], bool]:
        """The suggestions, and whether they are what the engine gives with its model free
        (the same for the same text again: a cache may keep them; words alone taken under
        load may not stand for the model's answer)."""
        if self._in_worker > self.max_waiting:
            if engine.embedder is not None:
                self.semantic_skipped += 1
            return engine.suggest(text, limit, semantic=False), engine.embedder is None
        self._in_worker += 1
        try:
            found, model, cpu = await asyncio.get_running_loop().run_in_executor(
                self._pool, _rank, engine, text, limit
            )
        finally:
            self._in_worker -= 1
        if model == "used":
            self.semantic_used += 1
            self.semantic_cpu_seconds += cpu
        elif model == "busy":
            self.semantic_skipped += 1
        return found, model != "busy"

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _rank(engine: Engine, text: str, limit: int) -> tuple[list[Suggestion], str, float]:
    """Runs on the worker thread: the message's vector if the model is free, then the ranking.

    Also says what became of the model: "used", "busy" (embedding entries for a
    build: skipped) or "none" (no model, no entries, or nothing to embed).
    """
    # A greeting, thanks or gibberish gets no suggestion: no forward pass for it.
    wanted = engine.embedder is not None and limit > 0 and engine.worth_ranking(text)
    began = time.thread_time()
    vector = None
    if wanted:
        try:
            vector = engine.embed(text)
        except Exception:  # a fault in the model's C engine: this message goes lexical
            log.exception("faq: the semantic model failed on a message; ranked on words alone")
    cpu = time.thread_time() - began
    ranked = engine.rank(text, limit, vector, semantic=False)
    found = [Suggestion(r.entry.id, r.confidence, r.matched_terms) for r in ranked]
    model = "none" if not wanted else "used" if vector is not None else "busy"
    return found, model, cpu
