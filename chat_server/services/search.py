"""Search for staff: a site's messages and notes, and its customers by name and email."""

from __future__ import annotations

from typing import Any

from chat_server.domain import search
from chat_server.domain.access import Viewer
from chat_server.store import search as search_store
from chat_server.store.database import Database

MESSAGE_LIMIT = 50
CUSTOMER_LIMIT = 10


async def run(
    db: Database,
    viewer: Viewer,
    q: str | None,
    *,
    status: str | None = None,
    assignee: str | None = None,
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    label: str | None = None,
) -> list[dict[str, Any]]:
    """Customers first (when no conversation filter narrows the search), then messages,
    newest first; each item's `to_json()` is what the API answers."""
    if assignee == "me":
        assignee = viewer.id
    query = search.parse(q, status, assignee, since, until, team, label)
    hits: list[dict[str, Any]] = []
    narrowed = query.status or query.assignee or query.since or query.until
    if not (narrowed or query.team or query.label):
        found = await search_store.customers(db, viewer.site_id, query.text, CUSTOMER_LIMIT)
        hits += [hit.to_json() for hit in found]
    messages = await search_store.messages(db, viewer.site_id, query, MESSAGE_LIMIT)
    hits += [hit.to_json() for hit in messages]
    return hits
