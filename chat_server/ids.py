"""Identifiers, secrets and timestamps."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time
from datetime import UTC, datetime

ID_BYTES = 12  # random bytes per id: 16 URL-safe base64 characters, no padding
_POOL_IDS = 256  # ids drawn from the OS per refill
_ID_CHARS = ID_BYTES * 4 // 3

# Ready-made random parts of ids, taken from the end. A refill is one read of the OS CSPRNG
# for 256 ids instead of a `getrandom` call and a base64 encoding per id (a message's id is
# made on the writer thread, where every microsecond is a message's). Each id still has 12
# bytes of its own from the OS: nothing is derived or counted. `list.pop` and `extend` are
# atomic under the GIL, so threads never share a part; a forked child starts empty, so it
# never repeats its parent's.
_pool: list[str] = []
os.register_at_fork(after_in_child=_pool.clear)


def _random_part() -> str:
    try:
        return _pool.pop()
    except IndexError:
        pass
    # 12 bytes are 16 base64 characters exactly: the encoding of the whole read, cut every
    # 16 characters, is each id's own 12 bytes encoded alone (`secrets.token_urlsafe(12)`).
    text = base64.urlsafe_b64encode(os.urandom(ID_BYTES * _POOL_IDS)).decode("ascii")
    parts = [text[i : i + _ID_CHARS] for i in range(0, len(text), _ID_CHARS)]
    mine = parts.pop()
    _pool.extend(parts)
    return mine


# Digits and lower-case letters: their byte order (SQLite's BINARY, PostgreSQL's "C") and
# their order in the usual locales agree, so an id's time part sorts as its time does.
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_TIME_CHARS = 9  # milliseconds since 1970 in base 36: enough until the year 5138
_ORDERED_RANDOM_CHARS = 12  # 72 random bits: distinct ids within one millisecond


def new_ordered_id(prefix: str) -> str:
    """An id that begins with the time it was made, for rows made all day long (messages).

    A table's index on random ids takes each new row in a random leaf page: with a table
    of millions, nearly every insert dirties a page of its own (one more page written to
    the log per message) and reads it first if it was evicted. Ids that grow with time all
    land in the index's newest leaf (bench/README.md, "Session 11"). Still opaque to
    clients; ids made before, without a time, stay valid.
    """
    global _millisecond
    ms = time.time_ns() // 1_000_000
    cached, text = _millisecond
    if ms != cached:
        text = _base36(ms)
        _millisecond = (ms, text)
    return f"{prefix}_{text}{_random_part()[:_ORDERED_RANDOM_CHARS]}"


# The last millisecond `new_ordered_id` spelled, and its text: a batch's messages share it.
_millisecond: tuple[int, str] = (-1, "")


def _base36(ms: int) -> str:
    digits = []
    for _ in range(_TIME_CHARS):
        ms, digit = divmod(ms, 36)
        digits.append(_BASE36[digit])
    digits.reverse()
    return "".join(digits)


def new_id(prefix: str) -> str:
    # Prefixed ids make logs and support tickets readable; 12 random bytes avoid collisions.
    return f"{prefix}_{_random_part()}"


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    # Tokens are high-entropy, so a fast hash is enough; only the hash is stored.
    return hashlib.sha256(token.encode()).hexdigest()


# The last second `now_iso` formatted, and its text up to the milliseconds: one tuple,
# replaced whole, so a thread reading it never sees one second's number with another's text.
_second: tuple[int, str] = (-1, "")


def now_iso() -> str:
    """`format_time(datetime.now(UTC))`, the same text, without a datetime per call (the
    writer stamps every message)."""
    return iso_of_ns(time.time_ns())


def iso_of_ns(ns: int) -> str:
    """`format_time` of a wall-clock time in ns since the epoch, its second's text made once.

    datetime.now floors the clock to the microsecond and `format_time` the microseconds to
    the millisecond: both are the ns floored, as is the second.
    """
    global _second
    second, rest = divmod(ns, 1_000_000_000)
    cached, head = _second
    if second != cached:
        head = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
        _second = (second, head)
    return f"{head}{rest // 1_000_000:03d}Z"


def format_time(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )
