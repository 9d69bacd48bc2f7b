"""The assignment policy: caps, fairness, queue order, who may receive."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chat_server.domain import routing
from chat_server.domain.models import UNTIL_REPLY
from chat_server.domain.rooms import check_snooze, snooze_until
from chat_server.domain.routing import (
    AgentLoad,
    RoutingSettings,
    offline_sweep,
    parse_offline_return,
)
from chat_server.errors import SapaError

RR = RoutingSettings("round_robin", 3)
LB = RoutingSettings("least_busy", 3)


def test_manual_mode_assigns_nothing() -> None:
    loads = [AgentLoad("a", "A", 0, None)]
    assert routing.plan(RoutingSettings("manual", 3), ["r1"], loads) == []


def test_caps_are_never_passed_and_the_rest_waits_in_arrival_order() -> None:
    loads = [AgentLoad("a", "A", 0, None), AgentLoad("b", "B", 0, None)]
    queue = [f"r{i}" for i in range(10)]
    planned = routing.plan(RR, queue, loads)
    assert [room for room, _ in planned] == queue[:6]
    per_agent = {"a": 0, "b": 0}
    for _, agent in planned:
        per_agent[agent.agent_id] += 1
    assert per_agent == {"a": 3, "b": 3}


def test_an_agents_own_cap_beats_the_sites_default() -> None:
    loads = [AgentLoad("a", "A", 0, 1), AgentLoad("b", "B", 0, 5)]
    planned = routing.plan(RR, [f"r{i}" for i in range(10)], loads)
    assert [a.agent_id for _, a in planned].count("a") == 1
    assert [a.agent_id for _, a in planned].count("b") == 5


def test_round_robin_takes_turns_starting_with_who_waited_longest() -> None:
    loads = [
        AgentLoad("a", "A", 0, None, "2026-12-06T10:00:02.000Z"),
        AgentLoad("b", "B", 0, None, "2026-12-06T10:00:01.000Z"),
        AgentLoad("c", "C", 0, None, ""),  # never given one: first
    ]
    planned = routing.plan(RoutingSettings("round_robin", 2), [f"r{i}" for i in range(6)], loads)
    assert [a.agent_id for _, a in planned] == ["c", "b", "a", "c", "b", "a"]


def test_least_busy_fills_the_emptiest_first() -> None:
    loads = [AgentLoad("a", "A", 2, None), AgentLoad("b", "B", 0, None)]
    planned = routing.plan(LB, ["r1", "r2", "r3"], loads)
    assert [a.agent_id for _, a in planned] == ["b", "b", "a"]


def test_full_agents_and_nobody_online_leave_the_queue_alone() -> None:
    assert routing.plan(RR, ["r1"], [AgentLoad("a", "A", 3, None)]) == []
    assert routing.plan(RR, ["r1"], []) == []  # away and offline agents are not candidates
    assert routing.free_slots(RR, [AgentLoad("a", "A", 5, None)]) == 0  # over cap after a cut


def test_a_room_is_waiting_only_when_private_queued_and_unassigned() -> None:
    assert routing.waiting("private", "queued", None)
    assert not routing.waiting("private", "queued", "agt")
    assert not routing.waiting("private", "resolved", None)
    assert not routing.waiting("public", "queued", None)


@pytest.mark.parametrize("bad", [0, -1, 101, 10**9, 2.5, "3", True, None, [3]])
def test_bad_caps_are_refused(bad: object) -> None:
    with pytest.raises(SapaError):
        routing.parse_cap(bad)


def test_settings_are_merged_and_checked() -> None:
    current = RoutingSettings()
    assert routing.parse_settings({"mode": "least_busy"}, current) == RoutingSettings(
        "least_busy", 3
    )
    assert routing.parse_settings({"default_cap": 7}, current).default_cap == 7
    for bad in ({"mode": "random"}, {"default_cap": 0}, {"cap": 3}, [], "x"):
        with pytest.raises(SapaError):
            routing.parse_settings(bad, current)


def test_eta_comes_from_the_pace_of_recent_assignments_out_of_the_queue() -> None:
    assert routing.eta_seconds(3, []) is None
    waited = [
        ("2026-12-06T10:00:00.000Z", "2026-12-06T10:02:00.000Z"),
        ("2026-12-06T10:00:00.000Z", "2026-12-06T10:04:00.000Z"),
        ("2026-12-06T10:00:00.000Z", "2026-12-06T10:06:00.000Z"),
    ]
    assert routing.eta_seconds(3, waited) == 360  # one every 2 minutes
    # Assigned on arrival: no information about how fast the line moves.
    instant = [("2026-12-06T10:00:00.000Z", "2026-12-06T10:00:00.100Z")] * 5
    assert routing.eta_seconds(1, instant) is None


def test_a_snooze_ends_in_the_future_within_a_year_or_at_the_shoppers_reply() -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert snooze_until(None, now) == UNTIL_REPLY
    assert snooze_until("2026-12-07T09:00+07:00", now) == "2026-12-07T02:00:00.000Z"
    assert snooze_until("2026-12-06T13:00", now) == "2026-12-06T13:00:00.000Z"  # no zone: UTC
    for bad in ("2026-12-06T12:00Z", "2026-12-06T11:00Z", "2028-01-01T00:00Z", "besok", 5, ""):
        with pytest.raises(SapaError):
            snooze_until(bad, now)
    check_snooze("private", "assigned")
    check_snooze("private", "queued")
    for kind, status in (("public", "open"), ("private", "resolved")):
        with pytest.raises(SapaError):
            check_snooze(kind, status)  # type: ignore[arg-type]


def test_offline_agents_are_marked_then_given_back_after_the_sites_time() -> None:
    holders = [
        ("online", None),
        ("back", "2026-12-06T10:00:00.000Z"),  # connected again: the mark goes
        ("gone", None),  # not noticed yet
        ("recent", "2026-12-06T11:55:00.000Z"),
        ("long", "2026-12-06T11:00:00.000Z"),
    ]
    sweep = offline_sweep(holders, {"online", "back"}, cutoff="2026-12-06T11:50:00.000Z")
    assert (sweep.mark, sweep.clear, sweep.overdue) == (("gone",), ("back",), ("long",))
    assert not offline_sweep([("online", None)], {"online"}, "2026-12-06T11:50:00.000Z")
    assert parse_offline_return(None) is None and parse_offline_return(30) == 30
    for bad in (0, -5, 10081, 1.5, "30", True):
        with pytest.raises(SapaError):
            parse_offline_return(bad)


def test_a_teams_conversation_counts_only_its_teams_line() -> None:
    assert routing.places([]) == []
    assert routing.places([None, "t1", None, "t1", "t2", None]) == [1, 1, 3, 2, 1, 6]
