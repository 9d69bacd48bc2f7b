"""Frames as a client's bytes really arrive: several in one read, one over several reads,
control frames and fragments between them, and frames the protocol refuses.

Sapa's server reads complete text frames itself and hands every other frame, whole, to
websockets' parser (web/serving.py `WebSocketProtocol.data_received`); these tests speak
raw RFC 6455 over TCP so that each of those ways is taken for real.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from typing import Any

import pytest

from chat_server.web.serving import WebSocketProtocol
from tests.conftest import timeout
from tests.server.conftest import Env

MAX_SIZE = 128 * 1024  # serving.uvicorn_options' ws_max_size


def frame(payload: bytes, opcode: int = 0x1, fin: bool = True, masked: bool = True) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    mask_bit = 0x80 if masked else 0
    if size < 126:
        head += bytes([mask_bit | size])
    elif size < 65536:
        head += bytes([mask_bit | 126]) + struct.pack("!H", size)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", size)
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def text(payload: dict[str, Any]) -> bytes:
    return frame(json.dumps(payload).encode())


def send(ref: str) -> dict[str, Any]:
    """A shopper's message whose ack names `ref`."""
    return {"type": "send", "ref": ref, "client_msg_id": ref, "body": f"pesan {ref}"}


class Raw:
    """A widget socket over plain TCP: the upgrade, then frames as bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, env: Env) -> Raw:
        session = await env.widget_session("a")
        reader, writer = await asyncio.open_connection("127.0.0.1", env.app_settings.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                "GET /ws/widget HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nOrigin: {env.sites['a'].origin}\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout(5))
        assert head.startswith(b"HTTP/1.1 101"), head
        raw = cls(reader, writer)
        await raw.write(text({"type": "hello", "token": session["token"]}))
        welcome = await raw.json()
        assert welcome["type"] == "welcome", welcome
        return raw

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def trickle(self, data: bytes, cuts: list[int]) -> None:
        """`data` in pieces ending at `cuts`, each read by the server on its own."""
        start = 0
        for cut in [*cuts, len(data)]:
            await self.write(data[start:cut])
            await asyncio.sleep(0.05)
            start = cut

    async def frame(self) -> tuple[int, bytes]:
        head = await asyncio.wait_for(self.reader.readexactly(2), timeout(5))
        size = head[1] & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        return head[0] & 0x0F, await self.reader.readexactly(size)

    async def json(self) -> dict[str, Any]:
        while True:
            opcode, payload = await self.frame()
            if opcode == 0x1:
                found: dict[str, Any] = json.loads(payload)
                if found.get("type") not in ("presence", "suggestions", "typing"):
                    return found
            assert opcode != 0x8, payload

    async def close_code(self) -> int:
        while True:
            opcode, payload = await self.frame()
            if opcode == 0x8:
                code: int = struct.unpack("!H", payload[:2])[0]
                return code

    async def close(self) -> None:
        self.writer.close()


async def acks(raw: Raw, count: int) -> list[str]:
    refs = []
    while len(refs) < count:
        found = await raw.json()
        assert found["type"] != "error", found
        if found["type"] == "ack":  # (its message, echoed to the shopper's tabs, aside)
            refs.append(found["ref"])
    return refs


async def test_several_frames_in_one_read_are_each_answered_in_order(env: Env) -> None:
    raw = await Raw.open(env)
    before = WebSocketProtocol.frames_read
    await raw.write(b"".join(text(send(f"p{i}")) for i in range(5)))
    assert await acks(raw, 5) == ["p0", "p1", "p2", "p3", "p4"]
    assert WebSocketProtocol.frames_read - before == 5  # all the short way
    await raw.close()


async def test_every_length_encoding_is_read_the_short_way(env: Env) -> None:
    """Payloads of 125, 126 and 127 bytes (one-byte length, then the two-byte form, whose
    value must not be taken for the eight-byte form's marker), and a longer one."""
    raw = await Raw.open(env)
    before = WebSocketProtocol.frames_read
    sizes = (125, 126, 127, 128, 1000, 16000)
    frames = []
    for i, size in enumerate(sizes):
        payload = json.dumps(send(f"n{i}")).encode()
        payload = payload[:-1] + b" " * (size - len(payload)) + payload[-1:]
        assert len(payload) == size and json.loads(payload)["ref"] == f"n{i}"
        frames.append(frame(payload))
    await raw.write(b"".join(frames))
    assert await acks(raw, len(sizes)) == [f"n{i}" for i in range(len(sizes))]
    assert WebSocketProtocol.frames_read - before == len(sizes)
    await raw.close()


async def test_a_frame_cut_anywhere_across_reads_still_arrives_whole(env: Env) -> None:
    raw = await Raw.open(env)
    body = "kak, ongkir ke medan brp? " * 12  # past 125 bytes: a two-byte length
    sent = text({"type": "send", "ref": "s", "client_msg_id": "c1", "body": body})
    assert len(sent) > 130
    # In the first byte, in the extended length, in the mask, in the payload.
    await raw.trickle(sent, [1, 3, 6, 40])
    answer = await raw.json()
    while answer["type"] != "ack":
        answer = await raw.json()
    assert answer["message"]["body"] == body
    # Two frames, the first finishing and the second starting within one read.
    first = text(send("a"))
    second = text(send("b"))
    await raw.trickle(first + second, [len(first) - 3, len(first) + 1])
    assert await acks(raw, 2) == ["a", "b"]
    await raw.close()


async def test_control_frames_and_fragments_between_texts(env: Env) -> None:
    raw = await Raw.open(env)
    await raw.write(frame(b"are you there", opcode=0x9) + text(send("1")))
    opcode, payload = await raw.frame()
    assert (opcode, payload) == (0xA, b"are you there")  # the pong, before the ack
    assert await acks(raw, 1) == ["1"]
    # One message in three fragments, then plain frames again.
    message = json.dumps(send("2")).encode()
    await raw.write(
        frame(message[:5], fin=False)
        + frame(message[5:9], opcode=0x0, fin=False)
        + frame(message[9:], opcode=0x0)
        + text(send("3"))
    )
    assert await acks(raw, 2) == ["2", "3"]
    # Once a fragmented message began, the socket's frames all go to websockets' parser.
    before = WebSocketProtocol.frames_read
    await raw.write(text(send("4")))
    assert await acks(raw, 1) == ["4"]
    assert WebSocketProtocol.frames_read == before
    await raw.close()


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (frame(b'{"type": "ping", "body": "\xff\xfe"}'), 1007),  # not UTF-8
        (frame(b'{"type": "ping"}', masked=False), 1002),  # a client must mask
        # Past the size limit: refused on its header (the rest, unread, would reset the socket).
        (frame(b"x" * (MAX_SIZE + 1))[:20], 1009),
        (bytes([0xC1]) + frame(b"{}")[1:], 1002),  # a reserved bit without an extension
        (frame(b"{}", opcode=0x0), 1002),  # a continuation of nothing
    ],
    ids=["invalid-utf8", "unmasked", "too-big", "reserved-bit", "stray-continuation"],
)
async def test_frames_the_protocol_refuses_close_the_socket_as_before(
    env: Env, bad: bytes, code: int
) -> None:
    raw = await Raw.open(env)
    await raw.write(text(send("before")))
    assert await acks(raw, 1) == ["before"]
    await raw.write(bad)
    assert await raw.close_code() == code
    await raw.close()
