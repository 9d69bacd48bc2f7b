"""The rebalancing rule: who hands widgets back, and how many."""

from __future__ import annotations

from chat_server.domain.balance import to_shed


def test_a_lone_process_keeps_everything() -> None:
    assert to_shed(1000, [1000]) == 0


def test_a_newcomer_gets_the_excess_over_the_mean() -> None:
    # Three processes carried 250 each; a restarted fourth has none: mean 187.5.
    assert to_shed(250, [250, 250, 250, 0]) == 62
    assert to_shed(0, [250, 250, 250, 0]) == 0


def test_small_or_relative_noise_moves_nobody() -> None:
    assert to_shed(130, [130, 100], min_excess=50) == 0  # 15 over the mean
    assert to_shed(5_400, [5_400, 4_600], min_excess=50) == 0  # 8 % over the mean
    assert to_shed(7_000, [7_000, 3_000], min_excess=50) == 2_000


def test_two_busy_processes_share_with_one_new_one() -> None:
    loads = [300, 300, 0]
    assert to_shed(300, loads, min_excess=10) == 100
