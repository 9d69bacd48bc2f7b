"""Running a team from the console: invitations, password-reset links, and owners changing
agents (name, role, active, two-factor reset).

A link is `<id>.<secret>`: the row keeps only the secret's SHA-256, a link is good for
`LINK_LIFETIME`, once, and resending one gives it a new secret (the old link stops working).
When the server sends mail, a new or resent link is also emailed (id or en, the site's
language): the mail is queued in the outbox in the same transaction that makes the link, so
a link that exists is a link whose mail will go. The owner still gets the link to copy.
An invitee may turn on two-factor sign-in while accepting (must, when the site requires it).
At least one active owner always remains: demoting or deactivating the last one is refused
inside the same transaction that would do it, so two owners demoting each other at once
cannot both succeed.
"""

from __future__ import annotations

import hmac
import re
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chat_server import errors
from chat_server.domain import two_factor
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
    LoginChallenge,
)
from chat_server.services.email_channel import EmailChannel
from chat_server.services.passwords import check_new
from chat_server.services.totp import TwoFactorSetup, new_setup, recovery_codes
from chat_server.store import agents as agent_store
from chat_server.store import mail as mail_store
from chat_server.store import sites as site_store
from chat_server.store import team as team_store
from chat_server.store.database import Database
from chat_server.store.mail import NewMail
from chat_server.store.sql import Tx
from chat_server.store.team import AgentLink

LINK_LIFETIME = timedelta(days=7)
# Where a link opens in the console, by kind.
LINK_PATHS = {"invite": "/console/invite/", "reset": "/console/reset/"}
ROLES = ("agent", "owner")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{1,63}")
MAX_NAME = 120

# The link mails' words; the templates are mail_templates/team_link.{txt,html}.
LINK_WORDS: dict[str, dict[str, str]] = {
    "id": {
        "subject_invite": "Undangan bergabung dengan tim {site} di Sapa",
        "subject_reset": "Atur ulang kata sandi Sapa Anda untuk {site}",
        "invite": "{by} mengundang Anda bergabung dengan tim {site} di Sapa sebagai {role}.",
        "reset": "Pemilik {site} membuat tautan untuk mengatur ulang kata sandi Sapa Anda.",
        "open": "Buka tautan ini (sekali pakai, berlaku sampai {expires}):",
        "button_invite": "Terima undangan",
        "button_reset": "Pilih kata sandi baru",
        "ignore": "Tidak mengharapkan email ini? Abaikan saja; tidak ada yang berubah.",
        "role_agent": "agen",
        "role_owner": "pemilik",
    },
    "en": {
        "subject_invite": "Join the {site} team on Sapa",
        "subject_reset": "Reset your Sapa password for {site}",
        "invite": "{by} invited you to join the {site} team on Sapa as {role}.",
        "reset": "An owner of {site} made a link to reset your Sapa password.",
        "open": "Open this link (once, valid until {expires}):",
        "button_invite": "Accept the invitation",
        "button_reset": "Choose a new password",
        "ignore": "Not expecting this email? Ignore it; nothing changes.",
        "role_agent": "an agent",
        "role_owner": "an owner",
    },
}


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """A link just made: the only moment its secret exists outside the browser."""

    link: AgentLink
    token: str
    emailed: bool = False  # queued in the outbox (the server sends mail)

    def url(self, base_url: str) -> str:
        return base_url.rstrip("/") + LINK_PATHS[self.link.kind] + self.token

    def to_json(self, base_url: str) -> dict[str, Any]:
        return {
            "invitation_id": self.link.id,
            "url": self.url(base_url),
            "expires_at": self.link.expires_at,
            "email": self.link.email,
            "role": self.link.role,
            "emailed": self.emailed,
        }


@dataclass(frozen=True, slots=True)
class Joined:
    """An accepted invitation: the first session, and the recovery codes (shown once) when
    two-factor sign-in was turned on while accepting."""

    session: ConsoleSession
    recovery_codes: list[str]


def _gone() -> SapaError:
    return SapaError(ErrorCode.GONE, "this link was used, revoked or has expired")


def _bad_link() -> SapaError:
    return errors.not_found("link")


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not 0 < len(name.strip()) <= MAX_NAME:
        raise errors.bad_request(f"'name' must be 1 to {MAX_NAME} characters")
    return name.strip()


class Team:
    def __init__(
        self,
        db: Database,
        auth: ConsoleAuth,
        chat: ChatService | None = None,
        mail: EmailChannel | None = None,  # set when the server sends mail
    ) -> None:
        self.db = db
        self.auth = auth
        self.chat = chat
        self.mail = mail

    # -- link mails ---------------------------------------------------------------------

    async def _link_mail(
        self, issued: IssuedLink, base_url: str | None, by: str, locale: str | None = None
    ) -> NewMail | None:
        """The email carrying a new link, or None when the server sends no mail."""
        if self.mail is None or not base_url:
            return None
        link = issued.link
        site = await site_store.get_site(self.db, link.site_id)
        if site is None:
            return None
        lang = next(x for x in (locale, site.locale, "en") if x in LINK_WORDS)
        words = LINK_WORDS[lang]
        kind = link.kind
        role = words[f"role_{link.role}"]
        text, html = self.mail.render(
            "team_link",
            lang,
            intro=words[kind].format(by=by, site=site.name, role=role),
            button=words[f"button_{kind}"],
            url=issued.url(base_url),
            open_line=words["open"].format(expires=link.expires_at[:16].replace("T", " ") + " UTC"),
            ignore=words["ignore"],
        )
        return NewMail(
            link.site_id,
            # One mail per link and secret: a resend (new secret) is a new mail.
            f"team:{link.id}:{link.secret_hash[:16]}",
            "team",
            link.email,
            words[f"subject_{kind}"].format(site=site.name),
            text,
            html,
        )

    def _queued(self, mail: NewMail | None) -> None:
        if self.mail is not None and mail is not None:
            for tell in self.mail.on_queued:
                tell()

    # -- invitations --------------------------------------------------------------------

    async def invite(
        self, viewer: Viewer, email: Any, role: Any, base_url: str | None = None
    ) -> IssuedLink:
        require_owner(viewer)
        if not isinstance(email, str) or not EMAIL.fullmatch(email.strip()):
            raise errors.bad_request("'email' must be an email address")
        if role not in ROLES:
            raise errors.bad_request("'role' must be agent or owner")
        address = email_key(email)
        issued, now = self._new_link(viewer.site_id, "invite", address, role, None)
        mail = await self._link_mail(issued, base_url, viewer.name)

        def job(conn: Tx) -> None:
            if team_store.email_taken(conn, address):
                raise SapaError(ErrorCode.CONFLICT, "an account with this email already exists")
            team_store.revoke_open_links(conn, viewer.site_id, "invite", address, now)
            team_store.insert_link(conn, issued.link, viewer.id)
            if mail is not None:
                mail_store.enqueue(conn, mail)
            audit.record(
                conn,
                viewer.site_id,
                Actor.of(viewer),
                "invitation_created",
                address,
                {"role": role},
            )

        await self.db.write(job)
        self._queued(mail)
        return IssuedLink(issued.link, issued.token, mail is not None)

    async def invitations(self, viewer: Viewer) -> list[AgentLink]:
        require_owner(viewer)
        now = format_time(datetime.now(UTC))
        return await team_store.open_invitations(self.db, viewer.site_id, now)

    async def resend(self, viewer: Viewer, link_id: str, base_url: str | None = None) -> IssuedLink:
        require_owner(viewer)
        secret, now, expires = new_secret(24), datetime.now(UTC), datetime.now(UTC) + LINK_LIFETIME
        current = await team_store.get_link(self.db, link_id)
        mail = None
        if current is not None and current.site_id == viewer.site_id:
            # The mail is written for the renewed link; the job below checks it is still open.
            renewed = replace(
                current,
                secret_hash=hash_token(secret),
                created_at=format_time(now),
                expires_at=format_time(expires),
            )
            issued = IssuedLink(renewed, f"{renewed.id}.{secret}")
            mail = await self._link_mail(issued, base_url, viewer.name)

        def job(conn: Tx) -> AgentLink:
            link = self._open_link_of(conn, viewer, link_id)
            team_store.renew_link(
                conn, link.id, hash_token(secret), format_time(now), format_time(expires)
            )
            audit.record(conn, viewer.site_id, Actor.of(viewer), "invitation_resent", link.email)
            if mail is not None:
                mail_store.enqueue(conn, mail)
            renewed = team_store.load_link(conn, link.id)
            assert renewed is not None
            return renewed

        link = await self.db.write(job)
        self._queued(mail)
        return IssuedLink(link, f"{link.id}.{secret}", mail is not None)

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

    async def reset_link(
        self, viewer: Viewer, agent_id: str, base_url: str | None = None
    ) -> IssuedLink:
        require_owner(viewer)
        agent = await self._agent_of(viewer, agent_id)
        if not agent.active:
            raise SapaError(ErrorCode.CONFLICT, "activate the account before resetting it")
        issued, now = self._new_link(viewer.site_id, "reset", agent.email, agent.role, agent.id)
        locale = await agent_store.get_locale(self.db, agent.id)
        mail = await self._link_mail(issued, base_url, viewer.name, locale)

        def job(conn: Tx) -> None:
            team_store.revoke_open_links(conn, viewer.site_id, "reset", agent.email, now)
            team_store.insert_link(conn, issued.link, viewer.id)
            audit.record(conn, viewer.site_id, Actor.of(viewer), "password_reset_link", agent.id)
            if mail is not None:
                mail_store.enqueue(conn, mail)

        await self.db.write(job)
        self._queued(mail)
        return IssuedLink(issued.link, issued.token, mail is not None)

    async def site_requires_2fa(self, site_id: str) -> bool:
        return await team_store.requires_2fa(self.db, site_id)

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

    async def invite_2fa_setup(self, token: str) -> TwoFactorSetup:
        """A secret for the invitee to scan before the account exists; it waits on the link
        and counts only when `accept` gets a code from it."""
        link = await self.check_link(token, "invite")
        setup = new_setup(link.email)
        if not await self.db.write(
            lambda conn: team_store.set_link_totp(conn, link.id, setup.secret)
        ):
            raise _gone()
        return setup

    async def accept(
        self,
        token: str,
        name: Any,
        password: str,
        address: str,
        device: str,
        code: Any = None,
    ) -> Joined:
        """A new account from an invitation, and its first session. With `code` (from the
        secret of `invite_2fa_setup`) two-factor sign-in is on from the start; a site that
        requires it makes no account without one."""
        link = await self.check_link(token, "invite")
        clean_name = check_name(name)
        check_new(password)
        step = None
        if code not in (None, ""):
            if not isinstance(code, str) or len(code) > 40:
                raise errors.bad_request("'code' must be the 6 digits of your app")
            if link.totp_pending is None:
                raise SapaError(ErrorCode.CONFLICT, "set up two-factor sign-in first")
            step = two_factor.accepted_step(link.totp_pending, code, time.time(), 0)
            if step is None:
                raise errors.bad_request("that code is wrong; check the time on your phone")
        elif await team_store.requires_2fa(self.db, link.site_id):
            raise errors.bad_request(
                "this site requires two-factor sign-in: scan the code and enter 6 digits"
            )
        secret = link.totp_pending
        codes, hashes = recovery_codes() if step is not None else ([], [])
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
            actor = Actor(agent_id, clean_name, address)
            audit.record(
                conn, link.site_id, actor, "invitation_accepted", link.email, {"role": link.role}
            )
            if step is not None and secret is not None:
                team_store.set_totp_pending(conn, agent_id, secret)
                team_store.enable_totp(conn, agent_id, secret, step, hashes)
                audit.record(conn, link.site_id, actor, "2fa_enabled", agent_id)
            return self.auth.open_session(conn, agent, None, device, address)

        return Joined(await self.db.write(job), codes)

    async def reset(
        self, token: str, password: str, address: str, device: str
    ) -> ConsoleSession | LoginChallenge:
        """A new password from a reset link: every other session of the agent ends. An agent
        with two-factor sign-in gets the login's second step, not a session: the link
        replaces the password, never the code."""
        link = await self.check_link(token, "reset")
        check_new(password)
        password_hash = await PASSWORDS.run(hasher.hash, password)
        now = format_time(datetime.now(UTC))
        assert link.agent_id is not None
        agent = await agent_store.get_agent(self.db, link.site_id, link.agent_id)
        if agent is None or not agent.active:
            raise _gone()
        has_2fa = (await team_store.get_totp(self.db, agent.id)).secret is not None

        def job(conn: Tx) -> ConsoleSession | LoginChallenge:
            if not team_store.use_link(conn, link.id, now):
                raise _gone()
            agent_store.set_password_hash(conn, agent.id, password_hash)
            agent_store.delete_agent_sessions(conn, agent.id)
            self.auth.record(conn, agent, CLOSE_SESSION_ENDED, "password changed")
            audit.record(
                conn, agent.site_id, Actor(agent.id, agent.name, address), "password_reset"
            )
            if has_2fa:
                return self.auth.new_challenge(conn, agent, address, device)
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

    async def reset_2fa(self, viewer: Viewer, agent_id: str) -> int:
        """An owner turns off another agent's two-factor sign-in (a lost phone): their
        sessions end and their sockets close on every process; they sign in with the
        password next (and set it up again when the site requires it). Sessions ended."""
        require_owner(viewer)
        agent = await self._agent_of(viewer, agent_id)
        if agent.id == viewer.id:
            raise SapaError(ErrorCode.CONFLICT, "change your own on your account page")
        if (await team_store.get_totp(self.db, agent.id)).secret is None:
            raise SapaError(ErrorCode.CONFLICT, "two-factor sign-in is already off")
        reason = "two-factor sign-in reset"

        def job(conn: Tx) -> int:
            team_store.disable_totp(conn, agent.id)
            ended = agent_store.delete_agent_sessions(conn, agent.id)
            self.auth.record(conn, agent, CLOSE_SESSION_ENDED, reason)
            audit.record(conn, viewer.site_id, Actor.of(viewer), "2fa_reset", agent.id)
            return ended

        ended = await self.db.write(job)
        await self.auth.close_sockets(agent.site_id, agent.id, CLOSE_SESSION_ENDED, reason)
        return ended

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
