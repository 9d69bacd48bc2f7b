"""Running a team from the console: invitations, password-reset links, and owners changing
agents (name, role, active).

A link is `<id>.<secret>`: the row keeps only the secret's SHA-256, a link is good for
`LINK_LIFETIME`, once, and resending one gives it a new secret (the old link stops working).
At least one active owner always remains: demoting or deactivating the last one is refused
inside the same transaction that would do it, so two owners demoting each other at once
cannot both succeed.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chat_server import errors
from chat_server.domain.access import Viewer
from chat_server.domain.accounts import email_key
from chat_server.domain.models import Agent
from chat_server.errors import ErrorCode, SapaError
from chat_server.ids import format_time, hash_token, new_id, new_secret
from chat_server.services import audit
from chat_server.services.admin import hasher
from chat_server.services.audit import Actor, require_owner
from chat_server.services.chat import ChatService
from chat_server.services.console_auth import (
    CLOSE_SESSION_ENDED,
    PASSWORDS,
    ConsoleAuth,
    ConsoleSession,
)
from chat_server.services.passwords import check_new
from chat_server.store import agents as agent_store
from chat_server.store import team as team_store
from chat_server.store.database import Database
from chat_server.store.sql import Tx
from chat_server.store.team import AgentLink

LINK_LIFETIME = timedelta(days=7)
# Where a link opens in the console, by kind.
LINK_PATHS = {"invite": "/console/invite/", "reset": "/console/reset/"}
ROLES = ("agent", "owner")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{1,63}")
MAX_NAME = 120


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """A link just made: the only moment its secret exists outside the browser."""

    link: AgentLink
    token: str

    def url(self, base_url: str) -> str:
        return base_url.rstrip("/") + LINK_PATHS[self.link.kind] + self.token

    def to_json(self, base_url: str) -> dict[str, Any]:
        return {
            "invitation_id": self.link.id,
            "url": self.url(base_url),
            "expires_at": self.link.expires_at,
            "email": self.link.email,
            "role": self.link.role,
        }


def _gone() -> SapaError:
    return SapaError(ErrorCode.GONE, "this link was used, revoked or has expired")


def _bad_link() -> SapaError:
    return errors.not_found("link")


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not 0 < len(name.strip()) <= MAX_NAME:
        raise errors.bad_request(f"'name' must be 1 to {MAX_NAME} characters")
    return name.strip()


class Team:
    def __init__(self, db: Database, auth: ConsoleAuth, chat: ChatService | None = None) -> None:
        self.db = db
        self.auth = auth
        self.chat = chat

    # -- invitations --------------------------------------------------------------------

    async def invite(self, viewer: Viewer, email: Any, role: Any) -> IssuedLink:
        require_owner(viewer)
        if not isinstance(email, str) or not EMAIL.fullmatch(email.strip()):
            raise errors.bad_request("'email' must be an email address")
        if role not in ROLES:
            raise errors.bad_request("'role' must be agent or owner")
        address = email_key(email)
        issued, now = self._new_link(viewer.site_id, "invite", address, role, None)

        def job(conn: Tx) -> None:
            if team_store.email_taken(conn, address):
                raise SapaError(ErrorCode.CONFLICT, "an account with this email already exists")
            team_store.revoke_open_links(conn, viewer.site_id, "invite", address, now)
            team_store.insert_link(conn, issued.link, viewer.id)
            audit.record(
                conn,
                viewer.site_id,
                Actor.of(viewer),
                "invitation_created",
                address,
                {"role": role},
            )

        await self.db.write(job)
        return issued

    async def invitations(self, viewer: Viewer) -> list[AgentLink]:
        require_owner(viewer)
        now = format_time(datetime.now(UTC))
        return await team_store.open_invitations(self.db, viewer.site_id, now)

    async def resend(self, viewer: Viewer, link_id: str) -> IssuedLink:
        require_owner(viewer)
        secret, now, expires = new_secret(24), datetime.now(UTC), datetime.now(UTC) + LINK_LIFETIME

        def job(conn: Tx) -> AgentLink:
            link = self._open_link_of(conn, viewer, link_id)
            team_store.renew_link(
                conn, link.id, hash_token(secret), format_time(now), format_time(expires)
            )
            audit.record(conn, viewer.site_id, Actor.of(viewer), "invitation_resent", link.email)
            renewed = team_store.load_link(conn, link.id)
            assert renewed is not None
            return renewed

        link = await self.db.write(job)
        return IssuedLink(link, f"{link.id}.{secret}")

    async def revoke(self, viewer: Viewer, link_id: str) -> None:
        require_owner(viewer)
        now = format_time(datetime.now(UTC))

        def job(conn: Tx) -> None:
            link = self._open_link_of(conn, viewer, link_id)
            team_store.revoke_link(conn, link.id, now)
            audit.record(conn, viewer.site_id, Actor.of(viewer), "invitation_revoked", link.email)

        await self.db.write(job)

    @staticmethod
    def _open_link_of(conn: Tx, viewer: Viewer, link_id: str) -> AgentLink:
        link = team_store.load_link(conn, link_id)
        if link is None or link.site_id != viewer.site_id or link.kind != "invite":
            raise errors.not_found("invitation")
        if link.used_at or link.revoked_at:
            raise _gone()
        return link

    # -- password resets ------------------------------------------------------------------

    async def reset_link(self, viewer: Viewer, agent_id: str) -> IssuedLink:
        require_owner(viewer)
        agent = await self._agent_of(viewer, agent_id)
        if not agent.active:
            raise SapaError(ErrorCode.CONFLICT, "activate the account before resetting it")
        issued, now = self._new_link(viewer.site_id, "reset", agent.email, agent.role, agent.id)

        def job(conn: Tx) -> None:
            team_store.revoke_open_links(conn, viewer.site_id, "reset", agent.email, now)
            team_store.insert_link(conn, issued.link, viewer.id)
            audit.record(conn, viewer.site_id, Actor.of(viewer), "password_reset_link", agent.id)

        await self.db.write(job)
        return issued

    # -- following a link -----------------------------------------------------------------

    async def check_link(self, token: str, kind: str) -> AgentLink:
        """The link behind `token` if it can still be used; why not otherwise."""
        link_id, _, secret = token.partition(".")
        link = await team_store.get_link(self.db, link_id) if secret else None
        if link is None or link.kind != kind:
            raise _bad_link()
        if not hmac.compare_digest(link.secret_hash, hash_token(secret)):
            raise _bad_link()
        if link.used_at or link.revoked_at:
            raise _gone()
        if link.expires_at <= format_time(datetime.now(UTC)):
            raise _gone()
        return link

    async def accept(
        self, token: str, name: Any, password: str, address: str, device: str
    ) -> ConsoleSession:
        """A new account from an invitation, and its first session."""
        link = await self.check_link(token, "invite")
        clean_name = check_name(name)
        check_new(password)
        password_hash = await PASSWORDS.run(hasher.hash, password)
        now = format_time(datetime.now(UTC))

        def job(conn: Tx) -> ConsoleSession:
            if not team_store.use_link(conn, link.id, now):
                raise _gone()
            if team_store.email_taken(conn, link.email):
                raise SapaError(ErrorCode.CONFLICT, "an account with this email already exists")
            agent_id = agent_store.insert_agent(
                conn, link.site_id, link.email, clean_name, link.role, password_hash
            )
            agent = Agent(agent_id, link.site_id, link.email, clean_name, link.role)  # type: ignore[arg-type]
            audit.record(
                conn,
                link.site_id,
                Actor(agent_id, clean_name, address),
                "invitation_accepted",
                link.email,
                {"role": link.role},
            )
            return self.auth.open_session(conn, agent, None, device, address)

        return await self.db.write(job)

    async def reset(self, token: str, password: str, address: str, device: str) -> ConsoleSession:
        """A new password from a reset link: every other session of the agent ends."""
        link = await self.check_link(token, "reset")
        check_new(password)
        password_hash = await PASSWORDS.run(hasher.hash, password)
        now = format_time(datetime.now(UTC))
        assert link.agent_id is not None
        agent = await agent_store.get_agent(self.db, link.site_id, link.agent_id)
        if agent is None or not agent.active:
            raise _gone()

        def job(conn: Tx) -> ConsoleSession:
            if not team_store.use_link(conn, link.id, now):
                raise _gone()
            agent_store.set_password_hash(conn, agent.id, password_hash)
            agent_store.delete_agent_sessions(conn, agent.id)
            self.auth.record(conn, agent, CLOSE_SESSION_ENDED, "password changed")
            audit.record(
                conn, agent.site_id, Actor(agent.id, agent.name, address), "password_reset"
            )
            return self.auth.open_session(conn, agent, None, device, address)

        session = await self.db.write(job)
        await self.auth.close_sockets(
            agent.site_id, agent.id, CLOSE_SESSION_ENDED, "password changed"
        )
        return session

    # -- owners changing agents -------------------------------------------------------------

    async def update(self, viewer: Viewer, agent_id: str, changes: Any) -> Agent:
        """Name, role and active; deactivating ends sessions, closes sockets everywhere and
        hands the agent's open conversations back to the queue."""
        require_owner(viewer)
        if not isinstance(changes, dict) or not changes:
            raise errors.bad_request("send an object with 'active', 'role' or 'name'")
        unknown = set(changes) - {"active", "role", "name"}
        if unknown:
            raise errors.bad_request(f"unknown fields: {', '.join(sorted(unknown))}")
        agent = await self._agent_of(viewer, agent_id)
        name = check_name(changes["name"]) if "name" in changes else agent.name
        role = changes.get("role", agent.role)
        if role not in ROLES:
            raise errors.bad_request("'role' must be agent or owner")
        active = changes.get("active", agent.active)
        if not isinstance(active, bool):
            raise errors.bad_request("'active' must be true or false")
        actor = Actor.of(viewer)

        def job(conn: Tx) -> Agent:
            current = agent_store.load_agent(conn, viewer.site_id, agent.id)
            assert current is not None
            loses_owner = current.role == "owner" and current.active
            if loses_owner and (role != "owner" or not active):
                if team_store.count_active_owners(conn, viewer.site_id) <= 1:
                    raise SapaError(ErrorCode.CONFLICT, "a site keeps at least one active owner")
            if name != current.name or role != current.role:
                team_store.update_agent(conn, current.id, name, role)
            if role != current.role:
                detail = {"from": current.role, "to": role}
                audit.record(conn, viewer.site_id, actor, "agent_role_changed", current.id, detail)
            if name != current.name:
                detail = {"from": current.name, "to": name}
                audit.record(conn, viewer.site_id, actor, "agent_renamed", current.id, detail)
            if active != current.active:
                agent_store.set_active(conn, current.id, active)
                if not active:
                    agent_store.delete_agent_sessions(conn, current.id)
                    self.auth.record(conn, current, CLOSE_SESSION_ENDED, "account deactivated")
                action = "agent_activated" if active else "agent_deactivated"
                audit.record(conn, viewer.site_id, actor, action, current.id)
            updated = agent_store.load_agent(conn, viewer.site_id, current.id)
            assert updated is not None
            return updated

        updated = await self.db.write(job)
        if agent.active and not updated.active:
            await self.auth.close_sockets(
                agent.site_id, agent.id, CLOSE_SESSION_ENDED, "account deactivated"
            )
            if self.chat is not None:
                await self.chat.return_to_queue(agent.site_id, agent.id)
        return updated

    async def _agent_of(self, viewer: Viewer, agent_id: str) -> Agent:
        # Another site's agent is simply not found.
        agent = await agent_store.get_agent(self.db, viewer.site_id, agent_id)
        if agent is None:
            raise errors.not_found("agent")
        return agent

    @staticmethod
    def _new_link(
        site_id: str, kind: str, email: str, role: str, agent_id: str | None
    ) -> tuple[IssuedLink, str]:
        secret, moment = new_secret(24), datetime.now(UTC)
        now = format_time(moment)
        link = AgentLink(
            new_id("inv" if kind == "invite" else "rst"),
            site_id,
            kind,
            email,
            role,
            agent_id,
            hash_token(secret),
            now,
            format_time(moment + LINK_LIFETIME),
            None,
            None,
        )
        return IssuedLink(link, f"{link.id}.{secret}"), now
