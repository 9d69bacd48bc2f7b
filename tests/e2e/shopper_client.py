"""A shopper speaking the widget protocol over a real socket, for console tests that need a
customer without driving the widget's own UI (that is tested in test_widget_*)."""

from __future__ import annotations

import itertools
import json
from contextlib import ExitStack
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

from tests.conftest import timeout


class Shopper:
    def __init__(self, server: Any) -> None:
        self.server = server
        session = httpx.post(
            f"{server.url}/api/widget/session",
            json={"site_key": server.site_key},
            headers={"origin": server.url},
            timeout=timeout(10),
        )
        session.raise_for_status()
        self.token: str = session.json()["token"]
        self.customer_id: str = session.json()["customer_id"]
        self._stack = ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(
            connect(server.url.replace("http://", "ws://") + "/ws/widget", origin=server.url)
        )
        self.events: list[dict[str, Any]] = []
        self._refs = itertools.count(1)
        self.ws.send(json.dumps({"type": "hello", "token": self.token}))
        self.event("welcome")

    def request(self, type_: str, **fields: Any) -> dict[str, Any]:
        ref = f"r{next(self._refs)}"
        self.ws.send(json.dumps({"type": type_, "ref": ref, **fields}))
        while True:
            frame = json.loads(self.ws.recv(timeout(10)))
            if frame.get("ref") == ref:
                assert frame["type"] == "ack", frame
                return frame
            self.events.append(frame)

    def event(self, type_: str, **match: Any) -> dict[str, Any]:
        def fits(frame: dict[str, Any]) -> bool:
            return frame.get("type") == type_ and all(frame.get(k) == v for k, v in match.items())

        for i, frame in enumerate(self.events):
            if fits(frame):
                return self.events.pop(i)
        while True:
            frame = json.loads(self.ws.recv(timeout(10)))
            if fits(frame):
                return frame
            self.events.append(frame)

    def say(self, body: str) -> dict[str, Any]:
        ack = self.request("send", client_msg_id=f"c{next(self._refs)}", body=body)
        return dict(ack["message"])

    def close(self) -> None:
        self._stack.close()
