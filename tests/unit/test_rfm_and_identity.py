"""RFM scoring on a hand-computed fixture, and identity hashes."""

from __future__ import annotations

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
    scores = rfm.score_all(buyers, NOW)
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
