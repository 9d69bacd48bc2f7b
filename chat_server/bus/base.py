"""The Bus interface and the one event shape that crosses it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from chat_server import jsontext
from chat_server.domain.audience import Audience


@dataclass(frozen=True, slots=True)
class Event:
    """A frame for some audiences of one site; `text` is serialised once for every recipient."""

    site_id: str
    audiences: tuple[Audience, ...]
    text: str
    # Instructions to the gateways rather than a frame: e.g. close a logged-out agent's sockets.
    control: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def frame(cls, site_id: str, audiences: tuple[Audience, ...], payload: dict[str, Any]) -> Event:
        return cls(site_id, audiences, jsontext.dumps(payload))

    def encode(self) -> str:
        return json.dumps(
            {
                "site_id": self.site_id,
                "audiences": [[a.kind, a.key] for a in self.audiences],
                "text": self.text,
                "control": self.control,
            },
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, raw: str | bytes) -> Event:
        data = json.loads(raw)
        return cls(
            data["site_id"],
            tuple(Audience(kind, key) for kind, key in data["audiences"]),
            data["text"],
            data.get("control") or {},
        )


EventHandler = Callable[[Event], Awaitable[None]]


class Bus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, event: Event) -> None: ...

    def subscribe(self, handler: EventHandler) -> None: ...

    @property
    def healthy(self) -> bool: ...
