"""The per-site public-room listing the welcomes share (services/public_rooms.py)."""

from __future__ import annotations

from chat_server.bus import Event
from chat_server.domain import audience
from chat_server.domain.models import Room
from chat_server.services.public_rooms import WelcomeRooms

ROOM = Room("room_1", "site_a", "public", "open", 0, "t", "t", name="Lobby")


def test_a_read_under_way_when_the_rooms_change_is_not_kept() -> None:
    listing = WelcomeRooms()
    since = listing.epoch()
    listing.saw(Event.frame("site_a", (audience.VISITORS,), {"type": "room"}))
    listing.keep("site_a", [ROOM], since)
    assert listing.get("site_a") is None
    listing.keep("site_a", [ROOM], listing.epoch())
    assert listing.get("site_a") == [ROOM]


def test_public_room_events_forget_their_site_only() -> None:
    listing = WelcomeRooms()
    for site in ("site_a", "site_b"):
        listing.keep(site, [ROOM], listing.epoch())
    # A private conversation's events leave the listing alone.
    listing.saw(Event.frame("site_a", (audience.AGENTS, audience.customer("c")), {}))
    assert listing.get("site_a") == [ROOM]
    listing.saw(Event.frame("site_a", audience.room_readers(ROOM), {"type": "message"}))
    assert listing.get("site_a") is None
    assert listing.get("site_b") == [ROOM]
    listing.forget()
    assert listing.get("site_b") is None


def test_nothing_is_served_while_the_bus_is_unhealthy_or_past_the_ttl() -> None:
    healthy = [True]
    listing = WelcomeRooms(lambda: healthy[0])
    listing.keep("site_a", [ROOM], listing.epoch())
    healthy[0] = False
    assert listing.get("site_a") is None
    healthy[0] = True
    assert listing.get("site_a") == [ROOM]
    stale = WelcomeRooms(ttl=-1.0)
    stale.keep("site_a", [ROOM], stale.epoch())
    assert stale.get("site_a") is None
