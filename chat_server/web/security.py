"""Console cookies and CSRF: a signed session id, checked against the server-side session."""

from __future__ import annotations

import hmac

from itsdangerous import BadSignature

from chat_server.web.context import AppContext

COOKIE = "sapa_session"
MAX_AGE = 14 * 24 * 3600


def session_id_from_cookie(ctx: AppContext, cookie: str | None) -> str | None:
    if not cookie:
        return None
    try:
        value = ctx.cookies.loads(cookie)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def sign_session(ctx: AppContext, session_id: str) -> str:
    return ctx.cookies.dumps(session_id)


def csrf_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
