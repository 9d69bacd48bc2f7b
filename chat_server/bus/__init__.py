"""The only code that fans events out. Services publish after commit; gateways subscribe."""

from chat_server.bus.base import Bus, Event, EventHandler
from chat_server.bus.memory import MemoryBus

__all__ = ["Bus", "Event", "EventHandler", "MemoryBus"]
