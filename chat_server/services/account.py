"""An agent's own account: name, language, password, and their sessions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chat_server import errors
from chat_server.errors import ErrorCode, SapaError
from chat_server.services import audit
from chat_server.services.audit import Actor
from chat_server.services.console_auth import (
    CLOSE_RECONNECT,
    ConsoleAuth,
    ConsoleSession,
)
from chat_server.services.passwords import check_new
from chat_server.services.team import check_name
from chat_server.store import agents as agent_store
from chat_server.store import team as team_store
from chat_server.store.sql import Tx

LOCALES = ("id", "en")


@dataclass(frozen=True, slots=True)
class AccountView:
    session: ConsoleSession
    locale: str | None
    sessions: list[agent_store.SessionInfo]

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.session.agent.public(),
            "locale": self.locale,
            "sessions": [
                {
                    "device": s.device,
                    "address": s.address,
                    "created_at": s.created_at,
                    "last_used_at": s.last_used_at,
                    "current": s.id == self.session.id,
                }
                for s in self.sessions
            ],
        }


class Account:
    def __init__(self, auth: ConsoleAuth) -> None:
        self.auth = auth
        self.db = auth.db

    async def view(self, session: ConsoleSession) -> AccountView:
        agent_id = session.agent.id
        return AccountView(
            session,
            await agent_store.get_locale(self.db, agent_id),
            await agent_store.list_sessions(self.db, agent_id),
        )

    async def locale(self, agent_id: str) -> str | None:
        return await agent_store.get_locale(self.db, agent_id)

    async def update(self, session: ConsoleSession, changes: Any, address: str) -> AccountView:
        if not isinstance(changes, dict) or not changes or set(changes) - {"name", "locale"}:
            raise errors.bad_request("send an object with 'name' or 'locale'")
        agent = session.agent
        name = check_name(changes["name"]) if "name" in changes else agent.name
        locale = changes.get("locale", "keep")
        if locale != "keep" and locale not in (*LOCALES, None):
            raise errors.bad_request("'locale' must be id, en or null")

        def job(conn: Tx) -> None:
            if name != agent.name:
                team_store.update_agent(conn, agent.id, name, agent.role)
                detail = {"from": agent.name, "to": name}
                audit.record(
                    conn,
                    agent.site_id,
                    Actor(agent.id, name, address),
                    "agent_renamed",
                    agent.id,
                    detail,
                )
            if locale != "keep":
                team_store.set_locale(conn, agent.id, locale)

        await self.db.write(job)
        fresh = await self.auth.session(session.id)
        assert fresh is not None
        return await self.view(fresh)

    async def change_password(
        self, session: ConsoleSession, current: Any, new: Any, address: str
    ) -> int:
        """A new password after the current one; this session stays, the others end."""
        if not isinstance(current, str) or not isinstance(new, str):
            raise errors.bad_request("'current_password' and 'new_password' are required")
        check_new(new)
        if not await self.auth.check_password(session.agent, current):
            raise SapaError(ErrorCode.FORBIDDEN, "the current password is wrong")
        agent = session.agent
        ended = await self.auth.set_password(
            agent,
            new,
            keep=session.id,
            also=lambda conn: audit.record(
                conn,
                agent.site_id,
                Actor(agent.id, agent.name, address),
                "password_changed",
                agent.id,
            ),
        )
        return ended

    async def end_other_sessions(self, session: ConsoleSession, address: str) -> int:
        agent = session.agent
        reason = "signed out from another session"

        def job(conn: Tx) -> int:
            ended = agent_store.delete_agent_sessions(conn, agent.id, session.id)
            self.auth.record(conn, agent, CLOSE_RECONNECT, reason)
            audit.record(
                conn,
                agent.site_id,
                Actor(agent.id, agent.name, address),
                "sessions_ended",
                agent.id,
                {"sessions": ended},
            )
            return ended

        ended = await self.db.write(job)
        # Sockets are per agent: all reconnect, and only this session's are let back in.
        await self.auth.close_sockets(agent.site_id, agent.id, CLOSE_RECONNECT, reason)
        return ended
