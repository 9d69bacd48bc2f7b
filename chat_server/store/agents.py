"""Agents and owners of a site."""

from __future__ import annotations

import sqlite3

from chat_server.domain.models import Agent
from chat_server.ids import new_id, now_iso
from chat_server.store.database import Database


def row_to_agent(row: sqlite3.Row) -> Agent:
    return Agent(row["id"], row["site_id"], row["email"], row["name"], row["role"], row["status"])


def insert_agent(
    conn: sqlite3.Connection, site_id: str, email: str, name: str, role: str, password_hash: str
) -> str:
    agent_id = new_id("agt")
    conn.execute(
        "INSERT INTO agents (id, site_id, email, name, role, password_hash, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (agent_id, site_id, email.strip().lower(), name, role, password_hash, now_iso()),
    )
    return agent_id


def set_status(conn: sqlite3.Connection, agent_id: str, status: str) -> None:
    conn.execute("UPDATE agents SET status = ? WHERE id = ?", (status, agent_id))


def set_password_hash(conn: sqlite3.Connection, agent_id: str, password_hash: str) -> None:
    conn.execute("UPDATE agents SET password_hash = ? WHERE id = ?", (password_hash, agent_id))


async def get_agent(db: Database, site_id: str, agent_id: str) -> Agent | None:
    row = await db.fetch_one(
        "SELECT * FROM agents WHERE id = ? AND site_id = ?", (agent_id, site_id)
    )
    return row_to_agent(row) if row else None


async def get_agent_by_id(db: Database, agent_id: str) -> Agent | None:
    row = await db.fetch_one("SELECT * FROM agents WHERE id = ?", (agent_id,))
    return row_to_agent(row) if row else None


async def get_login(db: Database, email: str) -> tuple[Agent, str] | None:
    row = await db.fetch_one("SELECT * FROM agents WHERE email = ?", (email.strip().lower(),))
    return (row_to_agent(row), row["password_hash"]) if row else None


async def list_agents(db: Database, site_id: str) -> list[Agent]:
    rows = await db.fetch_all("SELECT * FROM agents WHERE site_id = ? ORDER BY name", (site_id,))
    return [row_to_agent(r) for r in rows]
