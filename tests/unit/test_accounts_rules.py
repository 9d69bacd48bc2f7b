"""Account rules without I/O: session lifetimes, origins, attempt counts, checks in flight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chat_server.domain.accounts import SessionLifetime, check_new_password, same_origin
from chat_server.domain.throttle import InFlight, WindowCounts
from chat_server.errors import SapaError
from chat_server.services import console_auth
from chat_server.web import gateway

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LIFE = SessionLifetime(idle=timedelta(hours=12), absolute=timedelta(days=30))


def test_sessions_end_when_idle_or_old_whichever_comes_first() -> None:
    assert not LIFE.expired(NOW - timedelta(days=29), NOW - timedelta(hours=11), NOW)
    assert LIFE.expired(NOW - timedelta(days=30), NOW - timedelta(minutes=1), NOW)
    assert LIFE.expired(datetime(2000, 1, 1, tzinfo=UTC), NOW, NOW)
    assert LIFE.expired(NOW - timedelta(hours=13), None, NOW)  # never used since login
    assert LIFE.expired(NOW - timedelta(days=1), NOW - timedelta(hours=12), NOW)


def test_last_use_is_written_at_most_once_a_minute() -> None:
    assert LIFE.needs_touch(None, NOW)
    assert not LIFE.needs_touch(NOW - timedelta(seconds=59), NOW)
    assert LIFE.needs_touch(NOW - timedelta(seconds=60), NOW)
    short = SessionLifetime(idle=timedelta(minutes=5), absolute=timedelta(days=1))
    assert short.needs_touch(NOW - timedelta(seconds=30), NOW)  # a tenth of a short idle time


@pytest.mark.parametrize(
    ("origin", "public_url", "host", "ok"),
    [
        ("http://chat.test:8000", None, "chat.test:8000", True),
        ("https://chat.test:8000", None, "chat.test:8000", True),  # TLS ended at a proxy
        ("http://CHAT.test:8000/console/login", None, "chat.test:8000", True),  # a Referer
        ("http://chat.test:8001", None, "chat.test:8000", False),
        ("http://evil.test", None, "chat.test", False),
        ("http://chat.test.evil.test", None, "chat.test", False),
        ("null", None, "chat.test", False),
        ("file:///x", None, "chat.test", False),
        ("http://chat.test", None, None, False),
        ("https://chat.example.com", "https://chat.example.com", "10.0.0.5:8000", True),
        ("http://chat.example.com", "https://chat.example.com", "chat.example.com", False),
        ("https://chat.example.com", "https://chat.example.com/", "x", True),
    ],
)
def test_same_origin(origin: str, public_url: str | None, host: str | None, ok: bool) -> None:
    assert same_origin(origin, public_url, host) is ok


def test_new_passwords_need_ten_characters() -> None:
    check_new_password("0123456789")
    for bad in ("012345678", "x" * 1025):
        with pytest.raises(SapaError):
            check_new_password(bad)


def test_window_counts_restart_after_the_window_and_never_go_below_zero() -> None:
    counts = WindowCounts(window=300)
    assert [counts.add("k", t) for t in (0, 1, 2)] == [1, 2, 3]
    assert counts.add("k", 3, -1) == 2
    assert counts.add("k", 300) == 1  # a new window from the first count
    assert counts.add("other", 300, -1) == 0
    counts.clear("k")
    assert counts.add("k", 301) == 1


def test_in_flight_admits_up_to_the_limit_per_key() -> None:
    flight = InFlight(limit=1)
    assert flight.enter("a") and not flight.enter("a") and flight.enter("b")
    flight.leave("a")
    assert flight.enter("a")
    flight.leave("a")
    flight.leave("b")
    assert flight.counts == {}


def test_the_session_ended_close_code_is_the_gateways() -> None:
    assert console_auth.CLOSE_SESSION_ENDED == gateway.CLOSE_SESSION_ENDED
    assert console_auth.CLOSE_RECONNECT == gateway.CLOSE_RESTART
