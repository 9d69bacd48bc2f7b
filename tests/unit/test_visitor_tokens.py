"""Signed widget tokens: what a signature vouches for, and what it refuses."""

from __future__ import annotations

import time

import pytest

from chat_server.domain.visitor_tokens import VisitorTokens
from chat_server.ids import hash_token


def test_a_signed_token_says_its_site_its_customer_and_when_it_was_made() -> None:
    tokens = VisitorTokens("installation secret")
    made = time.time_ns()
    token = tokens.issue("site_abc", "cus_xyz", made)
    presented = tokens.present(token)
    assert presented.hash == hash_token(token)
    assert presented.signed is not None
    assert (presented.signed.site_id, presented.signed.customer_id) == ("site_abc", "cus_xyz")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(made // 1_000_000_000))
    assert presented.signed.made_at.startswith(stamp) and presented.signed.made_at.endswith("Z")
    # Two visitors in the same millisecond still get different tokens (the random part).
    assert tokens.issue("site_abc", "cus_xyz", made) != token
    assert len(token) <= 256  # what the session call and the upload route accept


def _swap(token: str, index: int, value: str) -> str:
    parts = token.split(".")
    parts[index] = value
    return ".".join(parts)


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: _swap(t, 0, "site_other"),  # another site
        lambda t: _swap(t, 1, "cus_someone"),  # another customer
        lambda t: _swap(t, 2, "0"),  # another time
        lambda t: _swap(t, 3, "A" * 24),  # another random part
        lambda t: _swap(t, 4, "A" * 32),  # a made-up signature
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character of it changed
        lambda t: t + ".x",  # a part too many
        lambda t: t.rsplit(".", 1)[0],  # no signature
        lambda t: _swap(t, 4, "é" * 32),  # not ASCII (compare_digest refuses it)
        lambda t: "",
        lambda t: "....",
    ],
)
def test_a_changed_or_made_up_token_is_not_vouched_for(forge: object) -> None:
    tokens = VisitorTokens("installation secret")
    token = tokens.issue("site_abc", "cus_xyz", time.time_ns())
    assert callable(forge)
    forged = forge(token)
    assert forged != token
    presented = tokens.present(forged)
    assert presented.signed is None
    assert presented.hash == hash_token(forged)  # it may still be an old token with a row


def test_another_installations_key_vouches_for_nothing() -> None:
    token = VisitorTokens("one secret").issue("site_abc", "cus_xyz", time.time_ns())
    assert VisitorTokens("another secret").present(token).signed is None
    assert VisitorTokens("one secret").present(token).signed is not None


def test_an_old_random_token_is_presented_by_its_hash_alone() -> None:
    old = "q2Xb3c9H0Zk5m1oVbqYt3Q8hJ6Rr4sWnUe7yTf2iLpA"  # secrets.token_urlsafe(32)
    presented = VisitorTokens("installation secret").present(old)
    assert presented.signed is None and presented.hash == hash_token(old)
