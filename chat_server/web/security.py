"""Console cookies and CSRF: a signed session id, checked against the server-side session,
and the Origin check every cookie-carrying unsafe request must pass.

Where a request may come from (the login, logout and every cookie-authenticated unsafe
request; a site's Bearer API token is not a browser credential and is not checked):

- `Origin` present: it must be the console's own origin. Browsers send it on every
  cross-origin POST, and "null" from sandboxed or privacy-stripped pages is refused.
- no `Origin`, a `Referer`: the Referer's origin must be the console's own.
- neither: a browser did not send this (browsers always send Origin on a POST made by
  fetch or a form). For the login that is only allowed as JSON without any Cookie header,
  which is what an API client sends and what a cross-site form cannot send (a JSON body
  from another site needs a CORS preflight that Sapa never grants). For requests that
  already carry a session cookie, the X-CSRF-Token they must also send is what a
  cross-site page cannot know, so they are allowed.
"""

from __future__ import annotations

import hmac

from itsdangerous import BadSignature
from starlette.requests import Request

from chat_server.domain.accounts import same_origin
from chat_server.errors import ErrorCode, SapaError
from chat_server.web.context import AppContext

COOKIE = "sapa_session"


def max_age(ctx: AppContext) -> int:
    """The cookie lives as long as the session may (the server decides, this only tidies)."""
    return int(ctx.settings.session_max_days * 24 * 3600)


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


def from_own_origin(ctx: AppContext, request: Request, *, login: bool = False) -> bool:
    host = request.headers.get("host")
    origin = request.headers.get("origin")
    if origin is not None:
        return same_origin(origin, ctx.settings.public_url, host)
    referer = request.headers.get("referer")
    if referer:
        return same_origin(referer, ctx.settings.public_url, host)
    if not login:
        return True
    is_json = request.headers.get("content-type", "").startswith("application/json")
    return is_json and "cookie" not in request.headers


def check_origin(ctx: AppContext, request: Request, *, login: bool = False) -> None:
    if not from_own_origin(ctx, request, login=login):
        raise SapaError(ErrorCode.FORBIDDEN, "cross-site request refused (Origin)")
