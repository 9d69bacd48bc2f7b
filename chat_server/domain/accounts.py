"""Rules for console accounts: passwords, session lifetimes, where a browser request comes from."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime, timedelta

from chat_server import errors
from chat_server.domain.origins import host_of

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 hashes anything, but a megabyte password is an attack


def check_new_password(password: str, common: Container[str] = ()) -> None:
    """Raise bad_request unless `password` may be set (existing shorter ones still log in).

    `common` holds well-known passwords, lower-cased: guessing lists try them first.
    """
    if len(password) < MIN_PASSWORD:
        raise errors.bad_request(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise errors.bad_request(f"a password has at most {MAX_PASSWORD} characters")
    if password.lower() in common:
        raise errors.bad_request("this password is in a list of common passwords; pick another")


def email_key(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True, slots=True)
class SessionLifetime:
    """A console session ends `idle` after its last use and `absolute` after it began."""

    idle: timedelta
    absolute: timedelta
    # Last-used times are written at most this often per session, not on every request.
    touch_every: timedelta = timedelta(minutes=1)

    def expired(self, created: datetime, last_used: datetime | None, now: datetime) -> bool:
        if now - created >= self.absolute:
            return True
        return now - (last_used or created) >= self.idle

    def needs_touch(self, last_used: datetime | None, now: datetime) -> bool:
        return last_used is None or now - last_used >= min(self.touch_every, self.idle / 10)

    def cutoffs(self, now: datetime) -> tuple[datetime, datetime]:
        """(created before, last used before): sessions older than these are over."""
        return now - self.absolute, now - self.idle


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def same_origin(origin: str, public_url: str | None, host: str | None) -> bool:
    """Whether a browser's Origin (or Referer) is this server's own console origin.

    With SAPA_PUBLIC_URL set, the scheme, host and port must be exactly that. Without it the
    host and port must equal the request's Host header; the scheme is not compared, because a
    proxy that terminates TLS makes every request look like http to Sapa.
    """
    if host_of(origin) is None:
        return False  # "null" (sandboxed or privacy-stripped pages), file:, garbage
    scheme, _, rest = origin.partition("://")
    authority = rest.split("/", 1)[0].lower()
    if public_url:
        want_scheme, _, want_rest = public_url.partition("://")
        want = want_rest.split("/", 1)[0].lower()
        return scheme.lower() == want_scheme.lower() and authority == want
    return host is not None and authority == host.strip().lower()
