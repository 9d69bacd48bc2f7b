"""Identify's decision and the keyed session limits, without I/O."""

from __future__ import annotations

from chat_server.domain.identity import Plan, plan
from chat_server.domain.throttle import KeyedBuckets


def test_identify_never_merges_one_known_customer_into_another() -> None:
    assert plan(None, False, "x") is Plan.ADOPT
    assert plan(None, True, "x") is Plan.MERGE
    assert plan("x", True, "x") is Plan.SAME
    assert plan("x", True, "y") is Plan.FRESH
    assert plan("x", False, "y") is Plan.FRESH


def test_keyed_buckets_limit_each_key_apart_and_refill() -> None:
    limits = KeyedBuckets(per_minute=60, burst=3)
    assert [limits.take("a", 0.0) for _ in range(4)] == [True, True, True, False]
    assert limits.take("b", 0.0)  # another address is not held back
    assert limits.take("a", 1.0)  # one a second comes back
    assert not limits.take("a", 1.0)


def test_keyed_buckets_zero_is_unlimited_and_memory_is_bounded() -> None:
    assert all(KeyedBuckets(0, 0).take("a", 0.0) for _ in range(1000))
    limits = KeyedBuckets(per_minute=60, burst=1, max_keys=100)
    for n in range(1000):
        limits.take(f"addr-{n}", float(n))
    assert len(limits.buckets) <= 100
