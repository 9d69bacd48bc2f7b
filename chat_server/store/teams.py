"""Teams of a site's agents, their members, and the waiting conversations of each team.

Not to be confused with `team.py` (issue 13: invitations, links, the audit log).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from chat_server.ids import new_id, now_iso
from chat_server.store.database import Database
from chat_server.store.sql import Row, Tx


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    name: str
    created_at: str
    members: tuple[str, ...] = field(default=())  # agent ids

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "members": list(self.members),
            "created_at": self.created_at,
        }


def _teams(rows: Sequence[Row], members: Sequence[Row]) -> list[Team]:
    by_team: dict[str, list[str]] = {}
    for m in members:
        by_team.setdefault(m["team_id"], []).append(m["agent_id"])
    return [
        Team(r["id"], r["name"], r["created_at"], tuple(sorted(by_team.get(r["id"], []))))
        for r in rows
    ]


_MEMBERS = (
    "SELECT tm.team_id, tm.agent_id FROM team_members tm JOIN teams t ON t.id = tm.team_id"
    " WHERE t.site_id = ?"
)


async def list_teams(db: Database, site_id: str) -> list[Team]:
    rows = await db.fetch_all(
        "SELECT * FROM teams WHERE site_id = ? ORDER BY name_key, id", (site_id,)
    )
    return _teams(rows, await db.fetch_all(_MEMBERS, (site_id,)))


async def get_team(db: Database, site_id: str, team_id: str) -> Team | None:
    found = [t for t in await list_teams(db, site_id) if t.id == team_id]
    return found[0] if found else None


def load_team(conn: Tx, site_id: str, team_id: str) -> Team | None:
    row = conn.execute(
        "SELECT * FROM teams WHERE id = ? AND site_id = ?", (team_id, site_id)
    ).fetchone()
    if row is None:
        return None
    members = conn.execute(
        "SELECT team_id, agent_id FROM team_members WHERE team_id = ?", (team_id,)
    ).fetchall()
    return _teams([row], members)[0]


def count(conn: Tx, site_id: str) -> int:
    return int(
        conn.execute("SELECT count(*) FROM teams WHERE site_id = ?", (site_id,)).fetchone()[0]
    )


def insert(conn: Tx, site_id: str, name: str, key: str) -> str | None:
    """The new team's id; None when the site has a team of that name."""
    row = conn.execute(
        "INSERT INTO teams (id, site_id, name, name_key, created_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (site_id, name_key) DO NOTHING RETURNING id",
        (new_id("team"), site_id, name, key, now_iso()),
    ).fetchone()
    return str(row[0]) if row else None


def rename(conn: Tx, site_id: str, team_id: str, name: str, key: str) -> bool:
    """False when another team of the site has that name."""
    taken = conn.execute(
        "SELECT 1 FROM teams WHERE site_id = ? AND name_key = ? AND id != ?",
        (site_id, key, team_id),
    ).fetchone()
    if taken:
        return False
    conn.execute(
        "UPDATE teams SET name = ?, name_key = ? WHERE id = ? AND site_id = ?",
        (name, key, team_id, site_id),
    )
    return True


def site_agents(conn: Tx, site_id: str, agent_ids: Collection[str]) -> set[str]:
    """Those of `agent_ids` that are agents of this site (deactivated ones too)."""
    if not agent_ids:
        return set()
    ids = sorted(agent_ids)
    rows = conn.execute(
        f"SELECT id FROM agents WHERE site_id = ? AND id IN ({', '.join('?' for _ in ids)})",
        (site_id, *ids),
    ).fetchall()
    return {r["id"] for r in rows}


def set_members(conn: Tx, team_id: str, agent_ids: Sequence[str]) -> None:
    conn.execute("DELETE FROM team_members WHERE team_id = ?", (team_id,))
    for agent_id in agent_ids:
        conn.execute(
            "INSERT INTO team_members (team_id, agent_id) VALUES (?, ?)", (team_id, agent_id)
        )


def delete(conn: Tx, site_id: str, team_id: str) -> list[str]:
    """Delete the team; its conversations belong to no team. Answers their ids."""
    rooms = conn.execute(
        "UPDATE rooms SET team_id = NULL WHERE team_id = ? AND site_id = ? RETURNING id",
        (team_id, site_id),
    ).fetchall()
    conn.execute("DELETE FROM team_members WHERE team_id = ?", (team_id,))
    conn.execute("DELETE FROM teams WHERE id = ? AND site_id = ?", (team_id, site_id))
    return [r["id"] for r in rooms]


def set_room_team(conn: Tx, room_id: str, team_id: str | None) -> None:
    conn.execute("UPDATE rooms SET team_id = ? WHERE id = ?", (team_id, room_id))


def teams_of(conn: Tx, site_id: str, agent_ids: Collection[str]) -> dict[str, frozenset[str]]:
    """Each of these agents' teams (agents in none are left out)."""
    if not agent_ids:
        return {}
    ids = sorted(agent_ids)
    rows = conn.execute(
        _MEMBERS + f" AND tm.agent_id IN ({', '.join('?' for _ in ids)})", (site_id, *ids)
    ).fetchall()
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r["agent_id"], set()).add(r["team_id"])
    return {agent: frozenset(teams) for agent, teams in out.items()}


def queue_head(
    conn: Tx, site_id: str, free: int, team_free: dict[str, int]
) -> list[tuple[str, str | None]]:
    """The waiting conversations any plan could place, oldest first, as (room_id, team_id):
    the first `free` of no team, and the first `team_free[t]` of each team t (a team's
    conversation only takes a slot of its own agents, so none further back could be placed)."""
    # As store/routing's queue: a snoozed conversation is out of line while it sleeps.
    waiting = (
        "kind = 'private' AND status = 'queued' AND assignee_id IS NULL AND snoozed_until IS NULL"
    )
    picked: list[tuple[int, str, str | None]] = []
    rows = conn.execute(
        f"SELECT id, queue_seq FROM rooms WHERE site_id = ? AND {waiting}"
        " AND team_id IS NULL ORDER BY queue_seq LIMIT ?",
        (site_id, free),
    ).fetchall()
    picked.extend((int(r["queue_seq"] or 0), r["id"], None) for r in rows)
    for team_id, slots in sorted(team_free.items()):
        if slots <= 0:
            continue
        rows = conn.execute(
            f"SELECT id, queue_seq FROM rooms WHERE team_id = ? AND site_id = ?"
            f" AND {waiting} ORDER BY queue_seq LIMIT ?",
            (team_id, site_id, slots),
        ).fetchall()
        picked.extend((int(r["queue_seq"] or 0), r["id"], team_id) for r in rows)
    picked.sort()
    return [(room_id, team_id) for _, room_id, team_id in picked]


async def team_member_ids(db: Database, site_id: str, team_id: str) -> list[str]:
    rows = await db.fetch_all(
        _MEMBERS + " AND tm.team_id = ? ORDER BY tm.agent_id", (site_id, team_id)
    )
    return [r["agent_id"] for r in rows]


def room_ids(conn: Tx, team_id: str) -> list[str]:
    """The team's conversations that are not resolved (those an inbox shows live)."""
    rows = conn.execute(
        "SELECT id FROM rooms WHERE team_id = ? AND status != 'resolved'", (team_id,)
    ).fetchall()
    return [r["id"] for r in rows]
