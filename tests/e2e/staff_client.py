"""Shop staff speaking the agent protocol over a real socket, for widget tests that need an
agent's answers, assignments or moderation without driving the console's own UI."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from tests.conftest import ServerProcess, timeout


class StaffSocket:
    """The demo owner on the agent gateway: answers and moderates as the console does."""

    def __init__(self, http: httpx.Client, ws: ClientConnection) -> None:
        self.http = http
        self.ws = ws
        self.refs = itertools.count(1)
        self.ws.send(json.dumps({"type": "hello"}))
        welcome = self.next(lambda f: f.get("type") == "welcome")
        self.id: str = welcome["agent"]["id"]
        self.name: str = welcome["agent"]["name"]

    def next(self, wanted: Any) -> dict[str, Any]:
        while True:
            frame: dict[str, Any] = json.loads(self.ws.recv(timeout=timeout(10)))
            if wanted(frame):
                return frame

    def request(self, frame: dict[str, Any]) -> dict[str, Any]:
        ref = f"t{next(self.refs)}"
        self.ws.send(json.dumps({**frame, "ref": ref}))
        answer = self.next(lambda f: f.get("ref") == ref)
        assert answer["type"] == "ack", answer
        return answer

    def say(self, room_id: str, body: str, reply_to: str | None = None) -> dict[str, Any]:
        frame = {"type": "send", "room_id": room_id, "client_msg_id": body[:60], "body": body}
        if reply_to:
            frame["reply_to"] = reply_to
        message: dict[str, Any] = self.request(frame)["message"]
        return message


@contextmanager
def staff_socket(server: ServerProcess) -> Iterator[StaffSocket]:
    """Logged in as the demo owner (cookie + CSRF header), connected to /ws/agent."""
    with httpx.Client(base_url=server.url, timeout=timeout(10)) as http:
        res = http.post(
            "/api/v1/auth/login",
            json={"email": server.owner_email, "password": server.owner_password},
        )
        assert res.status_code == 200, res.text
        http.headers["X-CSRF-Token"] = res.json()["csrf_token"]
        with connect(
            server.url.replace("http", "ws", 1) + "/ws/agent",
            origin=Origin(server.url),
            additional_headers={"Cookie": f"sapa_session={http.cookies['sapa_session']}"},
            open_timeout=timeout(10),
        ) as ws:
            yield StaffSocket(http, ws)
