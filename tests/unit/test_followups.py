"""Follow-ups of messages (services/followups.py): a queue and a few runner tasks instead of
a task each, still side by side when they wait, never starving the loop."""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings

import pytest

from chat_server.services.followups import PER_TURN, FollowUps


async def turns(count: int = 20) -> None:
    """Let the loop run `count` times."""
    for _ in range(count):
        await asyncio.sleep(0)


async def test_follow_ups_that_do_not_wait_share_one_runner() -> None:
    followups = FollowUps()
    done: list[int] = []

    async def work(i: int) -> None:
        done.append(i)

    for i in range(500):
        followups.add(work(i))
    await turns(500 // PER_TURN + 5)
    assert done == list(range(500))  # in the order they came
    assert followups.runners_started <= 2  # not one task each
    await followups.close()


async def test_follow_ups_that_wait_run_side_by_side_up_to_the_cap() -> None:
    followups = FollowUps(max_runners=3)
    release = asyncio.Event()
    started: list[int] = []
    finished: list[int] = []

    async def work(i: int) -> None:
        started.append(i)
        await release.wait()
        finished.append(i)

    for i in range(5):
        followups.add(work(i))
    await turns()
    assert started == [0, 1, 2] and len(followups) == 2  # three runners, each waiting
    release.set()
    await turns()
    assert sorted(finished) == [0, 1, 2, 3, 4]
    assert followups.runners_started == 3
    await followups.close()


async def test_a_failing_follow_up_is_logged_and_the_next_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    followups = FollowUps()
    done: list[str] = []

    async def fails() -> None:
        raise ValueError("boom")

    async def works() -> None:
        done.append("ok")

    with caplog.at_level(logging.ERROR, logger="chat_server.services.followups"):
        followups.add(fails())
        followups.add(works())
        await turns()
    assert done == ["ok"]
    assert "follow-up of a message failed" in caplog.text and "boom" in caplog.text
    await followups.close()


async def test_a_burst_lets_the_loop_turn_in_between() -> None:
    followups = FollowUps()
    ran = 0
    turns_seen: list[int] = []

    async def work() -> None:
        nonlocal ran
        ran += 1

    async def other_task() -> None:
        while ran < 10 * PER_TURN:
            turns_seen.append(ran)
            await asyncio.sleep(0)

    for _ in range(10 * PER_TURN):
        followups.add(work())
    watcher = asyncio.create_task(other_task())
    await watcher
    # The other task ran while the burst was still being worked through.
    assert any(0 < seen < 10 * PER_TURN for seen in turns_seen)
    await followups.close()


async def test_close_drops_what_waits_without_leaving_coroutines_unawaited() -> None:
    followups = FollowUps(max_runners=1)
    release = asyncio.Event()

    async def work() -> None:
        await release.wait()

    for _ in range(4):
        followups.add(work())
    await asyncio.sleep(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine ... was never awaited" would raise
        await followups.close()
        gc.collect()
    assert len(followups) == 0
