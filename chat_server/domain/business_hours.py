"""A site's business hours: a weekly schedule in a time zone, with holidays. No I/O.

Stored as JSON (`sites.business_hours`):
`{"enabled": true, "timezone": "Asia/Jakarta", "reply_minutes": 60,
  "days": {"mon": [["08:00", "17:00"]], ...}, "holidays": ["2026-12-25"]}`.
Times are the shop's wall clock; a day may hold several ranges; an end of "24:00" is
midnight. The zone's rules (daylight saving included) come from the system's tz data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chat_server import errors

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_ZONE = "Asia/Jakarta"
MAX_RANGES = 4
MAX_HOLIDAYS = 100
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d|24:00")
LOOKAHEAD_DAYS = 14 + MAX_HOLIDAYS

Range = tuple[int, int]  # minutes since local midnight, start < end


@dataclass(frozen=True, slots=True)
class Schedule:
    enabled: bool = False
    timezone: str = DEFAULT_ZONE
    days: tuple[tuple[Range, ...], ...] = ((),) * 7
    holidays: frozenset[date] = frozenset()
    reply_minutes: int | None = None  # the reply time the widget promises while open

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "timezone": self.timezone,
            "reply_minutes": self.reply_minutes,
            "days": {
                name: [[_hhmm(a), _hhmm(b)] for a, b in ranges]
                for name, ranges in zip(DAYS, self.days, strict=True)
            },
            "holidays": sorted(d.isoformat() for d in self.holidays),
        }


@dataclass(frozen=True, slots=True)
class HoursState:
    open: bool
    reopens_at: datetime | None = None  # UTC; None while open or with no hours ahead
    reopens_local: str | None = None  # "08:00", the shop's wall clock
    reopens_in_days: int | None = None  # 0 today, 1 tomorrow (shop's calendar)
    # UTC, while open by the schedule: when the current range ends (clients read the
    # state again then, as they do at `reopens_at`). None with no hours set.
    closes_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "reopens_at": _utc(self.reopens_at),
            "reopens_local": self.reopens_local,
            "reopens_in_days": self.reopens_in_days,
            "closes_at": _utc(self.closes_at),
        }


def _utc(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(value: object) -> int:
    if not isinstance(value, str) or not _HHMM.fullmatch(value):
        raise errors.bad_request("times in 'business_hours' look like 08:00 (24-hour)")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def parse(data: object) -> Schedule:
    """Validate an owner's `business_hours` object (raises bad_request)."""
    if not isinstance(data, dict):
        raise errors.bad_request("'business_hours' must be an object")
    zone = data.get("timezone", DEFAULT_ZONE)
    try:
        if not isinstance(zone, str) or len(zone) > 64 or ".." in zone:
            raise ValueError(zone)
        ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        raise errors.bad_request(
            "'business_hours.timezone' must be a zone like Asia/Jakarta"
        ) from None
    raw_days = data.get("days", {})
    if not isinstance(raw_days, dict) or not set(raw_days) <= set(DAYS):
        raise errors.bad_request("'business_hours.days' maps mon..sun to lists of ranges")
    days = []
    for name in DAYS:
        ranges = raw_days.get(name, [])
        if not isinstance(ranges, list) or len(ranges) > MAX_RANGES:
            raise errors.bad_request(f"'{name}' holds at most {MAX_RANGES} ranges")
        parsed = []
        for item in ranges:
            if not isinstance(item, list) or len(item) != 2:
                raise errors.bad_request('a range is ["08:00", "17:00"]')
            start, end = _minutes(item[0]), _minutes(item[1])
            if start >= end:
                raise errors.bad_request("a range must end after it starts")
            parsed.append((start, end))
        days.append(tuple(sorted(parsed)))
    holidays = data.get("holidays", [])
    if not isinstance(holidays, list) or len(holidays) > MAX_HOLIDAYS:
        raise errors.bad_request(f"'business_hours.holidays' lists at most {MAX_HOLIDAYS} dates")
    try:
        dates = frozenset(date.fromisoformat(h) for h in holidays if isinstance(h, str))
    except ValueError:
        raise errors.bad_request("holidays are dates like 2026-12-25") from None
    if len(dates) != len(holidays):
        raise errors.bad_request("holidays are dates like 2026-12-25")
    reply = data.get("reply_minutes")
    if reply is not None and (
        not isinstance(reply, int) or isinstance(reply, bool) or not 1 <= reply <= 10080
    ):
        raise errors.bad_request("'reply_minutes' must be 1 to 10080")
    return Schedule(bool(data.get("enabled", True)), zone, tuple(days), dates, reply)


def stored(data: dict[str, Any]) -> Schedule:
    """A schedule read back from the store ({} when never set: no hours, always open)."""
    return parse(data) if data else Schedule()


def _local(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """The instant of a wall-clock time; a time that DST skips is moved past the gap."""
    naive = datetime.combine(day, time()) + timedelta(minutes=minutes)
    moment = naive.replace(tzinfo=zone)
    back = moment.astimezone(UTC).astimezone(zone)
    if back.replace(tzinfo=None) != naive:  # in a spring-forward gap
        moment = back
    return moment


def state_at(schedule: Schedule, now: datetime) -> HoursState:
    """Open or closed at `now` (aware), and when it opens next."""
    if not schedule.enabled:
        return HoursState(True)
    zone = ZoneInfo(schedule.timezone)
    local_now = now.astimezone(zone)
    today = local_now.date()
    for offset in range(LOOKAHEAD_DAYS):
        day = today + timedelta(days=offset)
        if day in schedule.holidays:
            continue
        for start, end in schedule.days[day.weekday()]:
            opens, closes = _local(day, start, zone), _local(day, end, zone)
            if closes <= now:
                continue
            if opens <= now:
                return HoursState(True, closes_at=closes.astimezone(UTC))
            shown = opens.astimezone(zone)
            return HoursState(
                False,
                opens.astimezone(UTC),
                shown.strftime("%H:%M"),
                (shown.date() - today).days,
            )
    return HoursState(False)
