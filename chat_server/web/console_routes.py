"""Console login/logout and pages."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from chat_server import errors
from chat_server.bus import Event
from chat_server.domain import audience
from chat_server.errors import SapaError
from chat_server.services import console_auth, sites
from chat_server.services.console_auth import ConsoleSession, LoginChallenge
from chat_server.web.context import AppContext, context_of
from chat_server.web.gateway import CLOSE_SESSION_ENDED
from chat_server.web.jsonbody import read_json
from chat_server.web.rest_auth import check_unsafe, console_session
from chat_server.web.security import (
    COOKIE,
    check_origin,
    max_age,
    session_id_from_cookie,
    sign_session,
)


@dataclass(frozen=True, slots=True)
class LoginPage:
    error: str | None = None
    email: str = ""
    challenge: str = ""  # set: the password was right, the two-factor code comes next


@dataclass(frozen=True, slots=True)
class ConsolePage:
    boot: dict[str, Any]


def render(ctx: AppContext, template: str, page: Any, status: int = 200) -> HTMLResponse:
    html = ctx.templates.get_template(template).render(asdict(page))
    return HTMLResponse(html, status_code=status)


async def _posted(request: Request) -> tuple[Any, bool]:
    """The body as JSON or as a form (the login page works without JavaScript)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        return await read_json(request), False
    return dict(await request.form()), True


async def _credentials(request: Request) -> tuple[str, str, bool]:
    data, is_form = await _posted(request)
    if not isinstance(data, dict):
        raise errors.bad_request("send an object with 'email' and 'password'")
    email, password = data.get("email"), data.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        raise errors.bad_request("'email' and 'password' are required")
    if len(email) > 254 or len(password) > 1024:
        raise errors.bad_request("email or password too long")
    return email, password, is_form


async def login(request: Request) -> Response:
    ctx = context_of(request)
    check_origin(ctx, request, login=True)
    email, password, is_form = await _credentials(request)
    client = request.client.host if request.client else "unknown"
    # Whatever session the browser had ends here: a login always starts a new one.
    previous = session_id_from_cookie(ctx, request.cookies.get(COOKIE))
    try:
        session = await ctx.auth.login(
            email, password, client, replaces=previous, device=request.headers.get("user-agent", "")
        )
    except SapaError as exc:
        if not is_form:
            raise
        return render(ctx, "login.html", LoginPage(exc.message, email), exc.http_status)
    if isinstance(session, LoginChallenge):
        if is_form:
            return render(ctx, "login.html", LoginPage(None, email, session.id))
        return JSONResponse({"two_factor_required": True, "challenge": session.id})
    return _logged_in(ctx, session, is_form)


async def login_code(request: Request) -> Response:
    """The second step of a login with two-factor: the challenge and a code."""
    ctx = context_of(request)
    check_origin(ctx, request, login=True)
    data, is_form = await _posted(request)
    data = data if isinstance(data, dict) else {}
    challenge, code = data.get("challenge"), data.get("code")
    if not isinstance(challenge, str) or not isinstance(code, str) or len(code) > 40:
        raise errors.bad_request("'challenge' and 'code' are required")
    client = request.client.host if request.client else "unknown"
    previous = session_id_from_cookie(ctx, request.cookies.get(COOKIE))
    try:
        session = await ctx.auth.finish(challenge[:100], code, client, replaces=previous)
    except SapaError as exc:
        if not is_form:
            raise
        page = LoginPage(exc.message, "", challenge if exc.http_status != 403 else "")
        return render(ctx, "login.html", page, exc.http_status)
    return _logged_in(ctx, session, is_form)


def _logged_in(ctx: AppContext, session: ConsoleSession, is_form: bool) -> Response:
    response: Response
    if is_form:
        response = RedirectResponse("/console", status_code=303)
    else:
        response = JSONResponse({"agent": session.agent.public(), "csrf_token": session.csrf_token})
    set_session_cookie(ctx, response, session.id)
    return response


def set_session_cookie(ctx: AppContext, response: Response, session_id: str) -> None:
    response.set_cookie(
        COOKIE,
        sign_session(ctx, session_id),
        max_age=max_age(ctx),
        httponly=True,
        samesite="lax",
        secure=ctx.settings.cookie_secure,
        path="/",
    )


async def logout(request: Request) -> Response:
    ctx = context_of(request)
    session = await console_session(request)
    if session is not None:
        check_unsafe(request, session)
        await ctx.auth.logout(session.id)
        await ctx.bus.publish(
            Event(
                session.agent.site_id,
                (audience.agent(session.agent.id),),
                "",
                {"close": CLOSE_SESSION_ENDED, "reason": "logged out"},
            )
        )
    response = JSONResponse({"ok": True})
    response.delete_cookie(COOKIE, path="/")
    return response


async def login_page(request: Request) -> Response:
    ctx = context_of(request)
    if await console_session(request) is not None:
        return RedirectResponse("/console", status_code=303)
    return render(ctx, "login.html", LoginPage())


async def console_page(request: Request) -> Response:
    return await app_page(request, "console.html")


async def faq_page(request: Request) -> Response:
    return await app_page(request, "faq.html")


async def settings_page(request: Request) -> Response:
    return await app_page(request, "settings.html")


async def customers_page(request: Request) -> Response:
    # One page serves the list and a customer's record; its script reads the path.
    return await app_page(request, "customers.html")


async def app_page(request: Request, template: str, *, owners_only: bool = False) -> Response:
    """A console page for a logged-in agent, with the boot data its scripts start from."""
    ctx = context_of(request)
    session = await console_session(request)
    if session is None:
        return RedirectResponse("/console/login", status_code=303)
    if owners_only and session.agent.role != "owner":
        raise errors.forbidden("only the site's owners may open this page")
    if session.must_enroll and template != "account.html":
        return RedirectResponse("/console/account#two-factor", status_code=303)
    site = await sites.site_of(ctx.db, session.agent.site_id)
    team = await console_auth.site_agents(ctx.db, site.id)
    # Who is connected now, not the status each agent last chose: an agent without a
    # socket is offline, and this agent is about to connect (the console says so itself).
    live = {p["id"]: p["status"] for p in await ctx.presence.snapshot(site.id)}
    boot = {
        "agent": session.agent.public(),
        "site": {"id": site.id, "name": site.name},
        "csrf_token": session.csrf_token,
        "locale": await ctx.account.locale(session.agent.id),
        "must_enroll": session.must_enroll,
        "agents": [{**a.public(), "status": live.get(a.id, "offline")} for a in team],
    }
    response = render(ctx, template, ConsolePage(boot))
    response.headers["cache-control"] = "no-store"
    return response


routes = [
    Route("/api/v1/auth/login", login, methods=["POST"]),
    Route("/api/v1/auth/login/2fa", login_code, methods=["POST"]),
    Route("/api/v1/auth/logout", logout, methods=["POST"]),
    Route("/console/login", login_page),
    Route("/console", console_page),
    Route("/console/", console_page),
    Route("/console/faq", faq_page),
    Route("/console/settings", settings_page),
    Route("/console/customers", customers_page),
    Route("/console/customers/{customer_id}", customers_page),
]
