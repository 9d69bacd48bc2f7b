"""The audit log: who did what to a site's accounts and settings, and from where.

Entries are only ever appended (inside the same transaction as the change they record, so
a change and its entry commit together); rows older than the site's retention (default 365
days) are dropped as new ones arrive.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from chat_server import errors
from chat_server.domain.access import Viewer
from chat_server.ids import format_time
from chat_server.store import team as team_store
from chat_server.store.database import Database
from chat_server.store.sql import Tx
from chat_server.store.team import AuditEntry

T = TypeVar("T")

MIN_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change: an agent, the site's server (API token), or nobody yet (a login)."""

    id: str | None
    name: str
    address: str | None = None

    @classmethod
    def of(cls, viewer: Viewer) -> Actor:
        return cls(viewer.id or None, viewer.name, viewer.address)


def record(
    conn: Tx,
    site_id: str,
    actor: Actor,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    now = datetime.now(UTC)
    team_store.insert_audit(
        conn,
        site_id,
        format_time(now),
        actor.id,
        actor.name,
        action,
        target,
        actor.address,
        detail or {},
    )
    days = team_store.audit_retention(conn, site_id)
    team_store.forget_audit_before(conn, site_id, format_time(now - timedelta(days=days)))


def recorded(
    fn: Callable[[Tx], T],
    viewer: Viewer,
    action: str,
    target: str | Callable[[T], str | None] | None = None,
    detail: dict[str, Any] | None = None,
    when: Callable[[T], bool] = bool,
) -> Callable[[Tx], T]:
    """`fn` (a write job) followed, in the same transaction, by its audit entry when the job
    did something (`when` its result); `target` may be computed from the result."""

    def job(conn: Tx) -> T:
        result = fn(conn)
        if when(result):
            named = target(result) if callable(target) else target
            record(conn, viewer.site_id, Actor.of(viewer), action, named, detail)
        return result

    return job


def require_owner(viewer: Viewer) -> None:
    if viewer.role != "owner":
        raise errors.forbidden("only the site's owners may do this")


async def entries(
    db: Database,
    viewer: Viewer,
    since: str | None = None,
    until: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    require_owner(viewer)
    return await team_store.audit_entries(
        db, viewer.site_id, since, until, actor, action, before, limit
    )


async def retention(db: Database, viewer: Viewer) -> int:
    require_owner(viewer)
    return await team_store.get_audit_retention(db, viewer.site_id)


async def set_retention(db: Database, viewer: Viewer, days: int) -> int:
    require_owner(viewer)
    if not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise errors.bad_request(f"retention is {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS} days")

    def job(conn: Tx) -> None:
        before = team_store.audit_retention(conn, viewer.site_id)
        team_store.set_audit_retention(conn, viewer.site_id, days)
        record(
            conn,
            viewer.site_id,
            Actor.of(viewer),
            "settings_changed",
            "audit_retention_days",
            {"from": before, "to": days},
        )

    await db.write(job)
    return days


CSV_COLUMNS = ("at", "actor_id", "actor_name", "action", "target", "address", "detail")


def to_csv(rows: Iterable[AuditEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in rows:
        writer.writerow(
            [
                e.at,
                e.actor_id or "",
                _cell(e.actor_name),
                e.action,
                _cell(e.target or ""),
                e.address or "",
                _cell(json.dumps(e.detail, ensure_ascii=False)),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    # A cell a spreadsheet would run as a formula is read as text instead.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
