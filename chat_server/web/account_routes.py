"""An agent's own account: GET/PATCH /api/v1/account, the password, other sessions, and the
account page."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat_server.errors import ErrorCode, SapaError
from chat_server.services.console_auth import ConsoleSession
from chat_server.web.console_routes import app_page
from chat_server.web.context import context_of
from chat_server.web.jsonbody import read_json
from chat_server.web.rest_auth import check_unsafe, console_session


async def _session(request: Request) -> tuple[ConsoleSession, str]:
    """Only a console session has an account page (an API token is the site, not a person)."""
    session = await console_session(request)
    if session is None:
        raise SapaError(ErrorCode.UNAUTHORIZED, "log in first")
    if request.method not in ("GET", "HEAD"):
        check_unsafe(request, session)
    return session, request.client.host if request.client else "unknown"


async def _body(request: Request) -> Any:
    return await read_json(request)


async def account(request: Request) -> Response:
    session, address = await _session(request)
    ctx = context_of(request)
    if request.method == "PATCH":
        view = await ctx.account.update(session, await _body(request), address)
    else:
        view = await ctx.account.view(session)
    return JSONResponse(view.to_json())


async def password(request: Request) -> Response:
    session, address = await _session(request)
    data = await _body(request)
    data = data if isinstance(data, dict) else {}
    ended = await context_of(request).account.change_password(
        session, data.get("current_password"), data.get("new_password"), address
    )
    return JSONResponse({"sessions_ended": ended})


async def end_others(request: Request) -> Response:
    session, address = await _session(request)
    ended = await context_of(request).account.end_other_sessions(session, address)
    return JSONResponse({"sessions_ended": ended})


async def two_factor(request: Request) -> Response:
    session, address = await _session(request)
    account = context_of(request).account
    step = request.path_params["step"]
    if step not in ("setup", "enable", "disable"):
        raise SapaError(ErrorCode.NOT_FOUND, "no such step")
    if step == "setup":
        return JSONResponse((await account.setup_2fa(session)).to_json())
    data = await _body(request)
    data = data if isinstance(data, dict) else {}
    if step == "enable":
        codes = await account.enable_2fa(session, data.get("code"), address)
        return JSONResponse({"recovery_codes": codes})
    await account.disable_2fa(session, data.get("password"), address)
    return JSONResponse({"enabled": False})


async def account_page(request: Request) -> Response:
    return await app_page(request, "account.html")


routes = [
    Route("/api/v1/account", account, methods=["GET", "PATCH"]),
    Route("/api/v1/account/password", password, methods=["POST"]),
    Route("/api/v1/account/sessions/end-others", end_others, methods=["POST"]),
    Route("/api/v1/account/2fa/{step:str}", two_factor, methods=["POST"]),
    Route("/console/account", account_page),
]
