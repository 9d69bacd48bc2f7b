"""Routing state: a site's mode and caps, agents' loads, and the queue of waiting conversations.

The queue is every private room that is `queued` with no assignee, ordered by `queue_seq`,
taken from the site's counter inside the transaction that queues the room: arrival order is
commit order, on one process or many.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from chat_server.domain.routing import ETA_SAMPLE, AgentLoad, RoutingSettings, places
from chat_server.store.database import Database
from chat_server.store.sql import Row, Tx


def _queued(alias: str) -> str:
    """The rooms waiting in line (the partial index `rooms_queue` covers exactly these)."""
    return (
        f"{alias}.kind = 'private' AND {alias}.status = 'queued' AND {alias}.assignee_id IS NULL"
        f" AND {alias}.snoozed_until IS NULL"
    )


_QUEUED = _queued("rooms")


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A waiting conversation: its room, its shopper, its place in line (1 = next)."""

    room_id: str
    customer_id: str
    position: int


def _settings(row: Row | None) -> RoutingSettings:
    if row is None:
        return RoutingSettings()
    offline = row["offline_return_minutes"]
    return RoutingSettings(
        row["routing_mode"], int(row["routing_cap"]), None if offline is None else int(offline)
    )


_SETTINGS = "SELECT routing_mode, routing_cap, offline_return_minutes FROM sites WHERE id = ?"


def settings(conn: Tx, site_id: str) -> RoutingSettings:
    return _settings(conn.execute(_SETTINGS, (site_id,)).fetchone())


async def read_settings(db: Database, site_id: str) -> RoutingSettings:
    return _settings(await db.fetch_one(_SETTINGS, (site_id,)))


def set_settings(conn: Tx, site_id: str, value: RoutingSettings) -> None:
    conn.execute(
        "UPDATE sites SET routing_mode = ?, routing_cap = ?, offline_return_minutes = ?"
        " WHERE id = ?",
        (value.mode, value.default_cap, value.offline_return_minutes, site_id),
    )


def set_agent_cap(conn: Tx, site_id: str, agent_id: str, cap: int | None) -> bool:
    """False when the agent is not one of this site's."""
    cursor = conn.execute(
        "UPDATE agents SET cap = ? WHERE id = ? AND site_id = ?", (cap, agent_id, site_id)
    )
    return cursor.rowcount > 0


async def agent_caps(db: Database, site_id: str) -> dict[str, int | None]:
    rows = await db.fetch_all("SELECT id, cap FROM agents WHERE site_id = ?", (site_id,))
    return {r["id"]: r["cap"] for r in rows}


def agent_loads(conn: Tx, site_id: str, agent_ids: Collection[str]) -> list[AgentLoad]:
    """The active agents among `agent_ids` with how many open conversations each holds."""
    if not agent_ids:
        return []
    ids = sorted(agent_ids)
    marks = ", ".join("?" for _ in ids)
    rows = conn.execute(
        "SELECT a.id, a.name, a.cap, a.last_assigned_at, (SELECT count(*) FROM rooms r"
        " WHERE r.assignee_id = a.id AND r.status = 'assigned' AND r.kind = 'private'"
        " AND r.snoozed_until IS NULL) AS open"
        f" FROM agents a WHERE a.site_id = ? AND a.active = 1 AND a.id IN ({marks})",
        (site_id, *ids),
    ).fetchall()
    return [
        AgentLoad(r["id"], r["name"], int(r["open"]), r["cap"], r["last_assigned_at"] or "")
        for r in rows
    ]


def queue_head(conn: Tx, site_id: str, limit: int) -> list[str]:
    rows = conn.execute(
        f"SELECT id FROM rooms WHERE site_id = ? AND {_QUEUED} ORDER BY queue_seq LIMIT ?",
        (site_id, limit),
    ).fetchall()
    return [r["id"] for r in rows]


def enqueue(conn: Tx, site_id: str, room_id: str, now: str) -> None:
    """The room joins the end of its site's queue."""
    seq = conn.execute(
        "UPDATE sites SET queue_counter = queue_counter + 1 WHERE id = ? RETURNING queue_counter",
        (site_id,),
    ).fetchone()[0]
    conn.execute("UPDATE rooms SET queue_seq = ?, queued_at = ? WHERE id = ?", (seq, now, room_id))


def mark_assigned(conn: Tx, room_id: str, agent_id: str, now: str, from_queue: bool) -> None:
    """The agent was given the room: round robin's turn, and the queue's pace when it waited."""
    conn.execute("UPDATE agents SET last_assigned_at = ? WHERE id = ?", (now, agent_id))
    if from_queue:
        conn.execute("UPDATE rooms SET assigned_at = ? WHERE id = ?", (now, room_id))


def bump_version(conn: Tx, site_id: str) -> int:
    """The queue changed: the number its `queue` frames carry (clients keep the latest)."""
    return int(
        conn.execute(
            "UPDATE sites SET queue_version = queue_version + 1 WHERE id = ?"
            " RETURNING queue_version",
            (site_id,),
        ).fetchone()[0]
    )


def queue(conn: Tx, site_id: str) -> list[QueueEntry]:
    """Every waiting conversation with its place (a team's in its team's line: `places`)."""
    rows = conn.execute(
        f"SELECT id, customer_id, team_id FROM rooms WHERE site_id = ? AND {_QUEUED}"
        " ORDER BY queue_seq",
        (site_id,),
    ).fetchall()
    found = places([r["team_id"] for r in rows])
    return [QueueEntry(r["id"], r["customer_id"], p) for r, p in zip(rows, found, strict=True)]


# As domain `places`: a team's conversation counts its own team's line only.
_POSITION = (
    f"SELECT count(*) FROM rooms o WHERE o.site_id = r.site_id AND {_queued('o')}"
    " AND o.queue_seq <= r.queue_seq AND (r.team_id IS NULL OR o.team_id = r.team_id)"
)


def entry(conn: Tx, room_id: str) -> QueueEntry | None:
    row = conn.execute(
        f"SELECT r.id, r.customer_id, ({_POSITION}) AS position FROM rooms r"
        f" WHERE r.id = ? AND {_queued('r')}",
        (room_id,),
    ).fetchone()
    return QueueEntry(row["id"], row["customer_id"], int(row["position"])) if row else None


async def read_entry(db: Database, room_id: str) -> tuple[QueueEntry | None, int]:
    """A room's place in line (None: not waiting), and the site's queue version."""
    row = await db.fetch_one(
        f"SELECT r.id, r.customer_id, s.queue_version, CASE WHEN {_queued('r')}"
        f" THEN ({_POSITION}) END AS position FROM rooms r JOIN sites s ON s.id = r.site_id"
        " WHERE r.id = ?",
        (room_id,),
    )
    if row is None:
        return None, 0
    version = int(row["queue_version"])
    if row["position"] is None:
        return None, version
    return QueueEntry(row["id"], row["customer_id"], int(row["position"])), version


def _recent_sql() -> str:
    return (
        "SELECT queued_at, assigned_at FROM rooms WHERE site_id = ? AND assigned_at IS NOT NULL"
        " ORDER BY assigned_at DESC LIMIT ?"
    )


def recent_waits(conn: Tx, site_id: str) -> list[tuple[str, str]]:
    rows = conn.execute(_recent_sql(), (site_id, ETA_SAMPLE)).fetchall()
    return [(r["queued_at"], r["assigned_at"]) for r in rows if r["queued_at"]]


async def read_recent_waits(db: Database, site_id: str) -> list[tuple[str, str]]:
    rows = await db.fetch_all(_recent_sql(), (site_id, ETA_SAMPLE))
    return [(r["queued_at"], r["assigned_at"]) for r in rows if r["queued_at"]]


# -- agents offline: their conversations go back to the queue after the site's time --------


@dataclass(frozen=True, slots=True)
class Holder:
    """An active agent holding open conversations, and since when no console of theirs is open."""

    agent_id: str
    offline_since: str | None


async def offline_return_sites(db: Database) -> list[tuple[str, int]]:
    """(site_id, minutes) of the sites that return an offline agent's conversations."""
    rows = await db.fetch_all(
        "SELECT id, offline_return_minutes FROM sites WHERE offline_return_minutes IS NOT NULL"
    )
    return [(r["id"], int(r["offline_return_minutes"])) for r in rows]


_HOLDERS = (
    "SELECT a.id, a.offline_since FROM agents a WHERE a.site_id = ? AND a.active = 1"
    " AND EXISTS (SELECT 1 FROM rooms r WHERE r.assignee_id = a.id AND r.status = 'assigned'"
    " AND r.kind = 'private')"
)


def holders(conn: Tx, site_id: str) -> list[Holder]:
    return [Holder(r["id"], r["offline_since"]) for r in conn.execute(_HOLDERS, (site_id,))]


async def read_holders(db: Database, site_id: str) -> list[Holder]:
    return [Holder(r["id"], r["offline_since"]) for r in await db.fetch_all(_HOLDERS, (site_id,))]


async def read_offline_since(db: Database, agent_id: str) -> tuple[bool, str | None]:
    """(the agent exists, when their last console closed: None while one is open)."""
    row = await db.fetch_one("SELECT offline_since FROM agents WHERE id = ?", (agent_id,))
    return (False, None) if row is None else (True, row["offline_since"])


def set_offline_since(conn: Tx, agent_id: str, since: str | None) -> None:
    """When the agent's last console closed (None: one is open). A first mark is kept."""
    if since is None:
        conn.execute(
            "UPDATE agents SET offline_since = NULL WHERE id = ? AND offline_since IS NOT NULL",
            (agent_id,),
        )
    else:
        conn.execute(
            "UPDATE agents SET offline_since = ? WHERE id = ? AND offline_since IS NULL",
            (since, agent_id),
        )
