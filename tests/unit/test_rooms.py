"""The room state machine."""

from __future__ import annotations

import pytest

from chat_server.domain import rooms
from chat_server.errors import SapaError


def test_assign_and_unassign() -> None:
    t = rooms.assign("queued", None, "a1", "Rina")
    assert (t.status, t.assignee_id) == ("assigned", "a1")
    assert t.event is not None and t.event.render("id") == "Ditangani oleh Rina"
    assert t.event.render("en") == "Assigned to Rina"
    back = rooms.assign("assigned", "a1", None, None)
    assert (back.status, back.assignee_id) == ("queued", None)


def test_assigning_the_same_agent_changes_nothing() -> None:
    assert rooms.assign("assigned", "a1", "a1", "Rina").event is None


def test_assigning_a_resolved_room_keeps_it_resolved() -> None:
    t = rooms.assign("resolved", "a1", "a2", "Budi")
    assert (t.status, t.assignee_id) == ("resolved", "a2")


def test_resolve_then_customer_message_reopens_for_the_same_agent() -> None:
    done = rooms.resolve("assigned", "a1", "Rina")
    assert done.status == "resolved" and done.assignee_id == "a1"
    again = rooms.on_customer_message("resolved", "a1")
    assert (again.status, again.assignee_id) == ("assigned", "a1")
    queued = rooms.on_customer_message("resolved", None)
    assert queued.status == "queued"


def test_resolving_twice_and_reopening_an_open_room_are_no_ops() -> None:
    assert rooms.resolve("resolved", "a1", "Rina").event is None
    assert rooms.reopen("assigned", "a1", "Rina").event is None


def test_the_first_reply_takes_a_queued_room() -> None:
    t = rooms.on_agent_reply("queued", None, "a2", "Budi")
    assert (t.status, t.assignee_id) == ("assigned", "a2")
    assert rooms.on_agent_reply("assigned", "a1", "a2", "Budi").event is None


@pytest.mark.parametrize("rule", [rooms.resolve, rooms.reopen])
def test_public_rooms_have_no_life_cycle(rule) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SapaError):
        rule("open", None, "Rina")
