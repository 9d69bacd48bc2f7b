"""RFM scores in the store: one buyer at once, the whole site later and in chunks.

An order, merge or erase recounts its buyer (`refresh_stats`), scores them against the
site's stored thresholds and marks the site dirty, in the caller's transaction;
services/rfm_scoring.py re-scores whole sites from the marks, off the chat path.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from chat_server.domain import rfm
from chat_server.store.customer_record import parse_time
from chat_server.store.database import Database
from chat_server.store.sql import Row, Tx


def mark_rfm_dirty(conn: Tx, site_id: str, at: float | None = None) -> None:
    """Ask for the site's thresholds and every buyer's score to be recomputed, off the chat path.

    One tiny upsert: call it in any transaction that changes who bought what (orders, merge,
    erase). The scorer waits until the site has been quiet for a moment, then works in chunks.
    """
    moment = time.time() if at is None else at
    conn.execute(
        "INSERT INTO rfm_dirty (site_id, first_at, last_at) VALUES (?, ?, ?)"
        " ON CONFLICT (site_id) DO UPDATE SET last_at = CASE"
        " WHEN excluded.last_at > rfm_dirty.last_at THEN excluded.last_at ELSE rfm_dirty.last_at END",
        (site_id, moment, moment),
    )


def site_thresholds(conn: Tx, site_id: str) -> rfm.Thresholds:
    """The thresholds last computed for the site; the fixed ones before the first computation."""
    row = conn.execute(
        "SELECT thresholds FROM rfm_thresholds WHERE site_id = ?", (site_id,)
    ).fetchone()
    return rfm.Thresholds.from_dict(json.loads(row[0])) if row else rfm.fixed_thresholds()


def _buyer(row: Row) -> rfm.Buyer:
    return rfm.Buyer(
        row["customer_id"],
        parse_time(row["last_order_at"]),
        row["orders_count"],
        row["total_spent"],
    )


def _store_scores(conn: Tx, scores: list[tuple[str, rfm.Score]]) -> None:
    conn.executemany(
        "UPDATE customer_stats SET r = ?, f = ?, m = ?, segment = ?, rfm_method = ?"
        " WHERE customer_id = ?",
        [(s.r, s.f, s.m, s.segment, s.method, cid) for cid, s in scores],
    )


def score_customer(conn: Tx, site_id: str, customer_id: str) -> None:
    """Score one buyer against the site's stored thresholds: O(1), fine inside a chat batch."""
    row = conn.execute(
        "SELECT customer_id, orders_count, total_spent, last_order_at FROM customer_stats"
        " WHERE customer_id = ?",
        (customer_id,),
    ).fetchone()
    if row is not None:
        limits = site_thresholds(conn, site_id)
        _store_scores(conn, [(customer_id, limits.score(_buyer(row), datetime.now(UTC)))])


def refresh_stats(conn: Tx, site_id: str, customer_id: str) -> None:
    """Recount one customer's orders, score him at once, and mark the site for re-scoring."""
    row = conn.execute(
        "SELECT count(*) AS n, COALESCE(sum(total), 0) AS spent, min(placed_at) AS first,"
        " max(placed_at) AS last, max(currency) AS currency FROM orders WHERE customer_id = ?",
        (customer_id,),
    ).fetchone()
    mark_rfm_dirty(conn, site_id)
    if row["n"] == 0:
        conn.execute("DELETE FROM customer_stats WHERE customer_id = ?", (customer_id,))
        return
    conn.execute(
        "INSERT INTO customer_stats (customer_id, site_id, orders_count, total_spent, currency,"
        " first_order_at, last_order_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (customer_id) DO UPDATE SET orders_count = excluded.orders_count,"
        " total_spent = excluded.total_spent, currency = excluded.currency,"
        " first_order_at = excluded.first_order_at, last_order_at = excluded.last_order_at",
        (customer_id, site_id, row["n"], row["spent"], row["currency"], row["first"], row["last"]),
    )
    score_customer(conn, site_id, customer_id)


@dataclass(frozen=True, slots=True)
class DirtySite:
    site_id: str
    first_at: float
    last_at: float
    claimed_until: float


async def dirty_sites(db: Database) -> list[DirtySite]:
    rows = await db.fetch_all(
        "SELECT site_id, first_at, last_at, claimed_until FROM rfm_dirty ORDER BY first_at"
    )
    return [DirtySite(r[0], r[1], r[2], r[3]) for r in rows]


def claim_dirty(conn: Tx, site_id: str, now: float, lease: float) -> float | None:
    """Take the site for re-scoring (one process at a time); answers the mark it covers."""
    row = conn.execute(
        "UPDATE rfm_dirty SET claimed_until = ? WHERE site_id = ? AND claimed_until < ?"
        " RETURNING last_at",
        (now + lease, site_id, now),
    ).fetchone()
    return None if row is None else float(row[0])


def finish_dirty(conn: Tx, site_id: str, covered: float, now: float) -> None:
    """Done up to mark `covered`: a later mark (an order meanwhile) keeps the site dirty, and
    its wait for the next re-score starts now."""
    conn.execute("DELETE FROM rfm_dirty WHERE site_id = ? AND last_at <= ?", (site_id, covered))
    conn.execute(
        "UPDATE rfm_dirty SET claimed_until = 0, first_at = ? WHERE site_id = ?", (now, site_id)
    )


async def site_buyers(db: Database, site_id: str) -> list[rfm.Buyer]:
    """Every buyer's figures (on a reader: the writer is not held while they are read)."""
    rows = await db.fetch_all(
        "SELECT customer_id, orders_count, total_spent, last_order_at FROM customer_stats"
        " WHERE site_id = ?",
        (site_id,),
    )
    # A big shop has many buyers to parse: keep that off the event loop.
    return await asyncio.to_thread(lambda: [_buyer(r) for r in rows])


def save_thresholds(conn: Tx, site_id: str, limits: rfm.Thresholds, now: float) -> None:
    conn.execute(
        "INSERT INTO rfm_thresholds (site_id, thresholds, computed_at) VALUES (?, ?, ?)"
        " ON CONFLICT (site_id) DO UPDATE SET thresholds = excluded.thresholds,"
        " computed_at = excluded.computed_at",
        (site_id, json.dumps(limits.as_dict()), now),
    )


def rescore_chunk(
    conn: Tx, site_id: str, after: str, limit: int, limits: rfm.Thresholds
) -> str | None:
    """Score the next `limit` buyers (by id, after `after`) from their current figures.

    Answers the last id done, or None when the site is done. The figures are read in the same
    short transaction as the update, so a buyer who ordered meanwhile is never scored stale.
    """
    rows = conn.execute(
        "SELECT customer_id, orders_count, total_spent, last_order_at FROM customer_stats"
        " WHERE site_id = ? AND customer_id > ? ORDER BY customer_id LIMIT ?",
        (site_id, after, limit),
    ).fetchall()
    if not rows:
        return None
    now = datetime.now(UTC)
    _store_scores(conn, [(r["customer_id"], limits.score(_buyer(r), now)) for r in rows])
    return str(rows[-1]["customer_id"]) if len(rows) == limit else None


def mark_stale_sites(conn: Tx, computed_before: float, now: float) -> None:
    """Recency moves with the clock: sites scored long ago are scored again."""
    conn.execute(
        "INSERT INTO rfm_dirty (site_id, first_at, last_at)"
        " SELECT site_id, ?, ? FROM rfm_thresholds WHERE computed_at < ?"
        " ON CONFLICT (site_id) DO NOTHING",
        (now, now, computed_before),
    )
