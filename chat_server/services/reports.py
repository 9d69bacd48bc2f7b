"""The owner's summary: volume, speed, satisfaction, and what the FAQ answered alone."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Any

from chat_server.ids import format_time
from chat_server.services.storage import Store
from chat_server.store import reports as report_store

FOLLOW_UP_WINDOW = timedelta(minutes=30)


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def summary(db: Store, site_id: str, start: str, end: str) -> dict[str, Any]:
    rooms = await report_store.private_rooms(db, site_id, start, end)
    by_room: dict[str, dict[str, str]] = {}
    for first in await report_store.first_messages(db, site_id, start, end):
        by_room.setdefault(first.room_id, {})[first.author_kind] = first.at
    waits = [
        (_t(kinds["agent"]) - _t(kinds["customer"])).total_seconds()
        for kinds in by_room.values()
        if "agent" in kinds and "customer" in kinds and kinds["agent"] >= kinds["customer"]
    ]
    counts = await report_store.message_counts(db, site_id, start, end)
    scores = await report_store.rating_scores(db, site_id, start, end)
    return {
        "from": start,
        "to": end,
        "conversations": len(rooms),
        "resolved": sum(1 for r in rooms if r.status == "resolved"),
        "messages": {
            "from_customers": counts.from_customers,
            "from_agents": counts.from_agents,
        },
        "first_response_seconds": {
            "median": statistics.median(waits) if waits else None,
            "answered": len(waits),
        },
        "csat": {
            "average": round(statistics.fmean(scores), 2) if scores else None,
            "responses": len(scores),
        },
        "faq": await _faq(db, site_id, start, end),
    }


async def _faq(db: Store, site_id: str, start: str, end: str) -> dict[str, Any]:
    events = await report_store.faq_events(db, site_id, start, end)
    shown = {e.message_id: e for e in events if e.kind == "shown" and e.message_id}
    helpful = {e.message_id for e in events if e.kind == "helpful"}
    deflected = 0
    for message_id, event in shown.items():
        if message_id in helpful:
            deflected += 1
            continue
        # Answered by the suggestion if neither the shopper wrote again nor an agent had to.
        until = format_time(_t(event.created_at) + FOLLOW_UP_WINDOW)
        if not await report_store.followed_up(db, event.room_id, event.created_at, until):
            deflected += 1
    return {
        "questions_with_suggestions": len(shown),
        "helpful": sum(1 for e in events if e.kind == "helpful"),
        "not_helpful": sum(1 for e in events if e.kind == "not_helpful"),
        "used_by_agents": sum(1 for e in events if e.kind == "used"),
        "deflected": deflected,
    }
