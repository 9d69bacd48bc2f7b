"""The one JSON decoder for bodies, frames and imports, and the address rules: no socket."""

from __future__ import annotations

import json

import pytest

from chat_server.domain import frames as f
from chat_server.domain import json_input
from chat_server.domain.addresses import AddressSet, is_loopback
from chat_server.domain.slots import Slots
from chat_server.errors import ErrorCode


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "text",
    [
        nested(33),
        nested(100_000),
        '{"a":' * 40 + "1" + "}" * 40,
        '"\\ud800"',
        '{"\\udfff": 1}',
        '["ok", {"x": ["\\ud83d"]}]',  # a high surrogate without its low half
        '{"a": 1, "a": 2}',
        "NaN",
        '{"n": Infinity}',
        "1e400",
        str(2**63),
        "1" * 5000,
        "",
        "[1,",
    ],
)
def test_refused_as_bad_request(text: str) -> None:
    with pytest.raises(json_input.BadJson) as refused:
        json_input.decode(text)
    assert refused.value.code == ErrorCode.BAD_REQUEST
    with pytest.raises(json_input.BadJson):
        json_input.decode(text.encode())


@pytest.mark.parametrize(
    "raw",
    [
        b"\xed\xa0\x80",  # a surrogate encoded in UTF-8: json.loads(bytes) lets it through
        b'"\xff"',
        b'{"a": "\xc3"}',
    ],
)
def test_bytes_must_be_strict_utf8(raw: bytes) -> None:
    with pytest.raises(json_input.BadJson):
        json_input.decode(raw)


def test_what_is_accepted_is_what_json_loads_gives() -> None:
    text = json.dumps(
        {"emoji": "\ud83d\ude00", "deep": json.loads(nested(31)), "n": [2**63 - 1, -(2**63), 1.5]}
    )
    assert json_input.decode(text) == json.loads(text)
    # A BOM before UTF-8 bytes is allowed; pairs of surrogate escapes are one character.
    assert json_input.decode(b'\xef\xbb\xbf{"a": "\\ud83d\\ude00"}') == {"a": "😀"}
    # A backslash before "ud800" is no surrogate.
    assert json_input.decode('"\\\\ud800"') == "\\ud800"


@pytest.mark.parametrize(
    "text",
    [
        '{"type": "send", "body": "at 10:30, see https://shop.example/a"}',
        '{"a": {"b": [1, {"c": 2}]}, "d": ":"}',
        '{"a": 1, "b": {"a": 1}}',
        '{"a": {"x": 1, "x": 1}}',
        nested(32),
        nested(31),
        str(2**63 - 1),
        str(-(2**63)),
        str(-(2**63) - 1),
        str(2**64 - 1),
        "[1e19, -9.3e18, 9223372036854775808.0]",
        "123456789012345678.5",
        '"\\ud83d\\ude00"',
        '\ufeff{"a": 1}',
    ],
)
def test_the_fast_reading_agrees_with_the_strict_one(text: str) -> None:
    for raw in (text, text.encode()):
        try:
            expected = ("ok", json_input._strict(raw, json_input.MAX_DEPTH))
        except json_input.BadJson as refused:
            expected = ("bad", refused.message)
        try:
            assert ("ok", json_input.decode(raw)) == expected
        except json_input.BadJson as refused:
            assert ("bad", refused.message) == expected


def test_a_bad_frame_is_a_bad_request_frame_error() -> None:
    for text in (nested(1000), '{"type": "send", "body": "\\ud800", "client_msg_id": "c"}'):
        with pytest.raises(f.FrameError) as refused:
            f.parse(text, "widget")
        assert refused.value.code == ErrorCode.BAD_REQUEST


def test_trusted_proxies_and_loopback() -> None:
    trusted = AddressSet.parse("127.0.0.1, ::1, 10.0.0.0/8, unix-socket")
    assert "127.0.0.1" in trusted and "::1" in trusted and "10.2.3.4" in trusted
    assert "unix-socket" in trusted
    assert "203.0.113.1" not in trusted and "" not in trusted and None not in trusted
    assert "anything" in AddressSet.parse("*")
    assert "127.0.0.1" not in AddressSet.parse("")
    assert is_loopback("127.0.0.1") and is_loopback("::1")
    assert not is_loopback("10.0.0.1") and not is_loopback(None) and not is_loopback("x")


def test_slots_cap_holders_per_key() -> None:
    slots = Slots(2)
    assert slots.take("t") and slots.take("t") and not slots.take("t")
    assert slots.take("u")
    slots.give("t")
    assert slots.take("t")
    for _ in range(2):
        slots.give("t")
    assert "t" not in slots.held
    unlimited = Slots(0)
    assert all(unlimited.take("t") for _ in range(1000))
