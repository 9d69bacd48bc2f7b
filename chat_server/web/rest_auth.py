"""Who is calling a REST endpoint: a site's server (API token) or a console session."""

from __future__ import annotations

from starlette.requests import Request

from chat_server.domain.access import Viewer
from chat_server.errors import ErrorCode, SapaError
from chat_server.services import sites
from chat_server.services.console_auth import ConsoleSession
from chat_server.web.context import context_of
from chat_server.web.security import COOKIE, check_origin, csrf_matches, session_id_from_cookie

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def console_session(request: Request) -> ConsoleSession | None:
    ctx = context_of(request)
    session_id = session_id_from_cookie(ctx, request.cookies.get(COOKIE))
    return await ctx.auth.session(session_id) if session_id else None


async def authenticate(request: Request) -> Viewer:
    ctx = context_of(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        site = await sites.by_api_token(ctx.db, header[7:].strip())
        if site is None:
            raise SapaError(ErrorCode.UNAUTHORIZED, "unknown API token")
        # A site's own server acts with owner rights over that site alone.
        return Viewer(site.id, "agent", f"api_{site.id}", site.name, "owner")
    session = await console_session(request)
    if session is None:
        raise SapaError(ErrorCode.UNAUTHORIZED, "log in or send a Bearer API token")
    if request.method not in SAFE_METHODS:
        check_unsafe(request, session)
    if session.must_enroll:
        raise SapaError(
            ErrorCode.FORBIDDEN, "this site requires two-factor sign-in: turn it on first"
        )
    agent = session.agent
    address = request.client.host if request.client else None
    return Viewer(agent.site_id, "agent", agent.id, agent.name, agent.role, address)


def check_unsafe(request: Request, session: ConsoleSession) -> None:
    """A cookie-authenticated unsafe request: from the console's own origin, with its token."""
    check_origin(context_of(request), request)
    if not csrf_matches(session.csrf_token, request.headers.get("x-csrf-token")):
        raise SapaError(ErrorCode.FORBIDDEN, "missing or wrong X-CSRF-Token")
