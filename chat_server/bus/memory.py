"""The single-process bus: publishing hands the event straight to local subscribers."""

from __future__ import annotations

import logging

from chat_server.bus.base import Event, EventHandler

log = logging.getLogger(__name__)


class MemoryBus:
    def __init__(self) -> None:
        self._handlers: list[EventHandler] = []
        self.published = 0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._handlers.clear()

    def subscribe(self, handler: EventHandler) -> None:
        self._handlers.append(handler)

    @property
    def healthy(self) -> bool:
        return True

    async def publish(self, event: Event) -> None:
        self.published += 1
        for handler in self._handlers:
            try:
                await handler(event)
            except Exception:
                # One failing subscriber must not stop delivery to the others.
                log.exception("bus subscriber failed")
