"""Origins, rate limits and audiences: the small rules that guard everything else."""

from __future__ import annotations

from chat_server.domain import audience
from chat_server.domain.models import Author, Message, Room
from chat_server.domain.origins import origin_allowed
from chat_server.domain.throttle import SlidingWindow, TokenBucket

DOMAINS = ("shop.test", "*.shop.test")


def test_origins_match_exact_hosts_and_wildcard_subdomains() -> None:
    assert origin_allowed("https://shop.test", DOMAINS)
    assert origin_allowed("http://shop.test:8080", DOMAINS)
    assert origin_allowed("https://www.shop.test", DOMAINS)
    assert origin_allowed("https://a.b.shop.test", DOMAINS)
    assert not origin_allowed("https://evilshop.test", DOMAINS)
    assert not origin_allowed("https://shop.test.evil.test", DOMAINS)
    assert not origin_allowed("null", DOMAINS)
    assert not origin_allowed(None, DOMAINS)
    assert not origin_allowed("javascript://shop.test", DOMAINS)
    assert not origin_allowed("https://www.shop.test", ("shop.test",))


def test_token_bucket_allows_bursts_then_the_rate() -> None:
    bucket = TokenBucket(rate=2, burst=3)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.5) and not bucket.take(0.5)


def test_sliding_window_blocks_after_the_limit_and_forgets_old_events() -> None:
    window = SlidingWindow(limit=2, window=10)
    window.hit("k", 0)
    window.hit("k", 1)
    assert window.blocked("k", 5)
    assert not window.blocked("k", 10.5)
    assert not window.blocked("other", 5)


def _room(kind: str = "private") -> Room:
    return Room(
        "r1",
        "s1",
        kind,
        "queued" if kind == "private" else "open",
        1,
        "t",
        "t",
        customer_id="c1" if kind == "private" else None,
    )  # type: ignore[arg-type]


def _message(kind: str) -> Message:
    return Message("m", "s1", "r1", 1, kind, "x", Author("agent", "a1", "Rina"), None, "t")  # type: ignore[arg-type]


def test_notes_go_to_agents_only() -> None:
    assert audience.for_message(_room(), _message("note")) == (audience.AGENTS,)


def test_private_messages_go_to_agents_and_that_customer() -> None:
    assert audience.for_message(_room(), _message("text")) == (
        audience.AGENTS,
        audience.customer("c1"),
    )


def test_public_room_messages_go_to_its_readers() -> None:
    assert audience.for_message(_room("public"), _message("text")) == (
        audience.AGENTS,
        audience.Audience("room", "r1"),
    )


def test_customer_typing_is_for_agents_only() -> None:
    assert audience.for_typing(_room(), "customer") == (audience.AGENTS,)
    assert audience.customer("c1") in audience.for_typing(_room(), "agent")


def test_visitor_view_of_a_room_hides_staff_previews() -> None:
    staff = Room(
        "r1",
        "s1",
        "private",
        "queued",
        2,
        "t",
        "t",
        customer_id="c1",
        extra={"last_message": {"body": "secret note", "kind": "note"}, "unread": 3},
    )
    assert staff.as_dict()["last_message"]["body"] == "secret note"
    assert "last_message" not in staff.visitor_view()
    assert "unread" not in staff.visitor_view()
