"""An agent's own account: name, language, password, and their sessions."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from chat_server import errors
from chat_server.domain import two_factor
from chat_server.domain.access import Viewer
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
from chat_server.services.totp import TwoFactorSetup, new_setup, recovery_codes
from chat_server.store import agents as agent_store
from chat_server.store import team as team_store
from chat_server.store.sql import Tx

LOCALES = ("id", "en")


@dataclass(frozen=True, slots=True)
class TwoFactorStatus:
    enabled: bool
    recovery_codes_left: int
    required: bool  # by the site's owners

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "recovery_codes_left": self.recovery_codes_left,
            "required": self.required,
        }


@dataclass(frozen=True, slots=True)
class AccountView:
    session: ConsoleSession
    locale: str | None
    sessions: list[agent_store.SessionInfo]
    two_factor: TwoFactorStatus

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.session.agent.public(),
            "locale": self.locale,
            "two_factor": self.two_factor.to_json(),
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
            await self.two_factor(session),
        )

    async def two_factor(self, session: ConsoleSession) -> TwoFactorStatus:
        state = await team_store.get_totp(self.db, session.agent.id)
        return TwoFactorStatus(
            state.secret is not None,
            await team_store.recovery_codes_left(self.db, session.agent.id),
            await team_store.requires_2fa(self.db, session.agent.site_id),
        )

    # -- two-factor sign-in ---------------------------------------------------------------

    async def setup_2fa(self, session: ConsoleSession) -> TwoFactorSetup:
        """A new secret to scan; it counts only once a code from it is confirmed."""
        agent = session.agent
        if (await team_store.get_totp(self.db, agent.id)).secret is not None:
            raise SapaError(ErrorCode.CONFLICT, "two-factor sign-in is already on")
        setup = new_setup(agent.email)
        await self.db.write(lambda conn: team_store.set_totp_pending(conn, agent.id, setup.secret))
        return setup

    async def enable_2fa(self, session: ConsoleSession, code: Any, address: str) -> list[str]:
        """Turn two-factor on with a first code; answers the 10 recovery codes, shown once."""
        if not isinstance(code, str):
            raise errors.bad_request("'code' is required")
        agent = session.agent
        state = await team_store.get_totp(self.db, agent.id)
        if state.secret is not None:
            raise SapaError(ErrorCode.CONFLICT, "two-factor sign-in is already on")
        if state.pending is None:
            raise SapaError(ErrorCode.CONFLICT, "start the setup first")
        pending = state.pending
        step = two_factor.accepted_step(pending, code, time.time(), 0)
        if step is None:
            raise errors.bad_request("that code is wrong; check the time on your phone")
        codes, hashes = recovery_codes()
        actor = Actor(agent.id, agent.name, address)

        def job(conn: Tx) -> bool:
            if not team_store.enable_totp(conn, agent.id, pending, step, hashes):
                return False
            audit.record(conn, agent.site_id, actor, "2fa_enabled", agent.id)
            return True

        if not await self.db.write(job):
            raise SapaError(ErrorCode.CONFLICT, "the setup changed meanwhile; start again")
        return codes

    async def disable_2fa(self, session: ConsoleSession, password: Any, address: str) -> None:
        if not isinstance(password, str):
            raise errors.bad_request("'password' is required")
        agent = session.agent
        if await team_store.requires_2fa(self.db, agent.site_id):
            raise SapaError(ErrorCode.CONFLICT, "this site requires two-factor sign-in")
        if not await self.auth.check_password(agent, password):
            raise SapaError(ErrorCode.FORBIDDEN, "the password is wrong")
        actor = Actor(agent.id, agent.name, address)

        def job(conn: Tx) -> None:
            team_store.disable_totp(conn, agent.id)
            audit.record(conn, agent.site_id, actor, "2fa_disabled", agent.id)

        await self.db.write(job)

    async def set_site_requires_2fa(self, viewer: Viewer, required: Any) -> bool:
        """Owners: every agent of the site must use two-factor (the others are sent to set it
        up at their next page). An owner without it cannot require it: they would lock
        themselves out of everything but their account page."""
        audit.require_owner(viewer)
        if not isinstance(required, bool):
            raise errors.bad_request("'required' must be true or false")
        by_person = not viewer.id.startswith("api_")  # not the site's server (API token)
        if required and by_person:
            if (await team_store.get_totp(self.db, viewer.id)).secret is None:
                raise SapaError(ErrorCode.CONFLICT, "turn on your own two-factor sign-in first")

        def job(conn: Tx) -> None:
            team_store.set_requires_2fa(conn, viewer.site_id, required)
            audit.record(
                conn, viewer.site_id, Actor.of(viewer), "2fa_required", None, {"required": required}
            )

        await self.db.write(job)
        return required

    async def site_requires_2fa(self, viewer: Viewer) -> bool:
        audit.require_owner(viewer)
        return await team_store.requires_2fa(self.db, viewer.site_id)

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
