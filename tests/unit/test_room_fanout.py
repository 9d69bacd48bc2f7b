"""The hub's fan-out to a public room: in order for every reader, and fair to everyone else."""

from __future__ import annotations

import asyncio
from typing import Any

from chat_server.bus import Event
from chat_server.domain import audience
from chat_server.web.hub import ROOM_BACKLOG, ROOM_SLICE, Connection, Hub
from chat_server.web.serving import DIRECT


class FakeConnection:
    def __init__(self, kind: str, owner_id: str, log: list[tuple[str, str]]) -> None:
        self.kind = kind
        self.site_id = "s1"
        self.owner_id = owner_id
        self.rooms: set[str] = set()
        self.got: list[str] = []
        self.closing = False
        self._log = log

    def send(self, text: str) -> None:
        self.got.append(text)
        self._log.append((self.owner_id, text))

    send_now = send  # the hub writes a room's posts at once; order is what is checked here

    def close(self, code: int, reason: str = "") -> None:
        self.closing = True


def fake(kind: str, owner_id: str, log: list[tuple[str, str]]) -> Any:
    """A stand-in for hub.Connection: it records what it is sent."""
    return FakeConnection(kind, owner_id, log)


def room_event(room_id: str, text: str) -> Event:
    return Event("s1", (audience.AGENTS, audience.Audience("room", room_id)), text)


async def test_room_events_reach_every_reader_once_in_order_and_others_are_not_held_up() -> None:
    hub = Hub()
    log: list[tuple[str, str]] = []
    readers = [fake("widget", f"c{i}", log) for i in range(3 * ROOM_SLICE + 5)]
    small_room = [fake("widget", f"s{i}", log) for i in range(3)]
    agent = fake("agent", "a1", log)
    shopper = fake("widget", "private", log)
    conns = [*readers, *small_room, agent, shopper]
    for conn in conns:
        hub.add(conn)
    for conn in readers:
        hub.join(conn, "big")
    for conn in small_room:
        hub.join(conn, "small")
    readers[0].rooms.add("small")  # one reader follows both rooms
    hub.join(readers[0], "small")

    await hub.deliver(room_event("big", "m1"))
    await hub.deliver(room_event("big", "m2"))
    await hub.deliver(room_event("small", "s1"))
    # Staff hear at once; readers are served slice by slice, one per turn of the loop.
    assert agent.got == ["m1", "m2", "s1"]
    await asyncio.sleep(0)
    assert sum(1 for c in readers if c.got) == ROOM_SLICE
    # A private event goes out at once, long before the room's fan-out is through.
    await hub.deliver(Event("s1", (audience.customer("private"),), "p1"))
    assert shopper.got == ["p1"]
    for _ in range(20):
        await asyncio.sleep(0)
    for reader in readers:
        assert reader.got == (["m1", "m2", "s1"] if reader is readers[0] else ["m1", "m2"])
    assert all(c.got == ["s1"] for c in small_room)
    assert hub.delivered == len(readers) * 2 + 1 + len(small_room) + 3 + 1
    assert hub._pump is not None and hub._pump.done()
    # With nothing in progress, a small room's event goes straight out.
    await hub.deliver(room_event("small", "s2"))
    assert all(c.got[-1] == "s2" for c in small_room)


async def test_a_backlog_the_server_cannot_slice_out_in_time_goes_to_the_send_queues_at_once() -> (
    None
):
    hub = Hub()
    log: list[tuple[str, str]] = []
    readers = [fake("widget", f"c{i}", log) for i in range(ROOM_SLICE + 1)]
    for conn in readers:
        hub.add(conn)
        hub.join(conn, "big")
    texts = [f"m{i}" for i in range(ROOM_BACKLOG + 1)]
    for text in texts[:-1]:
        await hub.deliver(room_event("big", text))
    assert all(len(c.got) < len(texts) - 1 for c in readers)
    # One more than the backlog holds: everything is queued now, in order, without the loop.
    await hub.deliver(room_event("big", texts[-1]))
    assert all(c.got == texts for c in readers)
    for _ in range(3):
        await asyncio.sleep(0)
    assert all(c.got == texts for c in readers)


class Socket:
    """The transport side of a socket (serving.DirectSocket): what was written, in order."""

    def __init__(self) -> None:
        self.writes: list[list[str]] = []
        self.on_writable: Any = None
        self.is_paused = False

    def paused(self) -> bool:
        return self.is_paused

    def write_texts(self, texts: list[str]) -> bool:
        self.writes.append(list(texts))
        return True


class Upgraded:
    def __init__(self, socket: Socket) -> None:
        self.scope = {"extensions": {DIRECT: socket}}


async def test_a_post_is_written_to_an_idle_reader_at_once_and_behind_anything_queued() -> None:
    socket = Socket()
    conn = Connection(Upgraded(socket), "widget", "s1", "c1", 8)  # type: ignore[arg-type]
    conn.send_now("post 1")
    assert socket.writes == [["post 1"]]  # no turn of the loop needed
    conn.send("ack")
    conn.send_now("post 2")  # the ack waits for the loop: the post goes behind it
    assert socket.writes == [["post 1"]]
    await asyncio.sleep(0)
    assert socket.writes == [["post 1"], ["ack", "post 2"]]
    socket.is_paused = True  # the peer reads slowly: posts wait in the bounded queue
    conn.send_now("post 3")
    await asyncio.sleep(0)
    assert socket.writes == [["post 1"], ["ack", "post 2"]]
    socket.is_paused = False
    socket.on_writable()
    conn.send_now("post 4")
    assert socket.writes == [["post 1"], ["ack", "post 2"], ["post 3"], ["post 4"]]
    for i in range(9):  # past the queue's bound while paused: closed for being too slow
        socket.is_paused = True
        conn.send_now(f"late {i}")
    assert conn.closing
    await asyncio.sleep(0)  # its closing handshake ends (this stand-in has no peer)
