"""services/bursts.py: one run per key and window, the first item at once and a burst's
latest when its window ends."""

from __future__ import annotations

import asyncio

from chat_server.services.bursts import Bursts

WINDOW = 0.05


async def _after_window(windows: float = 1.0) -> None:
    await asyncio.sleep(WINDOW * windows + 0.03)


async def test_the_first_item_runs_at_once_and_the_bursts_latest_at_its_end() -> None:
    ran: list[str] = []
    bursts: Bursts[str] = Bursts(ran.append, WINDOW)
    assert bursts.offer("room", "m1") is True  # the caller runs it
    assert bursts.offer("room", "m2") is False
    assert bursts.offer("room", "m3") is False
    assert ran == []
    await _after_window()
    assert ran == ["m3"]  # m2 was replaced by m3 and never runs
    assert bursts.held == 1
    # m3's run opened the next window: a message within it waits again.
    assert bursts.offer("room", "m4") is False
    await _after_window()
    assert ran == ["m3", "m4"]
    # A window that ends with nothing kept back closes: the next item runs at once.
    await _after_window()
    assert len(bursts) == 0
    assert bursts.offer("room", "m5") is True
    bursts.close()


async def test_keys_have_windows_of_their_own() -> None:
    ran: list[tuple[str, str]] = []
    bursts: Bursts[tuple[str, str]] = Bursts(ran.append, WINDOW)
    assert bursts.offer("a", ("a", "1")) is True
    assert bursts.offer("b", ("b", "1")) is True
    assert bursts.offer("a", ("a", "2")) is False
    await _after_window()
    assert ran == [("a", "2")]
    bursts.close()


async def test_a_window_of_zero_runs_every_item() -> None:
    ran: list[int] = []
    bursts: Bursts[int] = Bursts(ran.append, 0)
    assert all(bursts.offer("room", i) for i in range(5))
    assert len(bursts) == 0


async def test_closed_windows_run_nothing_kept_back() -> None:
    ran: list[str] = []
    bursts: Bursts[str] = Bursts(ran.append, WINDOW)
    bursts.offer("room", "m1")
    bursts.offer("room", "m2")
    bursts.close()
    await _after_window(2)
    assert ran == []
    assert len(bursts) == 0
