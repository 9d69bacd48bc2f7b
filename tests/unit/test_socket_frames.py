"""Frames the server builds itself (no extension) read back as websockets builds them."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from chat_server.web.serving import _frame_of, _text_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_a_text_frame_is_what_websockets_would_send(size: int) -> None:
    data = ("é" * size).encode()[:size]
    assert _text_frame(data) == Frame(Opcode.TEXT, data).serialize(mask=False, extensions=[])


def test_the_same_text_is_framed_once_for_every_recipient() -> None:
    text = '{"type":"message","body":"halo"}'
    first = _frame_of(text)
    assert _frame_of(text) is first
    assert _frame_of('{"type":"pong"}') == _text_frame(b'{"type":"pong"}')
