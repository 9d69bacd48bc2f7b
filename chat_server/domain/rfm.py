"""Recency, frequency and monetary scores, segments and lifecycle stages. No I/O.

Scores are quintiles within one site: 5 is the best fifth of its buyers. Ties
share a score (the score of the first of them), so 100 one-time buyers are all
F=1 rather than spread over five scores.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime

LAPSED_AFTER_DAYS = 180


@dataclass(frozen=True, slots=True)
class Buyer:
    customer_id: str
    last_order_at: datetime
    orders: int
    spent: float


@dataclass(frozen=True, slots=True)
class Score:
    r: int
    f: int
    m: int
    segment: str


def quintile(values: list[float], value: float) -> int:
    """1–5: where `value` ranks among `values` (higher is better)."""
    ordered = sorted(values)
    rank = bisect_left(ordered, value)
    return 1 + (5 * rank) // len(ordered)


def segment(r: int, f: int) -> str:
    if r >= 4 and f >= 4:
        return "champions"
    if r >= 4 and f == 1:
        return "new"
    if r >= 3 and f >= 3:
        return "loyal"
    if r >= 4:
        return "potential"
    if r <= 2 and f >= 3:
        return "at_risk"
    if r == 1:
        return "lost"
    return "hibernating"


def score_all(buyers: list[Buyer], now: datetime) -> dict[str, Score]:
    if not buyers:
        return {}
    # Recency: more recent is better, so rank the negated age.
    recency = [-(now - b.last_order_at).total_seconds() for b in buyers]
    counts = [float(b.orders) for b in buyers]
    spent = [b.spent for b in buyers]
    out = {}
    for buyer, rec in zip(buyers, recency, strict=True):
        r = quintile(recency, rec)
        f = quintile(counts, float(buyer.orders))
        m = quintile(spent, buyer.spent)
        out[buyer.customer_id] = Score(r, f, m, segment(r, f))
    return out


def lifecycle(orders: int, last_order_at: datetime | None, now: datetime) -> str:
    if orders == 0 or last_order_at is None:
        return "prospect"
    if (now - last_order_at).days > LAPSED_AFTER_DAYS:
        return "lapsed"
    return "new_customer" if orders == 1 else "repeat"
