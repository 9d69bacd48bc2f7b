"""Open sockets and their send queues; the only place that writes to a socket.

An event is serialised once (by the bus) and the same text is queued for every
recipient. Queues are bounded: a client that cannot keep up is closed with
1013 and resyncs when it reconnects, so it never slows anyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from starlette.websockets import WebSocket

from chat_server.bus import Event
from chat_server.domain.audience import Audience
from chat_server.web.serving import DIRECT, DirectSocket

log = logging.getLogger(__name__)

CLOSE_OVERFLOW = 1013
# Rebalancing uses the v1 "server restarting: reconnect and sync" close.
REBALANCE_CODE = 1012
REBALANCE_REASON = "rebalancing: reconnect and sync"
# A public room's readers are served in slices, the event loop free in between, so a room
# with thousands of readers never holds private conversations up for a whole fan-out.
ROOM_SLICE = 128
# Room events still being sliced out, at most; past that the server is not keeping up and the
# backlog goes to the send queues at once, whose bounds then drop the readers (1013, resync).
ROOM_BACKLOG = 256


class Connection:
    """One open socket: frames queued for it, written in one go at the next turn of the loop.

    On Sapa's own server (`serving.WebSocketProtocol`, found in the ASGI scope) frames are
    written straight to the transport: no task per connection, no ASGI call per frame, and a
    burst of frames for one socket is one write. A paused transport (the peer reads too
    slowly) holds frames here, up to the queue's bound. Under any other ASGI server a task
    sends what is queued through the ASGI interface, and ends when nothing is left.
    """

    __slots__ = (
        "__weakref__",
        "_flushing",
        "_limit",
        "_pending",
        "_socket",
        "_task",
        "closing",
        "closing_soon",
        "kind",
        "opened_at",
        "owner_id",
        "rooms",
        "site_id",
        "ws",
    )
    overflows = 0  # connections closed for being too slow, this process (for /metrics)

    def __init__(self, ws: WebSocket, kind: str, site_id: str, owner_id: str, queue_size: int):
        self.ws = ws
        self.kind = kind  # "widget" or "agent"
        self.site_id = site_id
        self.owner_id = owner_id  # customer id or agent id
        self.closing = False
        self.closing_soon = False  # asked to move to another process (rebalancing)
        # Public rooms joined: most widgets join none, so no set until the first (216 bytes).
        self.rooms: set[str] | None = None
        self.opened_at = time.time()  # wall clock: compared with other processes' resync notices
        self._limit = queue_size
        self._pending: list[str] = []
        self._socket: DirectSocket | None = ws.scope.get("extensions", {}).get(DIRECT)
        self._flushing = False  # a flush is scheduled (or a sending task runs)
        self._task: asyncio.Task[None] | None = None  # the closing handshake, or the sender
        if self._socket is not None:
            self._socket.on_writable = self._flush

    def send(self, text: str) -> None:
        """Queue a frame without waiting; overflow closes this connection only."""
        if self.closing:
            return
        if len(self._pending) >= self._limit:
            log.info("closing slow %s connection of %s", self.kind, self.owner_id)
            Connection.overflows += 1
            self.close(CLOSE_OVERFLOW, "too slow; reconnect and sync")
            return
        self._pending.append(text)
        if not self._flushing:
            self._flushing = True
            if self._socket is not None:
                asyncio.get_running_loop().call_soon(self._flush)
            else:
                self._task = asyncio.create_task(self._send_all(), name=f"ws-send-{self.kind}")

    def send_now(self, text: str) -> None:
        """`send`, written at once when nothing is queued for this socket.

        For a room's post to its readers: one frame each, where the call `send` schedules
        per reader to coalesce frames cost more than the write itself. Anything queued
        (an ack, a paused transport) goes first: the frame then waits behind it.
        """
        socket = self._socket
        if socket is None or self._pending or self.closing or socket.paused():
            self.send(text)
        elif not socket.write_texts([text]):
            self.closing = True  # the peer went away; the reader notices and unregisters

    def _flush(self) -> None:
        socket = self._socket
        self._flushing = False
        if socket is None or self.closing or not self._pending:
            return
        if socket.paused():
            return  # the transport calls on_writable when its buffer has drained
        frames, self._pending = self._pending, []
        if not socket.write_texts(frames):
            self.closing = True  # the peer went away; the reader notices and unregisters

    async def _send_all(self) -> None:
        try:
            while self._pending and not self.closing:
                await self.ws.send_text(self._pending.pop(0))
        except Exception:
            # The peer went away mid-send; the reader notices and unregisters.
            self.closing = True
        finally:
            self._flushing = False

    def close(self, code: int, reason: str = "") -> None:
        if self.closing:
            return
        self.closing = True
        # Drop what is queued: the client resyncs after reconnecting anyway.
        self._pending.clear()
        previous = self._task
        self._task = asyncio.create_task(self._close(previous, code, reason), name="ws-close")

    async def _close(self, sending: asyncio.Task[None] | None, code: int, reason: str) -> None:
        if sending is not None and not sending.done():
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sending
        with contextlib.suppress(Exception):  # the peer may be gone already
            await self.ws.close(code, reason)

    async def stop(self) -> None:
        """Let a close we started reach the peer; otherwise just stop sending."""
        socket, self._socket = self._socket, None
        if socket is not None:
            socket.on_writable = None
        self._pending.clear()
        task, self._task = self._task, None
        closing, self.closing = self.closing, True  # nothing more is sent from here on
        if task is None:
            return
        if closing and not task.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), 2)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass(slots=True)
class _SiteConnections:
    agents: dict[str, set[Connection]] = field(default_factory=lambda: defaultdict(set))
    customers: dict[str, set[Connection]] = field(default_factory=lambda: defaultdict(set))
    rooms: dict[str, set[Connection]] = field(default_factory=lambda: defaultdict(set))
    visitors: set[Connection] = field(default_factory=set)


class Hub:
    def __init__(self) -> None:
        self._sites: dict[str, _SiteConnections] = defaultdict(_SiteConnections)
        self.delivered = 0
        # Room events still being sent, oldest first: (readers, text).
        self._fanout: deque[tuple[list[Connection], str]] = deque()
        self._cursor = 0  # readers of the oldest room event already served
        self._pump: asyncio.Task[None] | None = None

    def count(self, kind: str) -> int:
        if kind == "agent":
            return sum(len(c) for s in self._sites.values() for c in s.agents.values())
        return sum(len(s.visitors) for s in self._sites.values())

    def staying_widgets(self) -> int:
        """Widget sockets not already asked to move (the load this process keeps)."""
        return sum(
            1 for s in self._sites.values() for c in s.visitors if not (c.closing or c.closing_soon)
        )

    def shed_widgets(self, count: int, spread: float) -> int:
        """Ask `count` widgets to reconnect (1012), at random moments within `spread` seconds so
        they do not all arrive at the load balancer at once. Returns how many were asked."""
        candidates = [
            c for s in self._sites.values() for c in s.visitors if not (c.closing or c.closing_soon)
        ]
        chosen = random.sample(candidates, min(count, len(candidates)))
        loop = asyncio.get_running_loop()
        for conn in chosen:
            conn.closing_soon = True
            loop.call_later(random.uniform(0, spread), conn.close, REBALANCE_CODE, REBALANCE_REASON)
        return len(chosen)

    def add(self, conn: Connection) -> None:
        site = self._sites[conn.site_id]
        if conn.kind == "agent":
            site.agents[conn.owner_id].add(conn)
        else:
            site.customers[conn.owner_id].add(conn)
            site.visitors.add(conn)

    def remove(self, conn: Connection) -> None:
        site = self._sites.get(conn.site_id)
        if site is None:
            return
        if conn.kind == "agent":
            _discard(site.agents, conn.owner_id, conn)
        else:
            _discard(site.customers, conn.owner_id, conn)
            site.visitors.discard(conn)
        for room_id in conn.rooms or ():
            _discard(site.rooms, room_id, conn)

    def join(self, conn: Connection, room_id: str) -> None:
        if conn.rooms is None:
            conn.rooms = set()
        conn.rooms.add(room_id)
        self._sites[conn.site_id].rooms[room_id].add(conn)

    def leave(self, conn: Connection, room_id: str) -> None:
        if conn.rooms is not None:
            conn.rooms.discard(room_id)
        _discard(self._sites[conn.site_id].rooms, room_id, conn)

    def recipients(self, site_id: str, audiences: tuple[Audience, ...]) -> set[Connection]:
        site = self._sites.get(site_id)
        if site is None:
            return set()
        out: set[Connection] = set()
        for target in audiences:
            match target.kind:
                case "agents":
                    for conns in site.agents.values():
                        out.update(conns)
                case "agent":
                    out.update(site.agents.get(target.key, ()))
                case "customer":
                    out.update(site.customers.get(target.key, ()))
                case "visitors":
                    out.update(site.visitors)
                case "room":
                    out.update(site.rooms.get(target.key, ()))
        return out

    async def deliver(self, event: Event) -> None:
        close_code = event.control.get("close")
        if close_code:
            for conn in self.recipients(event.site_id, event.audiences):
                conn.close(int(close_code), event.control.get("reason", ""))
            return
        rooms = tuple(a for a in event.audiences if a.kind == "room")
        if not rooms:
            self._send(self.recipients(event.site_id, event.audiences), event.text)
            return
        others = tuple(a for a in event.audiences if a.kind != "room")
        direct = self.recipients(event.site_id, others)
        readers = self.recipients(event.site_id, rooms) - direct
        self._send(direct, event.text)
        if not readers:
            return
        if not self._fanout and len(readers) <= ROOM_SLICE:
            self._send_to_readers(readers, event.text)
            return
        # Behind the room events still in progress, so every reader gets them in order.
        self._fanout.append((list(readers), event.text))
        if len(self._fanout) > ROOM_BACKLOG:
            while self._fanout:
                self._send_slice()
        elif self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._pump_rooms(), name="room-fanout")

    def _send(self, conns: set[Connection] | list[Connection], text: str) -> None:
        for conn in conns:
            conn.send(text)
        self.delivered += len(conns)

    def _send_to_readers(self, conns: set[Connection] | list[Connection], text: str) -> None:
        for conn in conns:
            conn.send_now(text)
        self.delivered += len(conns)

    async def _pump_rooms(self) -> None:
        while self._fanout:
            self._send_slice()
            await asyncio.sleep(0)  # let other sockets' frames in

    def _send_slice(self) -> None:
        readers, text = self._fanout[0]
        end = self._cursor + ROOM_SLICE
        self._send_to_readers(readers[self._cursor : end], text)
        if end < len(readers):
            self._cursor = end
        else:  # fully queued: later events may go straight out
            self._fanout.popleft()
            self._cursor = 0

    def close_all(self, code: int, reason: str, opened_before: float | None = None) -> None:
        for site in self._sites.values():
            for conns in [*site.agents.values(), *site.customers.values()]:
                for conn in conns:
                    if opened_before is None or conn.opened_at < opened_before:
                        conn.close(code, reason)


def _discard(index: dict[str, set[Connection]], key: str, conn: Connection) -> None:
    conns = index.get(key)
    if conns is not None:
        conns.discard(conn)
        if not conns:
            del index[key]
