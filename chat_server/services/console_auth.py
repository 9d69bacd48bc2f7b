"""Console accounts: argon2 passwords, expiring server-side sessions, throttled logins, and
the rules for departed agents (deactivate, activate, set a password).

Login throttling holds under concurrency: an attempt is counted before its password is
checked (so 40 guesses in flight cannot all be checked), each email has one check in flight
and each client address a few (the rest are refused at once), and argon2 runs in a small
bounded thread pool, so a flood fills its own per-address share and never the event loop or
the whole pool. Counts are shared through Redis when the server has it, so every process
enforces the same limits; a right password un-counts its attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from argon2.exceptions import InvalidHashError, VerificationError

from chat_server import errors
from chat_server.bus import Bus, Event
from chat_server.config import Settings
from chat_server.domain import audience, two_factor
from chat_server.domain.accounts import (
    SessionLifetime,
    email_key,
    parse_time,
)
from chat_server.domain.models import Agent
from chat_server.domain.throttle import InFlight, WindowCounts
from chat_server.errors import ErrorCode, SapaError
from chat_server.ids import format_time, hash_token, new_id, new_secret
from chat_server.services import audit
from chat_server.services.admin import hasher
from chat_server.services.audit import Actor
from chat_server.services.passwords import check_new
from chat_server.store import agents as agent_store
from chat_server.store import sites as site_store
from chat_server.store import team as team_store
from chat_server.store.database import Database
from chat_server.store.sql import Tx

log = logging.getLogger(__name__)

T = TypeVar("T")


@functools.cache
def _dummy_hash() -> str:
    """A real hash to verify against when the email is unknown, so timing reveals nothing."""
    return hasher.hash("not-a-real-password")


# Close codes (the gateways' own): the session is over; or reconnect, and the handshake decides.
CLOSE_SESSION_ENDED = 4000
CLOSE_RECONNECT = 1012

# Failed attempts allowed per window; a right password is not counted.
EMAIL_LIMIT = 5
CLIENT_LIMIT = 20
WINDOW = 300  # seconds
# Password checks in flight at once (per process): the rest are refused straight away.
EMAIL_IN_FLIGHT = 1
CLIENT_IN_FLIGHT = 3
CHANGES_POLL = 1.0  # seconds between looks at account changes made by the CLI
CHANGES_KEPT = timedelta(days=1)


def _busy() -> SapaError:
    return SapaError(ErrorCode.RATE_LIMITED, "too many logins at once; try again in a moment")


def _throttled() -> SapaError:
    return SapaError(ErrorCode.RATE_LIMITED, "too many failed logins; try again later")


class PasswordPool:
    """argon2 in a few threads, with a bounded number of checks allowed to wait for them."""

    def __init__(self, workers: int = 2, waiting: int = 16) -> None:
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="argon2")
        self.capacity = workers + waiting
        self.reserved = 0

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        if self.reserved >= self.capacity:
            raise _busy()
        self.reserved += 1
        try:
            yield
        finally:
            self.reserved -= 1

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)


# One per process: argon2 is CPU-bound, so more threads than cores only queue inside the OS.
PASSWORDS = PasswordPool()


class LoginAttempts:
    """Attempt counts per email and per client address: in Redis when shared, else here."""

    def __init__(self, shared: Any | None = None) -> None:
        self.shared = shared  # a RedisCounts, or None for one process alone
        self.local = WindowCounts(WINDOW)

    async def add(self, names: Sequence[str], amount: int) -> list[int]:
        if self.shared is not None:
            try:
                counts: list[int] = await self.shared.add(names, amount, WINDOW)
                return counts
            except (ConnectionError, TimeoutError, OSError) as exc:
                # Redis away: keep limiting, per process, rather than refuse every login.
                log.warning("login counts fall back to this process: %s", exc)
            except Exception as exc:  # redis-py raises its own RedisError family
                log.warning("login counts fall back to this process: %s", exc)
        now = time.monotonic()
        return [self.local.add(name, now, amount) for name in names]

    async def clear(self, names: Sequence[str]) -> None:
        for name in names:
            self.local.clear(name)
        if self.shared is not None:
            try:
                await self.shared.clear(names)
            except Exception as exc:
                log.warning("could not clear shared login counts: %s", exc)


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    id: str
    agent: Agent
    csrf_token: str
    # The site requires two-factor sign-in and this agent has yet to turn it on: only the
    # account page is open to them until they do.
    must_enroll: bool = False


@dataclass(frozen=True, slots=True)
class LoginChallenge:
    """A right password for an account with two-factor: the code comes next (`finish`)."""

    id: str


def lifetime_of(settings: Settings) -> SessionLifetime:
    return SessionLifetime(
        idle=timedelta(hours=settings.session_idle_hours),
        absolute=timedelta(days=settings.session_max_days),
    )


class ConsoleAuth:
    def __init__(self, db: Database, bus: Bus | None = None, settings: Settings | None = None):
        settings = settings or Settings()
        self.db = db
        self.bus = bus
        self.lifetime = lifetime_of(settings)
        shared = None
        if settings.redis_url and bus is not None and hasattr(bus, "redis"):
            from chat_server.bus.redis_counts import RedisCounts

            shared = RedisCounts(bus)  # type: ignore[arg-type]
        self.attempts = LoginAttempts(shared)
        self.email_flight = InFlight(EMAIL_IN_FLIGHT)
        self.client_flight = InFlight(CLIENT_IN_FLIGHT)
        self._watcher: asyncio.Task[None] | None = None

    # -- lifecycle: close sockets for changes made by other programs ----------------

    async def start(self) -> None:
        seen = await agent_store.last_change(self.db)
        self._watcher = asyncio.create_task(self._watch(seen), name="account-changes")

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    async def _watch(self, seen: int) -> None:
        while True:
            await asyncio.sleep(CHANGES_POLL)
            try:
                for change in await agent_store.changes_after(self.db, seen):
                    seen = change.seq
                    await self.close_sockets(
                        change.site_id, change.agent_id, change.close_code, change.reason
                    )
            except Exception:
                log.exception("could not read account changes")

    async def close_sockets(self, site_id: str, agent_id: str, code: int, reason: str) -> None:
        if self.bus is not None:
            control = {"close": code, "reason": reason}
            await self.bus.publish(Event(site_id, (audience.agent(agent_id),), "", control))

    # -- login ---------------------------------------------------------------------

    async def login(
        self,
        email: str,
        password: str,
        client: str,
        replaces: str | None = None,
        device: str = "",
    ) -> ConsoleSession | LoginChallenge:
        """A new session (never a reused id); `replaces`, the cookie the browser had, ends.
        An account with two-factor gets a challenge instead, answered with `finish`."""
        key = email_key(email)
        with (
            _in_flight(self.email_flight, key),
            _in_flight(self.client_flight, client),
            PASSWORDS.slot(),
        ):
            return await self._check(key, password, client, replaces, device)

    async def _check(
        self, key: str, password: str, client: str, replaces: str | None, device: str
    ) -> ConsoleSession | LoginChallenge:
        names = (f"login:email:{key}", f"login:client:{client}")
        by_email, by_client = await self.attempts.add(names, 1)
        if by_email > EMAIL_LIMIT or by_client > CLIENT_LIMIT:
            raise _throttled()
        found = await agent_store.get_login(self.db, key)
        stored_hash = found.password_hash if found else _dummy_hash()
        ok = await PASSWORDS.run(_verify, stored_hash, password)
        if not ok or found is None:
            if found is not None:
                who = found.agent
                await self.db.write(
                    lambda conn: audit.record(
                        conn, who.site_id, Actor(who.id, who.name, client), "login_failed"
                    )
                )
            raise SapaError(ErrorCode.UNAUTHORIZED, "wrong email or password")
        await self.attempts.clear(names[:1])
        await self.attempts.add(names[1:], -1)
        agent = found.agent
        if not agent.active:
            raise SapaError(ErrorCode.FORBIDDEN, "this account is deactivated")
        new_hash = None
        if hasher.check_needs_rehash(stored_hash):
            new_hash = await PASSWORDS.run(hasher.hash, password)
        if found.two_factor:
            return await self._challenge(agent, client, device, new_hash)

        def job(conn: Tx) -> ConsoleSession:
            if new_hash is not None:
                agent_store.set_password_hash(conn, agent.id, new_hash)
            audit.record(conn, agent.site_id, Actor(agent.id, agent.name, client), "login")
            return self.open_session(conn, agent, replaces, device, client)

        return await self.db.write(job)

    async def _challenge(
        self, agent: Agent, client: str, device: str, new_hash: str | None
    ) -> LoginChallenge:
        def job(conn: Tx) -> LoginChallenge:
            if new_hash is not None:
                agent_store.set_password_hash(conn, agent.id, new_hash)
            return self.new_challenge(conn, agent, client, device)

        return await self.db.write(job)

    @staticmethod
    def new_challenge(conn: Tx, agent: Agent, client: str, device: str) -> LoginChallenge:
        """A right password for an account with two-factor (inside a write): `finish` takes
        the code. Also what a password-reset link leads to for such an account."""
        now = datetime.now(UTC)
        challenge = team_store.Challenge(
            new_id("chl"), agent.id, format_time(now), client, device[:200]
        )
        forget = format_time(now - timedelta(seconds=two_factor.CHALLENGE_SECONDS))
        team_store.insert_challenge(conn, challenge, forget)
        return LoginChallenge(challenge.id)

    async def finish(
        self, challenge_id: str, code: str, client: str, replaces: str | None = None
    ) -> ConsoleSession:
        """The second step: a code from the agent's app (or a recovery code) for a challenge.

        Wrong codes count per agent against the failed-login limit, so guessing a 6-digit
        code is hopeless; a code's time step is used once (replays fail).
        """
        challenge = await team_store.get_challenge(self.db, challenge_id)
        now = datetime.now(UTC)
        if challenge is None or parse_time(challenge.created_at) < now - timedelta(
            seconds=two_factor.CHALLENGE_SECONDS
        ):
            raise SapaError(ErrorCode.UNAUTHORIZED, "sign in again: that step has expired")
        agent = await agent_store.get_agent_by_id(self.db, challenge.agent_id)
        if agent is None or not agent.active:
            raise SapaError(ErrorCode.FORBIDDEN, "this account is deactivated")
        names = (f"login:2fa:{agent.id}", f"login:client:{client}")
        by_agent, by_client = await self.attempts.add(names, 1)
        if by_agent > EMAIL_LIMIT or by_client > CLIENT_LIMIT:
            raise _throttled()
        state = await team_store.get_totp(self.db, agent.id)
        step = None
        recovery = None
        if state.secret is not None:
            step = two_factor.accepted_step(state.secret, code, now.timestamp(), state.last_step)
            if step is None and two_factor.is_recovery_code(code):
                recovery = hash_token(two_factor.normal_recovery_code(code))
        stamp = format_time(now)
        actor = Actor(agent.id, agent.name, client)

        def job(conn: Tx) -> ConsoleSession | None:
            if step is not None:
                ok = team_store.take_totp_step(conn, agent.id, step)
            elif recovery is not None:
                ok = team_store.use_recovery_code(conn, agent.id, recovery, stamp)
            else:
                ok = False
            if not ok:
                audit.record(conn, agent.site_id, actor, "login_2fa_failed")
                return None
            if not team_store.delete_challenge(conn, challenge.id):
                return None
            detail = {"with": "recovery_code"} if recovery is not None else None
            audit.record(conn, agent.site_id, actor, "login", None, detail)
            return self.open_session(conn, agent, replaces, challenge.device, client)

        session = await self.db.write(job)
        if session is None:
            raise SapaError(ErrorCode.UNAUTHORIZED, "wrong or already used code")
        await self.attempts.clear(names[:1])
        await self.attempts.add(names[1:], -1)
        return session

    def open_session(
        self, conn: Tx, agent: Agent, replaces: str | None, device: str, address: str
    ) -> ConsoleSession:
        """A new session row for `agent` (inside a write); expired sessions go meanwhile."""
        session_id, csrf, now = new_id("ses"), new_secret(24), datetime.now(UTC)
        created_before, idle_before = self.lifetime.cutoffs(now)
        if replaces:
            agent_store.delete_session(conn, replaces)
        agent_store.delete_expired_sessions(
            conn, format_time(created_before), format_time(idle_before)
        )
        agent_store.insert_session(
            conn, session_id, agent.id, csrf, format_time(now), device[:200], address
        )
        return ConsoleSession(session_id, agent, csrf)

    # -- sessions --------------------------------------------------------------------

    async def session(self, session_id: str) -> ConsoleSession | None:
        """The live session with this id; an expired one is deleted and is None."""
        row = await agent_store.get_session(self.db, session_id)
        if row is None or not row.agent.active:
            return None
        now = datetime.now(UTC)
        last_used = parse_time(row.last_used_at) if row.last_used_at else None
        if self.lifetime.expired(parse_time(row.created_at), last_used, now):
            await self.db.write(lambda conn: agent_store.delete_session(conn, row.id))
            return None
        if self.lifetime.needs_touch(last_used, now):
            stamp = format_time(now)
            await self.db.write(
                lambda conn: agent_store.touch_session(conn, row.id, row.agent.id, stamp)
            )
        return ConsoleSession(row.id, row.agent, row.csrf_token, row.must_enroll)

    async def logout(self, session_id: str) -> None:
        await self.db.write(lambda conn: agent_store.delete_session(conn, session_id))

    # -- departed agents and passwords (the CLI, later the team pages) -----------------

    async def deactivate(self, agent: Agent, by: Actor | None = None) -> int:
        """No more logins; every session ends and every socket closes (4000). Sessions ended.
        `by` (the CLI) is who the audit log names."""
        reason = "account deactivated"

        def job(conn: Tx) -> int:
            agent_store.set_active(conn, agent.id, False)
            ended = agent_store.delete_agent_sessions(conn, agent.id)
            self.record(conn, agent, CLOSE_SESSION_ENDED, reason)
            if by is not None:
                audit.record(conn, agent.site_id, by, "agent_deactivated", agent.id)
            return ended

        ended = await self.db.write(job)
        await self.close_sockets(agent.site_id, agent.id, CLOSE_SESSION_ENDED, reason)
        return ended

    async def activate(self, agent: Agent, by: Actor | None = None) -> None:
        def job(conn: Tx) -> None:
            agent_store.set_active(conn, agent.id, True)
            if by is not None:
                audit.record(conn, agent.site_id, by, "agent_activated", agent.id)

        await self.db.write(job)

    async def check_password(self, agent: Agent, password: str) -> bool:
        """Whether `password` is the agent's (a re-check before a sensitive change); wrong
        answers count against the same limit as failed logins."""
        names = (f"login:email:{email_key(agent.email)}",)
        with PASSWORDS.slot():
            (tries,) = await self.attempts.add(names, 1)
            if tries > EMAIL_LIMIT:
                raise _throttled()
            found = await agent_store.get_login(self.db, agent.email)
            if found is None or found.agent.id != agent.id or len(password) > 1024:
                return False
            ok = await PASSWORDS.run(_verify, found.password_hash, password)
            if ok:
                await self.attempts.add(names, -1)
            return ok

    async def set_password(
        self,
        agent: Agent,
        password: str,
        keep: str | None = None,
        also: Callable[[Tx], None] | None = None,
    ) -> int:
        """A new password; every session but `keep` (the one making the change) ends.

        Sockets are per agent, not per session: with a session kept they are asked to
        reconnect (1012), and only the kept session's come back; otherwise they close (4000).
        """
        check_new(password)
        new_hash = await PASSWORDS.run(hasher.hash, password)
        code = CLOSE_RECONNECT if keep else CLOSE_SESSION_ENDED
        reason = "password changed"

        def job(conn: Tx) -> int:
            agent_store.set_password_hash(conn, agent.id, new_hash)
            ended = agent_store.delete_agent_sessions(conn, agent.id, keep)
            self.record(conn, agent, code, reason)
            if also is not None:
                also(conn)
            return ended

        ended = await self.db.write(job)
        await self.close_sockets(agent.site_id, agent.id, code, reason)
        return ended

    @staticmethod
    def record(conn: Tx, agent: Agent, code: int, reason: str) -> None:
        now = datetime.now(UTC)
        agent_store.record_change(
            conn,
            agent.site_id,
            agent.id,
            code,
            reason,
            format_time(now),
            format_time(now - CHANGES_KEPT),
        )


async def find_agent(db: Database, email: str) -> Agent:
    agent = await agent_store.get_agent_by_email(db, email)
    if agent is None:
        raise errors.not_found("agent")
    return agent


async def site_agents(db: Database, site_id: str) -> list[Agent]:
    """A site's agents by name, deactivated ones included (the console's boot data)."""
    return await agent_store.list_agents(db, site_id)


async def team(db: Database, site_id: str) -> list[agent_store.TeamMember]:
    """A site's agents, deactivated ones last, with when each last used the console."""
    if await site_store.get_site(db, site_id) is None:
        raise errors.not_found("site")
    return await agent_store.list_team(db, site_id)


@contextlib.contextmanager
def _in_flight(flight: InFlight, key: str) -> Iterator[None]:
    if not flight.enter(key):
        raise _busy()
    try:
        yield
    finally:
        flight.leave(key)


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
