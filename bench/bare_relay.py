"""The reference the performance figures are read against: a bare `websockets` relay.

No persistence, no auth, no limits: just enough of Sapa's wire protocol (docs/protocol.md)
for bench/load_chat.py, bench/load_rooms.py and bench/relay_compare.py to drive
it exactly as they drive Sapa:

- `GET /api/widget/session?site_key=K` → `{"token": ...}` (websockets reads no request
  bodies, so the relay's session call is a GET; the round trip is the same);
- `/ws/widget`: `hello` → `welcome`; `send` → `ack` to the sender and `message` to every agent;
- `/ws/agent`: `hello` → `welcome`; `send {room_id}` → `ack` and `message` to that room's widget;
- `join {room_id}` → `ack`, and from then on a `send` to that room id goes to every member
  (the public-room fan-out); `profile` → `ack`;
- `GET /healthz` → 200.

    python bench/bare_relay.py --port 8765

Every event is encoded once and written to each recipient (`websockets.broadcast`), which is
what a relay that does no per-recipient work costs.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import secrets
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

Frame = dict[str, Any]


def dumps(value: Any) -> str:
    # Compact, as Sapa writes its frames (and as the room clients look for `"type":"message"`).
    return json.dumps(value, separators=(",", ":"))


class Relay:
    def __init__(self) -> None:
        self.agents: set[ServerConnection] = set()
        self.widget_of_room: dict[str, ServerConnection] = {}
        self.members: dict[str, set[ServerConnection]] = {}
        self.seq = itertools.count(1)

    def http(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path)
        if path.path == "/healthz":
            return connection.respond(HTTPStatus.OK, "ok\n")
        if path.path == "/api/widget/session":
            site = parse_qs(path.query).get("site_key", [""])[0]
            body = dumps({"token": f"{site}.{secrets.token_urlsafe(16)}"}).encode()
            headers = Headers([("Content-Type", "application/json")])
            headers["Content-Length"] = str(len(body))
            return Response(200, "OK", headers, body)
        if path.path.startswith("/ws/"):
            return None  # the upgrade goes on
        return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")

    async def handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        agent = ws.request.path.startswith("/ws/agent")
        own_room = f"r{secrets.token_hex(6)}"
        joined: set[str] = set()
        try:
            async for raw in ws:
                frame: Frame = json.loads(raw)
                kind, ref = frame.get("type"), frame.get("ref")
                if kind == "hello":
                    if agent:
                        self.agents.add(ws)
                    else:
                        self.widget_of_room[own_room] = ws
                    await ws.send(dumps({"type": "welcome", "v": 1, "rooms": []}))
                elif kind == "send":
                    room = frame.get("room_id") or own_room
                    author = "agent" if agent else "customer"
                    message = self.message(frame, room, author)
                    await ws.send(dumps({"type": "ack", "ref": ref, "message": message}))
                    event = dumps({"type": "message", "message": message})
                    if room in self.members:  # a public room: everyone in it
                        broadcast(self.members[room], event)
                    elif agent:  # a private room's shopper
                        widget = self.widget_of_room.get(room)
                        broadcast([widget] if widget else [], event)
                    else:  # every agent
                        broadcast(self.agents, event)
                elif kind == "join":
                    room = str(frame.get("room_id"))
                    self.members.setdefault(room, set()).add(ws)
                    joined.add(room)
                    await ws.send(dumps({"type": "ack", "ref": ref, "room_id": room}))
                elif kind == "profile":
                    await ws.send(dumps({"type": "ack", "ref": ref}))
                else:
                    error = {"type": "error", "code": "bad_request", "ref": ref}
                    await ws.send(dumps(error))
        finally:
            self.agents.discard(ws)
            if self.widget_of_room.get(own_room) is ws:
                del self.widget_of_room[own_room]
            for room in joined:
                self.members.get(room, set()).discard(ws)

    def message(self, frame: Frame, room_id: str, author: str) -> Frame:
        seq = next(self.seq)
        return {
            "id": f"m{seq}",
            "room_id": room_id,
            "seq": seq,
            "client_msg_id": frame.get("client_msg_id"),
            "author": {"kind": author},
            "body": frame.get("body", ""),
            "created_at": time.time(),
        }


async def main(port: int, compression: bool) -> None:
    relay = Relay()
    async with serve(
        relay.handle,
        "127.0.0.1",
        port,
        process_request=relay.http,
        compression="deflate" if compression else None,
        ping_interval=None,
        max_size=64 * 1024,
    ) as server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--compression", action="store_true", help="offer permessage-deflate")
    options = parser.parse_args()
    try:
        asyncio.run(main(options.port, options.compression))
    except KeyboardInterrupt:
        pass
