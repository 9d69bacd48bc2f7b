"""Message ids that begin with their time: later ids sort later, and each is its own."""

from __future__ import annotations

import re
import time

from chat_server.ids import new_id, new_ordered_id

SHAPE = re.compile(r"msg_[0-9a-z]{9}[A-Za-z0-9_-]{12}")


def test_an_id_made_in_a_later_millisecond_sorts_after_every_earlier_one() -> None:
    made: list[str] = []
    for _ in range(5):
        made.extend(new_ordered_id("msg") for _ in range(50))
        began = time.time_ns()
        while time.time_ns() // 1_000_000 == began // 1_000_000:
            time.sleep(0.0002)  # into the next millisecond
    later = new_ordered_id("msg")
    assert all(SHAPE.fullmatch(i) for i in [*made, later]), made[:3]
    # Byte order (SQLite's BINARY collation) puts it after every one made before.
    assert max(made) < later
    assert sorted(made, key=lambda i: i[4:13]) == made  # the time part never goes back


def test_the_time_part_is_the_clock_in_base_36() -> None:
    before = time.time_ns() // 1_000_000
    part = new_ordered_id("msg")[4:13]
    after = time.time_ns() // 1_000_000
    assert before <= int(part, 36) <= after


def test_ids_are_distinct_within_a_millisecond_and_keep_their_prefix() -> None:
    many = [new_ordered_id("msg") for _ in range(20_000)]
    assert len(set(many)) == len(many)
    assert new_id("msg").startswith("msg_") and new_ordered_id("evt").startswith("evt_")
