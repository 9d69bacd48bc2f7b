"""RFM scoring on a hand-computed fixture, and identity hashes."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta

from chat_server.domain import identity, rfm

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def buyer(name: str, days_ago: int, orders: int, spent: float) -> rfm.Buyer:
    return rfm.Buyer(name, NOW - timedelta(days=days_ago), orders, spent)


def test_quintiles_by_hand() -> None:
    # Ten values: ranks 0-9 map to 1 + (5 * rank) // 10 -> 1,1,2,2,3,3,4,4,5,5.
    values = [float(v) for v in range(10)]
    assert [rfm.quintile(values, v) for v in values] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # Ties share the lowest rank of the tie.
    assert rfm.quintile([1, 1, 1, 1, 9], 1) == 1
    assert rfm.quintile([1, 1, 1, 1, 9], 9) == 5


def test_scores_and_segments_on_a_fixture() -> None:
    buyers = [
        buyer("champ", 2, 12, 9_000_000),  # recent, frequent, big
        buyer("loyal", 20, 8, 4_000_000),
        buyer("new", 1, 1, 150_000),  # recent, one order
        buyer("risk", 200, 9, 6_000_000),  # used to buy a lot, long ago
        buyer("lost", 400, 1, 80_000),  # one order, very long ago
    ]
    scores = rfm.score_all(buyers, NOW, minimum=1)
    # Recency ranks (most recent best): lost 0, risk 1, loyal 2, champ 3, new 4 -> R = 1,2,3,4,5.
    assert {k: s.r for k, s in scores.items()} == {
        "lost": 1,
        "risk": 2,
        "loyal": 3,
        "champ": 4,
        "new": 5,
    }
    # Frequency: new and lost tie at 1 order (rank 0); loyal 2, risk 3, champ 4 -> F = 1,1,3,4,5.
    assert {k: s.f for k, s in scores.items()} == {
        "new": 1,
        "lost": 1,
        "loyal": 3,
        "risk": 4,
        "champ": 5,
    }
    assert {k: s.m for k, s in scores.items()} == {
        "lost": 1,
        "new": 2,
        "loyal": 3,
        "risk": 4,
        "champ": 5,
    }
    assert {k: s.segment for k, s in scores.items()} == {
        "champ": "champions",
        "loyal": "loyal",
        "new": "new",
        "risk": "at_risk",
        "lost": "lost",
    }


def test_stored_quintile_cuts_give_every_buyer_his_quintile() -> None:
    generator = random.Random(7)
    for n in (1, 2, 5, 19, 20, 37, 200):
        values = [
            float(generator.choice([1, 1, 2, 3, 5, 8, 13, generator.randint(1, 99)]))
            for _ in range(n)
        ]
        cuts = rfm.quintile_cuts(values)
        assert [1 + sum(v >= c for c in cuts) for v in values] == [
            rfm.quintile(values, v) for v in values
        ], n


def test_a_shops_only_buyer_is_not_lost() -> None:
    scores = rfm.score_all([buyer("only", 8, 3, 450_000)], NOW)
    assert scores["only"] == rfm.Score(5, 3, 2, "loyal", "fixed")


def test_small_shops_use_fixed_thresholds_and_big_ones_quintiles() -> None:
    few = [buyer(f"c{i}", 3 * i, 1 + i % 4, 100_000 * (i + 1)) for i in range(19)]
    assert {s.method for s in rfm.score_all(few, NOW).values()} == {"fixed"}
    many = [*few, buyer("c19", 400, 1, 50_000)]
    assert {s.method for s in rfm.score_all(many, NOW).values()} == {"quintiles"}
    fixed = rfm.fixed_thresholds()
    # Each fixed threshold is "at least": 30 days, 8 orders and Rp 5,000,000 score 5.
    assert fixed.score(buyer("x", 30, 8, 5_000_000), NOW) == rfm.Score(
        5, 5, 5, "champions", "fixed"
    )
    assert fixed.score(buyer("y", 31, 7, 4_999_999), NOW) == rfm.Score(
        4, 4, 4, "champions", "fixed"
    )
    assert fixed.score(buyer("z", 181, 1, 149_999), NOW) == rfm.Score(1, 1, 1, "lost", "fixed")
    assert fixed.score(buyer("w", 100, 2, 150_000), NOW) == rfm.Score(
        2, 2, 2, "hibernating", "fixed"
    )


def test_thresholds_survive_storage() -> None:
    buyers = [buyer(f"c{i}", i, 1, 10_000.0) for i in range(25)]
    limits = rfm.thresholds_for(buyers, NOW)
    # Every buyer spent the same: no one reaches M=2, and the cut is stored as "none".
    assert limits.monetary[0] == math.inf and limits.as_dict()["monetary"][0] is None
    assert rfm.Thresholds.from_dict(json.loads(json.dumps(limits.as_dict()))) == limits


def test_remaining_segments() -> None:
    assert rfm.segment(4, 2) == "potential"
    assert rfm.segment(3, 1) == "hibernating"
    assert rfm.segment(1, 2) == "lost"


def test_lifecycle() -> None:
    assert rfm.lifecycle(0, None, NOW) == "prospect"
    assert rfm.lifecycle(1, NOW - timedelta(days=3), NOW) == "new_customer"
    assert rfm.lifecycle(4, NOW - timedelta(days=30), NOW) == "repeat"
    assert rfm.lifecycle(4, NOW - timedelta(days=181), NOW) == "lapsed"


def test_identity_hash_is_hex_hmac_sha256_and_checked_strictly() -> None:
    # Known answer: HMAC-SHA256(key="secret", msg="user-1").
    digest = identity.user_hash("secret", "user-1")
    assert digest == "1d16fd7e96e8a9681f283b8a251822ffdc71e2a5bda0c5267a044874fa21b82b"
    assert identity.verify("secret", "user-1", digest)
    assert identity.verify("secret", "user-1", digest.upper())
    assert not identity.verify("secret", "user-2", digest)
    assert not identity.verify("other", "user-1", digest)
    assert not identity.verify("", "user-1", identity.user_hash("", "user-1"))
    assert not identity.verify("secret", "user-1", "")
