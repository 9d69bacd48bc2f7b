"""Ids from the random pool, and timestamps from the clock's nanoseconds."""

from __future__ import annotations

import base64
import os
import re
import string
from datetime import UTC, datetime, timedelta

from chat_server import ids

ALPHABET = set(string.ascii_letters + string.digits + "-_")


def test_ids_are_unique_prefixed_and_carry_twelve_random_bytes() -> None:
    made = [ids.new_id("msg") for _ in range(3 * 256 + 7)]  # across several refills
    assert len(set(made)) == len(made)
    for made_id in made:
        prefix, _, part = made_id.partition("_")
        assert prefix == "msg" and len(part) == 16 and set(part) <= ALPHABET
    # Every one of the 96 bits varies: no position is fixed or counted.
    decoded = [int.from_bytes(base64.urlsafe_b64decode(i[4:]), "big") for i in made]
    assert all(any(d >> bit & 1 for d in decoded) for bit in range(96))
    assert all(any(not d >> bit & 1 for d in decoded) for bit in range(96))


def test_a_forked_child_never_repeats_its_parents_ids() -> None:
    ids.new_id("x")  # the pool holds ids now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next id, and nothing else
        os.write(write, ids.new_id("x").encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    parents = {ids.new_id("x") for _ in range(512)}
    assert re.fullmatch(r"x_[A-Za-z0-9_-]{16}", child) and child not in parents


def test_now_iso_is_format_time_of_the_same_instant() -> None:
    second = 1_796_601_599  # a second before midnight, UTC
    for ns in [
        second * 10**9,
        second * 10**9 + 999_999_999,  # floored, never rounded up into the next second
        (second + 1) * 10**9,
        second * 10**9 + 1_500_000,
        second * 10**9 + 999_500,  # 0.9995 ms: still .000
        (second - 86_400 * 400) * 10**9 + 123_456_789,  # back in time: the cache follows
    ]:
        moment = datetime.fromtimestamp(ns // 10**9, UTC) + timedelta(
            microseconds=ns // 1000 % 10**6
        )
        assert ids.iso_of_ns(ns) == ids.format_time(moment)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ids.now_iso())
