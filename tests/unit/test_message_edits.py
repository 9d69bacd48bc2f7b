"""Unsend and edit rules without I/O: whose message, and the 15-minute edit window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chat_server.domain import frames as f
from chat_server.domain.access import Viewer
from chat_server.domain.message_edits import EDIT_WINDOW, check_may_change, check_may_edit
from chat_server.domain.models import Author, Message
from chat_server.errors import ErrorCode, SapaError

SENT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SHOPPER = Viewer("site_a", "customer", "cus_1", "Ani")


def message(**changes: object) -> Message:
    fields: dict[str, object] = {
        "id": "msg_1",
        "site_id": "site_a",
        "room_id": "room_1",
        "seq": 1,
        "kind": "text",
        "body": "halo",
        "author": Author("customer", "cus_1", "Ani"),
        "client_msg_id": "c1",
        "created_at": "2026-01-05T09:00:00.000Z",
    }
    fields.update(changes)
    return Message(**fields)  # type: ignore[arg-type]


def code(call: object) -> ErrorCode:
    with pytest.raises(SapaError) as raised:
        call()  # type: ignore[operator]
    return raised.value.code


def test_only_the_sender_changes_a_message_and_others_learn_nothing_of_what_they_cannot_see() -> (
    None
):
    assert check_may_change(SHOPPER, message()).id == "msg_1"
    assert code(lambda: check_may_change(SHOPPER, None)) == ErrorCode.NOT_FOUND
    assert code(lambda: check_may_change(SHOPPER, message(site_id="b"))) == ErrorCode.NOT_FOUND
    agent = Author("agent", "agt_1", "Sari")
    assert code(lambda: check_may_change(SHOPPER, message(author=agent))) == ErrorCode.FORBIDDEN
    note = message(kind="note", author=agent)
    assert code(lambda: check_may_change(SHOPPER, note)) == ErrorCode.NOT_FOUND
    staff = Viewer("site_a", "agent", "agt_1", "Sari")
    assert check_may_change(staff, note).kind == "note"
    # The same id on the other side (a customer and an agent never share one, but still).
    assert code(
        lambda: check_may_change(staff, message(author=Author("customer", "agt_1", "x")))
    ) == (ErrorCode.FORBIDDEN)


def test_an_edit_is_allowed_for_fifteen_minutes_and_never_on_a_deleted_message() -> None:
    check_may_edit(message(), SENT + EDIT_WINDOW)
    late = SENT + EDIT_WINDOW + timedelta(milliseconds=1)
    assert code(lambda: check_may_edit(message(), late)) == ErrorCode.TOO_LATE
    assert code(lambda: check_may_edit(message(deleted=True), SENT)) == ErrorCode.CONFLICT


def test_edit_and_unsend_frames_take_the_send_rules_for_text() -> None:
    for client in ("widget", "agent"):
        frame = f.parse('{"type": "edit", "ref": "r", "message_id": "m", "body": "x"}', client)
        assert frame.command == f.Edit("m", "x")
        assert f.parse('{"type": "unsend", "message_id": "m"}', client).command == f.Unsend("m")
    for bad in (
        '{"type": "edit", "message_id": "m", "body": " "}',
        '{"type": "edit", "message_id": "m", "body": 5}',
        '{"type": "edit", "message_id": "", "body": "x"}',
        '{"type": "unsend"}',
    ):
        with pytest.raises(f.FrameError) as raised:
            f.parse(bad, "widget")
        assert raised.value.code == ErrorCode.BAD_REQUEST
    with pytest.raises(f.FrameError) as raised:
        f.parse('{"type": "edit", "message_id": "m", "body": "' + "x" * 4001 + '"}', "agent")
    assert raised.value.code == ErrorCode.TOO_LARGE
