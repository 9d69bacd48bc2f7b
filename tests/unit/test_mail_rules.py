"""Business hours and email rules, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chat_server.domain import business_hours as bh
from chat_server.domain import mail
from chat_server.errors import SapaError

WEEKDAYS = {d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# -- business hours ------------------------------------------------------------------


def test_jakarta_open_and_closed() -> None:
    schedule = bh.parse({"days": WEEKDAYS, "reply_minutes": 30})
    assert schedule.timezone == "Asia/Jakarta"
    # Monday 7 December 2026, 10:00 in Jakarta (UTC+7, no DST).
    morning = bh.state_at(schedule, at("2026-12-07T10:00:00+07:00"))
    assert morning.open and morning.to_json()["closes_at"] == "2026-12-07T10:00:00Z"
    evening = bh.state_at(schedule, at("2026-12-07T23:00:00+07:00"))
    assert not evening.open
    assert (evening.reopens_local, evening.reopens_in_days) == ("08:00", 1)
    assert evening.to_json()["reopens_at"] == "2026-12-08T01:00:00Z"
    early = bh.state_at(schedule, at("2026-12-07T06:30:00+07:00"))
    assert (early.reopens_local, early.reopens_in_days) == ("08:00", 0)
    # Friday night: back on Monday.
    weekend = bh.state_at(schedule, at("2026-12-11T18:00:00+07:00"))
    assert (weekend.reopens_local, weekend.reopens_in_days) == ("08:00", 3)
    # The end of a range is closed; its start is open.
    assert not bh.state_at(schedule, at("2026-12-07T17:00:00+07:00")).open
    assert bh.state_at(schedule, at("2026-12-07T08:00:00+07:00")).open


def test_holidays_and_several_ranges() -> None:
    days = {"mon": [["13:00", "17:00"], ["08:00", "12:00"]], "tue": [["08:00", "24:00"]]}
    schedule = bh.parse({"days": days, "holidays": ["2026-12-08"], "timezone": "Asia/Makassar"})
    lunch = bh.state_at(schedule, at("2026-12-07T12:30:00+08:00"))
    assert (lunch.open, lunch.reopens_local, lunch.reopens_in_days) == (False, "13:00", 0)
    # Tuesday is a holiday: Monday evening reopens the next Monday.
    after = bh.state_at(schedule, at("2026-12-07T18:00:00+08:00"))
    assert (after.reopens_local, after.reopens_in_days) == ("08:00", 7)
    assert bh.state_at(schedule, at("2026-12-15T23:59:00+08:00")).open  # "24:00" is midnight


def test_a_zone_with_daylight_saving() -> None:
    schedule = bh.parse(
        {"days": {d: [["09:00", "17:00"]] for d in bh.DAYS}, "timezone": "Europe/Amsterdam"}
    )
    # Winter: UTC+1; summer: UTC+2. 09:00 local is 08:00 UTC, then 07:00 UTC.
    winter = bh.state_at(schedule, at("2026-01-15T06:00:00+00:00"))
    assert winter.to_json()["reopens_at"] == "2026-01-15T08:00:00Z"
    summer = bh.state_at(schedule, at("2026-07-15T06:00:00+00:00"))
    assert summer.to_json()["reopens_at"] == "2026-07-15T07:00:00Z"
    # The night the clocks go forward (29 March 2026, 02:00 -> 03:00).
    spring = bh.state_at(schedule, at("2026-03-28T20:00:00+00:00"))
    assert spring.to_json()["reopens_at"] == "2026-03-29T07:00:00Z"
    assert spring.reopens_local == "09:00"
    night = bh.parse({"days": {"sun": [["02:30", "04:00"]]}, "timezone": "Europe/Amsterdam"})
    skipped = bh.state_at(night, at("2026-03-28T20:00:00+00:00"))
    assert skipped.to_json()["reopens_at"] == "2026-03-29T01:30:00Z"  # 03:30 CEST


def test_no_hours_is_always_open_and_none_ahead_is_closed() -> None:
    assert bh.state_at(bh.stored({}), datetime.now(UTC)).open
    closed = bh.state_at(bh.parse({"days": {}}), datetime.now(UTC))
    assert (closed.open, closed.reopens_at) == (False, None)
    assert bh.state_at(bh.parse({"enabled": False, "days": {}}), datetime.now(UTC)).open


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"timezone": "Mars/Olympus"},
        {"timezone": "../../etc/passwd"},
        {"days": {"monday": []}},
        {"days": {"mon": [["8:00", "17:00"]]}},
        {"days": {"mon": [["17:00", "08:00"]]}},
        {"days": {"mon": [["25:00", "26:00"]]}},
        {"days": {"mon": [["08:00"]]}},
        {"days": {"mon": [["08:00", "09:00"]] * 5}},
        {"holidays": ["25/12/2026"]},
        {"holidays": [20261225]},
        {"reply_minutes": 0},
        {"reply_minutes": True},
    ],
)
def test_bad_schedules_are_refused(bad: object) -> None:
    with pytest.raises(SapaError):
        bh.parse(bad)


def test_schedule_round_trips() -> None:
    schedule = bh.parse({"days": WEEKDAYS, "holidays": ["2026-12-25"], "reply_minutes": 60})
    assert bh.parse(schedule.to_json()) == schedule


# -- email rules ------------------------------------------------------------------------


def test_addresses() -> None:
    assert mail.valid_address("Budi.S+toko@Example.ID") == "Budi.S+toko@example.id"
    for bad in ("", "budi", "budi@", "@x.id", "a@b", "a b@c.id", "a@b.id\nBcc: x@y.z", None, 5):
        with pytest.raises(SapaError):
            mail.valid_address(bad)


def test_header_text_is_one_line() -> None:
    assert mail.header_text("Toko\r\nBcc: x@evil.test\u2028X: y") == "Toko Bcc: x@evil.test X: y"
    assert len(mail.header_text("a" * 500)) == mail.MAX_HEADER


def test_smtp_and_imap_urls() -> None:
    smtp = mail.MailServer.parse("smtp://user%40shop:p%3Ass@mail.shop.test:587?starttls=1", "smtp")
    assert (smtp.host, smtp.port, smtp.username, smtp.password) == (
        "mail.shop.test",
        587,
        "user@shop",
        "p:ss",
    )
    assert (smtp.tls, smtp.starttls) == (False, True)
    smtps = mail.MailServer.parse("smtps://mail.shop.test", "smtp")
    assert (smtps.port, smtps.tls, smtps.starttls) == (465, True, False)
    imap = mail.MailServer.parse("imaps://u:p@imap.shop.test?mailbox=Replies", "imap")
    assert (imap.port, imap.tls, imap.mailbox) == (993, True, "Replies")
    for bad in ("http://x", "smtp://", "imap://x"):
        with pytest.raises(ValueError):
            mail.MailServer.parse(bad, "smtp")


def test_retry_rules() -> None:
    assert [mail.verdict(c) for c in (None, 421, 451, 550, 554)] == [
        "retry",
        "retry",
        "retry",
        "fail",
        "fail",
    ]
    assert [mail.retry_delay(n, 30) for n in (1, 2, 3)] == [30, 60, 120]
    assert mail.retry_delay(30, 30) == 3600


def test_loops_are_recognised() -> None:
    assert not mail.is_automatic({"Auto-Submitted": "no", "From": "a@b.c"})
    assert mail.is_automatic({"Auto-Submitted": "auto-replied"})
    assert mail.is_automatic({"precedence": "Bulk"})
    assert mail.is_automatic({"Return-Path": "<>"})
    assert mail.is_automatic({"X-Autoreply": "yes"})


def test_reply_addresses_are_signed() -> None:
    address = mail.reply_address("support@shop.test", "s3cret", "room_abc-12")
    assert address.startswith("support+room_abc-12.") and address.endswith("@shop.test")
    assert mail.room_of_address(address, "s3cret") == "room_abc-12"
    assert mail.room_of_address(address, "other") is None
    assert mail.room_of_address(address.replace("room_abc", "room_abd"), "s3cret") is None
    assert mail.room_of_address("support@shop.test", "s3cret") is None


def test_webhook_signatures() -> None:
    import hashlib
    import hmac

    sig = hmac.new(b"k", b"1700000000tok", hashlib.sha256).hexdigest()
    assert mail.verify_webhook("k", "1700000000", "tok", sig, 1700000100)
    assert not mail.verify_webhook("k", "1700000000", "tok", sig, 1700009999)  # stale
    assert not mail.verify_webhook("x", "1700000000", "tok", sig, 1700000100)
    assert not mail.verify_webhook("k", "soon", "tok", sig, 1700000100)


def test_reply_text_drops_quotes_and_signatures() -> None:
    body = "Baik, terima kasih.\n-- \nBudi\n\nOn Mon, 7 Dec 2026 Shop wrote:\n> Halo"
    assert mail.reply_text(body) == "Baik, terima kasih."
    assert mail.reply_text("> only\n> quoted") == ""
    assert len(mail.reply_text("x" * 10_000)) == mail.MAX_INBOUND_TEXT
