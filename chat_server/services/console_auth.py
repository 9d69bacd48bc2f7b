"""Console sessions: argon2 passwords, server-side sessions, throttled logins."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass

from argon2.exceptions import InvalidHashError, VerificationError

from chat_server.domain.models import Agent
from chat_server.domain.throttle import SlidingWindow
from chat_server.errors import ErrorCode, SapaError
from chat_server.ids import new_id, new_secret, now_iso
from chat_server.services.admin import hasher
from chat_server.store import agents as agent_store
from chat_server.store.database import Database

# A real hash to verify against when the email is unknown, so timing does not reveal accounts.
_DUMMY_HASH = hasher.hash("not-a-real-password")


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    id: str
    agent: Agent
    csrf_token: str


class ConsoleAuth:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.per_email = SlidingWindow(limit=5, window=300)
        self.per_client = SlidingWindow(limit=20, window=300)

    async def login(self, email: str, password: str, client: str) -> ConsoleSession:
        email_key, now = email.strip().lower(), time.monotonic()
        if self.per_email.blocked(email_key, now) or self.per_client.blocked(client, now):
            raise SapaError(ErrorCode.RATE_LIMITED, "too many failed logins; try again later")
        found = await agent_store.get_login(self.db, email_key)
        stored_hash = found[1] if found else _DUMMY_HASH
        ok = await asyncio.to_thread(_verify, stored_hash, password)
        if not ok or found is None:
            self.per_email.hit(email_key, now)
            self.per_client.hit(client, now)
            raise SapaError(ErrorCode.UNAUTHORIZED, "wrong email or password")
        self.per_email.clear(email_key)
        agent = found[0]
        session_id, csrf = new_id("ses"), new_secret(24)

        def job(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO console_sessions (id, agent_id, csrf_token, created_at)"
                " VALUES (?, ?, ?, ?)",
                (session_id, agent.id, csrf, now_iso()),
            )
            if hasher.check_needs_rehash(stored_hash):
                agent_store.set_password_hash(conn, agent.id, hasher.hash(password))

        await self.db.write(job)
        return ConsoleSession(session_id, agent, csrf)

    async def session(self, session_id: str) -> ConsoleSession | None:
        row = await self.db.fetch_one(
            "SELECT s.id AS sid, s.csrf_token, a.* FROM console_sessions s"
            " JOIN agents a ON a.id = s.agent_id WHERE s.id = ?",
            (session_id,),
        )
        if row is None:
            return None
        return ConsoleSession(row["sid"], agent_store.row_to_agent(row), row["csrf_token"])

    async def logout(self, session_id: str) -> None:
        await self.db.write(
            lambda conn: conn.execute("DELETE FROM console_sessions WHERE id = ?", (session_id,))
        )


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
