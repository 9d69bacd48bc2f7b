"""The team pages' endpoints: agents, invitations, reset links, following a link, the audit
log (owners), and the pages themselves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat_server import errors
from chat_server.errors import SapaError
from chat_server.services import audit, console_auth
from chat_server.services.audit import require_owner
from chat_server.services.console_auth import LoginChallenge
from chat_server.services.team import LINK_PATHS, IssuedLink
from chat_server.web.console_routes import app_page, render, set_session_cookie
from chat_server.web.context import AppContext, context_of
from chat_server.web.jsonbody import read_json
from chat_server.web.rest_auth import authenticate
from chat_server.web.security import check_origin

MAX_TOKEN = 200


def _base(ctx: AppContext, request: Request) -> str:
    return (ctx.settings.public_url or str(request.base_url)).rstrip("/")


def _issued(ctx: AppContext, request: Request, issued: IssuedLink, status: int) -> Response:
    return JSONResponse(issued.to_json(_base(ctx, request)), status_code=status)


async def _object(request: Request) -> dict[str, Any]:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise errors.bad_request("send a JSON object")
    return data


# -- owners: the team ---------------------------------------------------------------------


async def team(request: Request) -> Response:
    viewer = await authenticate(request)
    require_owner(viewer)
    ctx = context_of(request)
    live = {p["id"]: p["status"] for p in await ctx.presence.snapshot(viewer.site_id)}
    members = await console_auth.team(ctx.db, viewer.site_id)
    invitations = await ctx.team.invitations(viewer)
    return JSONResponse(
        {
            "agents": [
                {
                    **m.agent.public(),
                    "status": live.get(m.agent.id, "offline"),
                    "last_seen_at": m.last_seen_at,
                    "two_factor": m.two_factor,
                }
                for m in members
            ],
            "invitations": [i.to_json() for i in invitations],
        }
    )


async def invitations(request: Request) -> Response:
    viewer = await authenticate(request)
    ctx = context_of(request)
    if request.method == "POST":
        data = await _object(request)
        issued = await ctx.team.invite(
            viewer, data.get("email"), data.get("role", "agent"), _base(ctx, request)
        )
        return _issued(ctx, request, issued, 201)
    return JSONResponse({"items": [i.to_json() for i in await ctx.team.invitations(viewer)]})


async def resend_invitation(request: Request) -> Response:
    viewer = await authenticate(request)
    ctx = context_of(request)
    issued = await ctx.team.resend(
        viewer, request.path_params["invitation_id"], _base(ctx, request)
    )
    return _issued(ctx, request, issued, 200)


async def revoke_invitation(request: Request) -> Response:
    viewer = await authenticate(request)
    await context_of(request).team.revoke(viewer, request.path_params["invitation_id"])
    return Response(status_code=204)


async def update_agent(request: Request) -> Response:
    """PATCH /api/v1/agents/{id} (owners): name, role and active (the team), and `cap`
    (how many open conversations routing gives the agent; null: the site's default)."""
    viewer = await authenticate(request)
    ctx = context_of(request)
    agent_id = request.path_params["agent_id"]
    data = await _object(request)
    extra: dict[str, Any] = {}
    if "cap" in data:
        extra["cap"] = await ctx.routing.set_cap(viewer, agent_id, data.pop("cap"))
        if not data:
            return JSONResponse({"id": agent_id, **extra})
    agent = await ctx.team.update(viewer, agent_id, data)
    return JSONResponse({**agent.public(), **extra})


async def reset_link(request: Request) -> Response:
    viewer = await authenticate(request)
    ctx = context_of(request)
    issued = await ctx.team.reset_link(viewer, request.path_params["agent_id"], _base(ctx, request))
    return _issued(ctx, request, issued, 201)


async def reset_two_factor(request: Request) -> Response:
    """POST /api/v1/agents/{id}/2fa/reset (owners): another agent's two-factor goes off."""
    viewer = await authenticate(request)
    agent_id = request.path_params["agent_id"]
    ended = await context_of(request).team.reset_2fa(viewer, agent_id)
    return JSONResponse({"id": agent_id, "two_factor": False, "sessions_ended": ended})


# -- following a link (no session yet) -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkPage:
    kind: str
    token: str = ""
    email: str = ""
    error: str | None = None
    two_factor: str = ""  # invitations: "required" by the site, or "optional"


async def link_page(request: Request) -> Response:
    ctx = context_of(request)
    kind = "invite" if request.url.path.startswith(LINK_PATHS["invite"]) else "reset"
    token = request.path_params["token"][:MAX_TOKEN]
    try:
        link = await ctx.team.check_link(token, kind)
    except SapaError as exc:
        return render(ctx, "accept.html", LinkPage(kind, error=exc.message), exc.http_status)
    two_factor = ""
    if kind == "invite":
        required = await ctx.team.site_requires_2fa(link.site_id)
        two_factor = "required" if required else "optional"
    response = render(ctx, "accept.html", LinkPage(kind, token, link.email, None, two_factor))
    # The token is in the address: it must not leak to other sites or caches.
    response.headers["cache-control"] = "no-store"
    response.headers["referrer-policy"] = "no-referrer"
    return response


async def follow_link(request: Request) -> Response:
    ctx = context_of(request)
    check_origin(ctx, request, login=True)
    data = await _object(request)
    token, password = data.get("token"), data.get("password")
    if not isinstance(token, str) or not isinstance(password, str) or len(token) > MAX_TOKEN:
        raise errors.bad_request("'token' and 'password' are required")
    client = request.client.host if request.client else "unknown"
    device = request.headers.get("user-agent", "")
    codes: list[str] = []
    if request.url.path.endswith("/accept"):
        joined = await ctx.team.accept(
            token, data.get("name"), password, client, device, data.get("code")
        )
        session, codes = joined.session, joined.recovery_codes
    else:
        done = await ctx.team.reset(token, password, client, device)
        if isinstance(done, LoginChallenge):
            # The password is set; the agent's two-factor code comes next, as at a login.
            return JSONResponse({"two_factor_required": True, "challenge": done.id})
        session = done
    body: dict[str, Any] = {"agent": session.agent.public(), "csrf_token": session.csrf_token}
    if codes:
        body["recovery_codes"] = codes
    response = JSONResponse(body)
    set_session_cookie(ctx, response, session.id)
    return response


async def invite_two_factor(request: Request) -> Response:
    """POST /api/v1/invitations/2fa {"token"}: a secret and its QR code for the invitee."""
    ctx = context_of(request)
    check_origin(ctx, request, login=True)
    token = (await _object(request)).get("token")
    if not isinstance(token, str) or len(token) > MAX_TOKEN:
        raise errors.bad_request("'token' is required")
    return JSONResponse((await ctx.team.invite_2fa_setup(token)).to_json())


# -- the audit log (owners) -------------------------------------------------------------


def _filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    out: dict[str, Any] = {}
    for name, key in (("from", "since"), ("to", "until"), ("actor", "actor"), ("action", "action")):
        value = q.get(name)
        if value:
            if len(value) > 100:
                raise errors.bad_request(f"'{name}' is too long")
            out[key] = value
    if q.get("before"):
        try:
            out["before"] = int(q["before"])
        except ValueError:
            raise errors.bad_request("'before' must be a number") from None
    return out


async def audit_log(request: Request) -> Response:
    viewer = await authenticate(request)
    ctx = context_of(request)
    try:
        limit = min(max(int(request.query_params.get("limit", "100")), 1), 500)
    except ValueError:
        raise errors.bad_request("'limit' must be a number") from None
    found = await audit.entries(ctx.db, viewer, **_filters(request), limit=limit + 1)
    return JSONResponse(
        {"items": [e.to_json() for e in found[:limit]], "has_more": len(found) > limit}
    )


async def audit_csv(request: Request) -> Response:
    viewer = await authenticate(request)
    found = await audit.entries(context_of(request).db, viewer, **_filters(request), limit=50000)
    return Response(
        audit.to_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="sapa-audit.csv"'},
    )


async def audit_settings(request: Request) -> Response:
    viewer = await authenticate(request)
    db = context_of(request).db
    if request.method == "PUT":
        days = (await _object(request)).get("retention_days")
        if not isinstance(days, int) or isinstance(days, bool):
            raise errors.bad_request("'retention_days' must be a number of days")
        return JSONResponse({"retention_days": await audit.set_retention(db, viewer, days)})
    return JSONResponse({"retention_days": await audit.retention(db, viewer)})


async def site_two_factor(request: Request) -> Response:
    viewer = await authenticate(request)
    account = context_of(request).account
    if request.method == "PUT":
        required = await account.set_site_requires_2fa(
            viewer, (await _object(request)).get("required")
        )
    else:
        required = await account.site_requires_2fa(viewer)
    return JSONResponse({"required": required})


async def agents_page(request: Request) -> Response:
    return await app_page(request, "agents.html", owners_only=True)


async def audit_page(request: Request) -> Response:
    return await app_page(request, "audit.html", owners_only=True)


routes = [
    Route("/api/v1/team", team),
    Route("/api/v1/agents/invitations", invitations, methods=["GET", "POST"]),
    Route("/api/v1/agents/invitations/{invitation_id}/resend", resend_invitation, methods=["POST"]),
    Route("/api/v1/agents/invitations/{invitation_id}", revoke_invitation, methods=["DELETE"]),
    Route("/api/v1/agents/{agent_id}", update_agent, methods=["PATCH"]),
    Route("/api/v1/agents/{agent_id}/password-reset", reset_link, methods=["POST"]),
    Route("/api/v1/agents/{agent_id}/2fa/reset", reset_two_factor, methods=["POST"]),
    Route("/api/v1/invitations/accept", follow_link, methods=["POST"]),
    Route("/api/v1/invitations/2fa", invite_two_factor, methods=["POST"]),
    Route("/api/v1/auth/reset", follow_link, methods=["POST"]),
    Route("/api/v1/audit", audit_log),
    Route("/api/v1/audit.csv", audit_csv),
    Route("/api/v1/audit/settings", audit_settings, methods=["GET", "PUT"]),
    Route("/api/v1/site/two-factor", site_two_factor, methods=["GET", "PUT"]),
    Route("/console/invite/{token}", link_page),
    Route("/console/reset/{token}", link_page),
    Route("/console/agents", agents_page),
    Route("/console/audit", audit_page),
]
