"""Agents and owners of a site, and their console sessions."""

from __future__ import annotations

from dataclasses import dataclass

from chat_server.domain.models import Agent
from chat_server.ids import new_id, now_iso
from chat_server.store.database import Database
from chat_server.store.sql import Row, Tx


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: str
    agent: Agent
    csrf_token: str
    created_at: str
    last_used_at: str | None
    # The site requires two-factor sign-in and this agent has not turned it on yet.
    must_enroll: bool = False


@dataclass(frozen=True, slots=True)
class TeamMember:
    agent: Agent
    last_seen_at: str | None
    two_factor: bool = False


def row_to_agent(row: Row) -> Agent:
    return Agent(
        row["id"],
        row["site_id"],
        row["email"],
        row["name"],
        row["role"],
        row["status"],
        bool(row["active"]),
    )


def insert_agent(
    conn: Tx, site_id: str, email: str, name: str, role: str, password_hash: str
) -> str:
    agent_id = new_id("agt")
    conn.execute(
        "INSERT INTO agents (id, site_id, email, name, role, password_hash, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (agent_id, site_id, email.strip().lower(), name, role, password_hash, now_iso()),
    )
    return agent_id


def set_status(conn: Tx, agent_id: str, status: str) -> None:
    conn.execute("UPDATE agents SET status = ? WHERE id = ?", (status, agent_id))


def set_password_hash(conn: Tx, agent_id: str, password_hash: str) -> None:
    conn.execute("UPDATE agents SET password_hash = ? WHERE id = ?", (password_hash, agent_id))


def set_active(conn: Tx, agent_id: str, active: bool) -> None:
    conn.execute("UPDATE agents SET active = ? WHERE id = ?", (int(active), agent_id))
    if not active:
        conn.execute("UPDATE agents SET status = 'offline' WHERE id = ?", (agent_id,))


def load_agent(conn: Tx, site_id: str, agent_id: str) -> Agent | None:
    row = conn.execute(
        "SELECT * FROM agents WHERE id = ? AND site_id = ?", (agent_id, site_id)
    ).fetchone()
    return row_to_agent(row) if row else None


async def get_agent(db: Database, site_id: str, agent_id: str) -> Agent | None:
    row = await db.fetch_one(
        "SELECT * FROM agents WHERE id = ? AND site_id = ?", (agent_id, site_id)
    )
    return row_to_agent(row) if row else None


async def get_agent_by_id(db: Database, agent_id: str) -> Agent | None:
    row = await db.fetch_one("SELECT * FROM agents WHERE id = ?", (agent_id,))
    return row_to_agent(row) if row else None


async def get_agent_by_email(db: Database, email: str) -> Agent | None:
    row = await db.fetch_one("SELECT * FROM agents WHERE email = ?", (email.strip().lower(),))
    return row_to_agent(row) if row else None


@dataclass(frozen=True, slots=True)
class LoginRow:
    agent: Agent
    password_hash: str
    two_factor: bool


async def get_login(db: Database, email: str) -> LoginRow | None:
    row = await db.fetch_one("SELECT * FROM agents WHERE email = ?", (email.strip().lower(),))
    if row is None:
        return None
    return LoginRow(row_to_agent(row), row["password_hash"], row["totp_secret"] is not None)


async def list_agents(db: Database, site_id: str) -> list[Agent]:
    rows = await db.fetch_all("SELECT * FROM agents WHERE site_id = ? ORDER BY name", (site_id,))
    return [row_to_agent(r) for r in rows]


async def list_team(db: Database, site_id: str) -> list[TeamMember]:
    """Every agent of a site, deactivated ones included, with when they last used the console."""
    rows = await db.fetch_all(
        "SELECT * FROM agents WHERE site_id = ? ORDER BY active DESC, name, email", (site_id,)
    )
    return [
        TeamMember(row_to_agent(r), r["last_seen_at"], r["totp_secret"] is not None) for r in rows
    ]


# -- console sessions -------------------------------------------------------------------


def insert_session(
    conn: Tx,
    session_id: str,
    agent_id: str,
    csrf_token: str,
    now: str,
    device: str = "",
    address: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO console_sessions"
        " (id, agent_id, csrf_token, created_at, last_used_at, device, address)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (session_id, agent_id, csrf_token, now, now, device, address),
    )
    conn.execute("UPDATE agents SET last_seen_at = ? WHERE id = ?", (now, agent_id))


async def get_session(db: Database, session_id: str) -> SessionRow | None:
    row = await db.fetch_one(
        "SELECT s.id AS sid, s.csrf_token, s.created_at AS s_created, s.last_used_at,"
        " CASE WHEN t.require_2fa = 1 AND a.totp_secret IS NULL THEN 1 ELSE 0 END AS enroll, a.*"
        " FROM console_sessions s JOIN agents a ON a.id = s.agent_id"
        " JOIN sites t ON t.id = a.site_id WHERE s.id = ?",
        (session_id,),
    )
    if row is None:
        return None
    return SessionRow(
        row["sid"],
        row_to_agent(row),
        row["csrf_token"],
        row["s_created"],
        row["last_used_at"],
        bool(row["enroll"]),
    )


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One of an agent's sessions, as the account page lists it (never its id)."""

    id: str
    device: str
    address: str | None
    created_at: str
    last_used_at: str | None


async def list_sessions(db: Database, agent_id: str) -> list[SessionInfo]:
    rows = await db.fetch_all(
        "SELECT id, device, address, created_at, last_used_at FROM console_sessions"
        " WHERE agent_id = ? ORDER BY coalesce(last_used_at, created_at) DESC",
        (agent_id,),
    )
    return [
        SessionInfo(r["id"], r["device"] or "", r["address"], r["created_at"], r["last_used_at"])
        for r in rows
    ]


async def get_locale(db: Database, agent_id: str) -> str | None:
    row = await db.fetch_one("SELECT locale FROM agents WHERE id = ?", (agent_id,))
    return row["locale"] if row else None


def touch_session(conn: Tx, session_id: str, agent_id: str, now: str) -> None:
    conn.execute("UPDATE console_sessions SET last_used_at = ? WHERE id = ?", (now, session_id))
    conn.execute("UPDATE agents SET last_seen_at = ? WHERE id = ?", (now, agent_id))


def delete_session(conn: Tx, session_id: str) -> None:
    conn.execute("DELETE FROM console_sessions WHERE id = ?", (session_id,))


def delete_agent_sessions(conn: Tx, agent_id: str, keep: str | None = None) -> int:
    """End every session of an agent (but `keep`, the one changing its own password)."""
    cursor = conn.execute(
        "DELETE FROM console_sessions WHERE agent_id = ? AND id IS NOT ?", (agent_id, keep)
    )
    return cursor.rowcount


def delete_expired_sessions(conn: Tx, created_before: str, idle_before: str) -> int:
    """Timestamps share one fixed-width UTC format, so they compare as text."""
    cursor = conn.execute(
        "DELETE FROM console_sessions"
        " WHERE created_at < ? OR coalesce(last_used_at, created_at) < ?",
        (created_before, idle_before),
    )
    return cursor.rowcount


# -- changes that close sockets in every process ------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountChange:
    seq: int
    site_id: str
    agent_id: str
    close_code: int
    reason: str


def record_change(
    conn: Tx,
    site_id: str,
    agent_id: str,
    close_code: int,
    reason: str,
    now: str,
    forget_before: str,
) -> None:
    conn.execute(
        "INSERT INTO account_changes (site_id, agent_id, close_code, reason, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (site_id, agent_id, close_code, reason, now),
    )
    conn.execute("DELETE FROM account_changes WHERE created_at < ?", (forget_before,))


async def last_change(db: Database) -> int:
    row = await db.fetch_one("SELECT coalesce(max(seq), 0) AS seq FROM account_changes")
    return int(row["seq"]) if row else 0


async def changes_after(db: Database, seq: int, limit: int = 100) -> list[AccountChange]:
    rows = await db.fetch_all(
        "SELECT seq, site_id, agent_id, close_code, reason FROM account_changes"
        " WHERE seq > ? ORDER BY seq LIMIT ?",
        (seq, limit),
    )
    return [
        AccountChange(r["seq"], r["site_id"], r["agent_id"], r["close_code"], r["reason"])
        for r in rows
    ]
