"""Recency, frequency and monetary scores, segments and lifecycle stages. No I/O.

A site with enough buyers scores them in quintiles: 5 is the best fifth of its
buyers. Ties share a score (the score of the first of them), so 100 one-time
buyers are all F=1 rather than spread over five scores. Quintiles say nothing
on a small shop (its only buyer is the worst fifth of himself, and "lost"), so
below `MIN_BUYERS_FOR_QUINTILES` buyers fixed thresholds that make sense for an
Indonesian online shop are used instead.

Either way a site's scoring is a set of thresholds: four cut points per
dimension, "at least this for 2, 3, 4, 5". Quintile thresholds are computed
from the whole site, once in a while and off the chat path; one buyer whose
figures changed is scored against the stored thresholds at once.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime
from math import ceil, inf
from typing import Any, Literal

LAPSED_AFTER_DAYS = 180
MIN_BUYERS_FOR_QUINTILES = 20
# Fixed thresholds, for scores 2, 3, 4, 5.
FIXED_RECENCY_DAYS = (180, 90, 60, 30)  # last order within this many days
FIXED_ORDERS = (2, 3, 5, 8)  # at least this many orders
FIXED_SPENT_IDR = (150_000, 500_000, 1_500_000, 5_000_000)  # at least this much in total

Method = Literal["quintiles", "fixed"]
DAY = 86_400.0


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
    method: Method = "quintiles"


def _level(cuts: tuple[float, ...], value: float) -> int:
    return 1 + sum(1 for cut in cuts if value >= cut)


def _recency(buyer: Buyer, now: datetime) -> float:
    """Higher is better: minus the age of the last order, in days."""
    return -(now - buyer.last_order_at).total_seconds() / DAY


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Cut points (ascending) for scores 2..5 of each dimension; recency is minus days."""

    method: Method
    buyers: int
    recency: tuple[float, float, float, float]
    frequency: tuple[float, float, float, float]
    monetary: tuple[float, float, float, float]
    # Quintile recency cuts are ages at this moment; fixed ones are ages now (None).
    at: datetime | None = None

    def score(self, buyer: Buyer, now: datetime) -> Score:
        r = _level(self.recency, _recency(buyer, self.at or now))
        f = _level(self.frequency, float(buyer.orders))
        m = _level(self.monetary, buyer.spent)
        return Score(r, f, m, segment(r, f), self.method)

    def as_dict(self) -> dict[str, Any]:
        def cuts(values: tuple[float, ...]) -> list[float | None]:
            return [None if v == inf else v for v in values]

        return {
            "method": self.method,
            "buyers": self.buyers,
            "recency": cuts(self.recency),
            "frequency": cuts(self.frequency),
            "monetary": cuts(self.monetary),
            "at": self.at.isoformat() if self.at else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Thresholds:
        def cuts(values: list[float | None]) -> tuple[float, float, float, float]:
            a, b, c, d = (inf if v is None else float(v) for v in values)
            return (a, b, c, d)

        method: Method = "fixed" if data.get("method") == "fixed" else "quintiles"
        return cls(
            method,
            int(data.get("buyers", 0)),
            cuts(data["recency"]),
            cuts(data["frequency"]),
            cuts(data["monetary"]),
            datetime.fromisoformat(data["at"]) if data.get("at") else None,
        )


def fixed_thresholds(buyers: int = 0) -> Thresholds:
    a, b, c, d = (-float(days) for days in FIXED_RECENCY_DAYS)
    return Thresholds(
        "fixed",
        buyers,
        (a, b, c, d),
        tuple(float(n) for n in FIXED_ORDERS),  # type: ignore[arg-type]
        tuple(float(n) for n in FIXED_SPENT_IDR),  # type: ignore[arg-type]
    )


def quintile(values: list[float], value: float) -> int:
    """1–5: where `value` ranks among `values` (higher is better)."""
    ordered = sorted(values)
    rank = bisect_left(ordered, value)
    return 1 + (5 * rank) // len(ordered)


def quintile_cuts(values: list[float]) -> tuple[float, float, float, float]:
    """Cut points that give every member of `values` exactly its `quintile`.

    Score s needs a rank (values strictly below) of at least ceil((s-1)·n/5), that is a
    value above the k-th smallest: the cut is the next distinct value after it.
    """
    ordered = sorted(values)
    n = len(ordered)
    out = []
    for s in (2, 3, 4, 5):
        below = ordered[ceil((s - 1) * n / 5) - 1]
        nxt = bisect_right(ordered, below)
        out.append(ordered[nxt] if nxt < n else inf)
    a, b, c, d = out
    return (a, b, c, d)


def thresholds_for(
    buyers: list[Buyer], now: datetime, minimum: int = MIN_BUYERS_FOR_QUINTILES
) -> Thresholds:
    """Quintiles of the site's buyers, or the fixed thresholds when there are too few."""
    if not buyers or len(buyers) < minimum:
        return fixed_thresholds(len(buyers))
    return Thresholds(
        "quintiles",
        len(buyers),
        quintile_cuts([_recency(b, now) for b in buyers]),
        quintile_cuts([float(b.orders) for b in buyers]),
        quintile_cuts([b.spent for b in buyers]),
        now,
    )


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


def score_all(
    buyers: list[Buyer], now: datetime, minimum: int = MIN_BUYERS_FOR_QUINTILES
) -> dict[str, Score]:
    limits = thresholds_for(buyers, now, minimum)
    return {b.customer_id: limits.score(b, now) for b in buyers}


def lifecycle(orders: int, last_order_at: datetime | None, now: datetime) -> str:
    if orders == 0 or last_order_at is None:
        return "prospect"
    if (now - last_order_at).days > LAPSED_AFTER_DAYS:
        return "lapsed"
    return "new_customer" if orders == 1 else "repeat"
