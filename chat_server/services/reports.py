"""The owner's summary: volume, speed, satisfaction, and what the FAQ answered alone."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Any

from chat_server.ids import format_time
from chat_server.store.database import Database

FOLLOW_UP_WINDOW = timedelta(minutes=30)


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def summary(db: Database, site_id: str, start: str, end: str) -> dict[str, Any]:
    rooms = await db.fetch_all(
        "SELECT id, status FROM rooms WHERE site_id = ? AND kind = 'private' AND created_at >= ? AND created_at < ?",
        (site_id, start, end),
    )
    firsts = await db.fetch_all(
        "SELECT room_id, author_kind, min(created_at) AS at FROM messages"
        " WHERE site_id = ? AND kind = 'text' AND created_at >= ? AND created_at < ?"
        " GROUP BY room_id, author_kind",
        (site_id, start, end),
    )
    by_room: dict[str, dict[str, str]] = {}
    for row in firsts:
        by_room.setdefault(row["room_id"], {})[row["author_kind"]] = row["at"]
    waits = [
        (_t(kinds["agent"]) - _t(kinds["customer"])).total_seconds()
        for kinds in by_room.values()
        if "agent" in kinds and "customer" in kinds and kinds["agent"] >= kinds["customer"]
    ]
    counts = await db.fetch_one(
        "SELECT sum(author_kind = 'customer') AS from_customers, sum(author_kind = 'agent') AS from_agents"
        " FROM messages WHERE site_id = ? AND kind = 'text' AND created_at >= ? AND created_at < ?",
        (site_id, start, end),
    )
    ratings = await db.fetch_all(
        "SELECT score FROM ratings WHERE site_id = ? AND created_at >= ? AND created_at < ?",
        (site_id, start, end),
    )
    return {
        "from": start,
        "to": end,
        "conversations": len(rooms),
        "resolved": sum(1 for r in rooms if r["status"] == "resolved"),
        "messages": {
            "from_customers": int(counts["from_customers"] or 0) if counts else 0,
            "from_agents": int(counts["from_agents"] or 0) if counts else 0,
        },
        "first_response_seconds": {
            "median": statistics.median(waits) if waits else None,
            "answered": len(waits),
        },
        "csat": {
            "average": round(statistics.fmean(r["score"] for r in ratings), 2) if ratings else None,
            "responses": len(ratings),
        },
        "faq": await _faq(db, site_id, start, end),
    }


async def _faq(db: Database, site_id: str, start: str, end: str) -> dict[str, Any]:
    events = await db.fetch_all(
        "SELECT kind, message_id, room_id, created_at FROM faq_events"
        " WHERE site_id = ? AND created_at >= ? AND created_at < ?",
        (site_id, start, end),
    )
    shown = {e["message_id"]: e for e in events if e["kind"] == "shown" and e["message_id"]}
    helpful = {e["message_id"] for e in events if e["kind"] == "helpful"}
    deflected = 0
    for message_id, event in shown.items():
        if message_id in helpful:
            deflected += 1
            continue
        # Answered by the suggestion if neither the shopper wrote again nor an agent had to.
        later = await db.fetch_one(
            "SELECT 1 FROM messages WHERE room_id = ? AND author_kind IN ('customer', 'agent')"
            " AND kind = 'text' AND created_at > ? AND created_at <= ? LIMIT 1",
            (
                event["room_id"],
                event["created_at"],
                format_time(_t(event["created_at"]) + FOLLOW_UP_WINDOW),
            ),
        )
        if later is None:
            deflected += 1
    return {
        "questions_with_suggestions": len(shown),
        "helpful": sum(1 for e in events if e["kind"] == "helpful"),
        "not_helpful": sum(1 for e in events if e["kind"] == "not_helpful"),
        "used_by_agents": sum(1 for e in events if e["kind"] == "used"),
        "deflected": deflected,
    }
