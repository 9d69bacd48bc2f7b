"""Teams and labels as rules: routing within a team, names, colours, what clients send."""

from __future__ import annotations

import pytest

from chat_server.domain import routing, workgroups
from chat_server.domain.routing import AgentLoad, RoutingSettings
from chat_server.errors import SapaError

RR = RoutingSettings("round_robin", 2)
LOADS = [AgentLoad("a", "A", 0, None), AgentLoad("b", "B", 0, None)]
TEAMS = {"b": frozenset({"pay"})}


def test_a_teams_conversation_goes_only_to_its_agents() -> None:
    queue = [("r1", "pay"), ("r2", None), ("r3", "pay"), ("r4", "pay")]
    planned = [(room, a.agent_id) for room, a in routing.plan_teams(RR, queue, LOADS, TEAMS)]
    # b's two slots go to the team's first two; r2 (no team) goes to a, the oldest first.
    assert planned == [("r1", "b"), ("r2", "a"), ("r3", "b")]


def test_a_team_nobody_online_is_in_waits_and_does_not_block_the_rest() -> None:
    queue = [("r1", "ship"), ("r2", None), ("r3", None)]
    planned = routing.plan_teams(RR, queue, LOADS, TEAMS)
    assert [room for room, _ in planned] == ["r2", "r3"]


def test_without_teams_it_is_the_plain_plan() -> None:
    rooms = [f"r{i}" for i in range(6)]
    plain = routing.plan(RR, rooms, LOADS)
    teamless = routing.plan_teams(RR, [(r, None) for r in rooms], LOADS, {})
    assert [(r, a.agent_id) for r, a in plain] == [(r, a.agent_id) for r, a in teamless]


def test_free_slots_per_team_count_each_members_room() -> None:
    loads = [AgentLoad("a", "A", 1, None), AgentLoad("b", "B", 2, 5)]
    teams = {"a": frozenset({"pay", "ship"}), "b": frozenset({"pay"})}
    assert routing.team_free_slots(RR, loads, teams) == {"pay": 4, "ship": 1}


def test_names_are_one_line_and_compared_without_case() -> None:
    assert workgroups.name("  Pembayaran   dan  Refund ") == "Pembayaran dan Refund"
    assert workgroups.name_key("VIP") == workgroups.name_key("vip")
    for bad in ("", "   ", "x" * 61, 5, None, "a\u200bb", "a\x00b"):
        with pytest.raises(SapaError):
            workgroups.name(bad)


def test_colours_are_hex_and_new_labels_get_one_from_the_palette() -> None:
    assert workgroups.color("#AABBCC") == "#aabbcc"
    for bad in ("red", "#abc", "#gggggg", 1, "javascript:alert(1)"):
        with pytest.raises(SapaError):
            workgroups.color(bad)
    assert workgroups.default_color("VIP") == workgroups.default_color("vip")
    assert workgroups.default_color("VIP") in workgroups.PALETTE


def test_a_label_choice_is_ids_and_names_within_bounds() -> None:
    choice = workgroups.label_choice({"label_ids": ["l1", "l1"], "names": ["VIP", "VIP"]})
    assert choice == workgroups.LabelChoice(("l1",), ("VIP",))
    for bad in (
        {},
        {"label_ids": "l1"},
        {"names": "VIP"},
        {"names": [1]},
        {"label_ids": [""]},
        {"other": []},
        {"names": [f"n{i}" for i in range(21)]},
    ):
        with pytest.raises(SapaError):
            workgroups.label_choice(bad)
