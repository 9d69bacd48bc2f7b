"""Re-scoring a site's buyers off the chat path: debounced, in chunks, behind chat writes.

An order (or a merge, or an erase) scores its own buyer at once against the site's
stored thresholds and marks the site dirty (`rfm_scores.mark_rfm_dirty`) in the same
transaction. This task notices dirty sites (also those marked by `sapa import` in
another process), waits until a site has been quiet for `debounce` seconds (or
dirty for `max_delay`, so a steady stream of orders is still scored), recomputes
its thresholds from a read-only snapshot, and stores every buyer's score in
chunks of `chunk` rows, each its own short transaction in the writer's bulk lane.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from functools import partial

from chat_server.domain import rfm
from chat_server.store import rfm_scores
from chat_server.store.database import Database

log = logging.getLogger(__name__)

DEBOUNCE_S = 2.0
MAX_DELAY_S = 30.0
POLL_S = 1.0
CHUNK_ROWS = 500
# A process that dies while re-scoring holds the site this long at most.
CLAIM_LEASE_S = 120.0
# Recency moves with the clock, so a site is scored again at least once a day.
RESCORE_EVERY_S = 86_400.0
STALE_CHECK_EVERY_S = 3_600.0


class RfmScorer:
    def __init__(
        self,
        db: Database,
        *,
        debounce: float = DEBOUNCE_S,
        max_delay: float = MAX_DELAY_S,
        poll: float = POLL_S,
        chunk: int = CHUNK_ROWS,
    ) -> None:
        self.db = db
        self.debounce = debounce
        self.max_delay = max_delay
        self.poll = poll
        self.chunk = chunk
        self.rescored = 0
        self._task: asyncio.Task[None] | None = None
        self._stale_checked = 0.0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sapa-rfm-scorer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("RFM re-scoring failed; retrying at the next poll")
            await asyncio.sleep(self.poll)

    async def run_once(self) -> int:
        """Re-score every site that is due; answers how many were re-scored."""
        now = time.time()
        if now - self._stale_checked >= STALE_CHECK_EVERY_S:
            self._stale_checked = now
            await self.db.write_bulk(
                lambda conn: rfm_scores.mark_stale_sites(conn, now - RESCORE_EVERY_S, now)
            )
        done = 0
        for site in await rfm_scores.dirty_sites(self.db):
            quiet = now - site.last_at >= self.debounce
            overdue = now - site.first_at >= self.max_delay
            if site.claimed_until >= now or not (quiet or overdue):
                continue
            covered = await self.db.write_bulk(
                partial(rfm_scores.claim_dirty, site_id=site.site_id, now=now, lease=CLAIM_LEASE_S)
            )
            if covered is None:
                continue  # another process took it
            try:
                await self.rescore(site.site_id)
            except BaseException:
                await self.db.write_bulk(
                    partial(rfm_scores.finish_dirty, site_id=site.site_id, covered=-1.0, now=now)
                )
                raise
            await self.db.write_bulk(
                partial(
                    rfm_scores.finish_dirty,
                    site_id=site.site_id,
                    covered=covered,
                    now=time.time(),
                )
            )
            done += 1
        return done

    async def rescore(self, site_id: str) -> rfm.Thresholds:
        """New thresholds from every buyer's figures, then every buyer's score, chunk by chunk."""
        buyers = await rfm_scores.site_buyers(self.db, site_id)
        moment = datetime.now(UTC)
        # Sorting a big shop's figures is CPU work: keep it off the event loop.
        limits = await asyncio.to_thread(rfm.thresholds_for, buyers, moment)
        stamp = time.time()
        await self.db.write_bulk(
            lambda conn: rfm_scores.save_thresholds(conn, site_id, limits, stamp)
        )
        after: str | None = ""
        while after is not None:
            after = await self.db.write_bulk(
                partial(
                    rfm_scores.rescore_chunk,
                    site_id=site_id,
                    after=after,
                    limit=self.chunk,
                    limits=limits,
                )
            )
        self.rescored += 1
        return limits
