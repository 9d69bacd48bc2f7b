"""Frame parsing: every rule about what a client may send, with no socket."""

from __future__ import annotations

import pytest

from chat_server.domain import frames as f
from chat_server.errors import ErrorCode


def test_a_widget_send_may_omit_the_room() -> None:
    frame = f.parse('{"type": "send", "ref": "1", "client_msg_id": "c", "body": "hai"}', "widget")
    assert frame.ref == "1"
    assert frame.command == f.Send(None, "c", "hai", "text")


def test_an_agent_send_needs_a_room_and_may_be_a_note() -> None:
    with pytest.raises(f.FrameError):
        f.parse('{"type": "send", "client_msg_id": "c", "body": "x"}', "agent")
    frame = f.parse(
        '{"type": "send", "room_id": "r", "client_msg_id": "c", "body": "x", "kind": "note"}',
        "agent",
    )
    assert frame.command == f.Send("r", "c", "x", "note")


def test_body_length_counts_characters_not_bytes() -> None:
    ok = f.parse('{"type": "send", "client_msg_id": "c", "body": "' + "😀" * 4000 + '"}', "widget")
    assert isinstance(ok.command, f.Send) and len(ok.command.body) == 4000
    with pytest.raises(f.FrameError) as too_long:
        f.parse('{"type": "send", "client_msg_id": "c", "body": "' + "a" * 4001 + '"}', "widget")
    assert too_long.value.code is ErrorCode.TOO_LARGE


@pytest.mark.parametrize(
    "raw",
    [
        '{"type": "assign", "room_id": "r", "agent_id": "a"}',
        '{"type": "resolve", "room_id": "r"}',
        '{"type": "status", "status": "online"}',
        '{"type": "send", "client_msg_id": "c", "body": "x", "kind": "note"}',
    ],
)
def test_agent_only_operations_are_unknown_to_widgets(raw: str) -> None:
    with pytest.raises(f.FrameError) as refused:
        f.parse(raw, "widget")
    assert refused.value.code is ErrorCode.BAD_REQUEST


def test_rate_is_widget_only_and_bounded() -> None:
    assert f.parse('{"type": "rate", "room_id": "r", "score": 5}', "widget").command == f.Rate(
        "r", 5, None
    )
    for score in ("0", "6", "true", '"5"'):
        with pytest.raises(f.FrameError):
            f.parse('{"type": "rate", "room_id": "r", "score": ' + score + "}", "widget")
    with pytest.raises(f.FrameError):
        f.parse('{"type": "rate", "room_id": "r", "score": 5}', "agent")


def test_sync_limits_and_defaults() -> None:
    frame = f.parse('{"type": "sync", "room_id": "r", "after_seq": 3}', "widget")
    assert frame.command == f.Sync("r", 3, 100)
    for bad in (
        '"after_seq": -1',
        '"after_seq": 1.5',
        '"after_seq": 0, "limit": 0',
        '"after_seq": 0, "limit": 201',
    ):
        with pytest.raises(f.FrameError):
            f.parse('{"type": "sync", "room_id": "r", ' + bad + "}", "widget")


def test_errors_echo_the_ref_when_it_is_usable() -> None:
    with pytest.raises(f.FrameError) as refused:
        f.parse('{"type": "nope", "ref": "abc"}', "widget")
    assert refused.value.ref == "abc"
    with pytest.raises(f.FrameError) as bad_ref:
        f.parse('{"type": "ping", "ref": 5}', "widget")
    assert bad_ref.value.ref is None


@pytest.mark.parametrize("raw", ["", "nul", "[]", "42", '"str"', "{", '{"type": 5}'])
def test_garbage_is_a_bad_request(raw: str) -> None:
    with pytest.raises(f.FrameError) as refused:
        f.parse(raw, "widget")
    assert refused.value.code is ErrorCode.BAD_REQUEST


def test_oversized_frames_are_refused_before_parsing() -> None:
    with pytest.raises(f.FrameError) as refused:
        f.parse("x" * (f.MAX_FRAME_BYTES + 1), "agent")
    assert refused.value.code is ErrorCode.TOO_LARGE
