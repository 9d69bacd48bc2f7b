"""Where the widget runs: the last time it connected from each allowed origin (Settings)."""

from __future__ import annotations

import time
import weakref

from chat_server.domain.models import Site
from chat_server.domain.origins import normalised, origin_allowed
from chat_server.ids import now_iso
from chat_server.store import sites as site_store
from chat_server.store.database import Database
from chat_server.store.sites import OriginSeen

__all__ = ["OriginSeen", "seen", "seen_from"]

# One write per origin per minute and process is plenty for "last seen": a busy shop's
# reconnects never queue writes on the chat path.
EVERY_SECONDS = 60.0
_last: weakref.WeakKeyDictionary[Database, dict[tuple[str, str], float]] = (
    weakref.WeakKeyDictionary()
)


async def seen(db: Database, site_id: str, origin: str | None) -> None:
    clean = normalised(origin)
    if clean is None:
        return
    key, now = (site_id, clean), time.monotonic()
    recent = _last.setdefault(db, {})
    if now - recent.get(key, -EVERY_SECONDS) < EVERY_SECONDS:
        return
    if len(recent) > 10_000:
        recent.clear()
    recent[key] = now
    at = now_iso()
    await db.write(lambda conn: site_store.touch_origin(conn, site_id, clean, at))


async def seen_from(db: Database, site: Site) -> list[OriginSeen]:
    """Where the widget connected from lately, newest first: only origins the site still
    allows, since a removed domain's old visits say nothing."""
    return [
        o
        for o in await site_store.origins_seen(db, site.id)
        if origin_allowed(o.origin, site.domains)
    ]
