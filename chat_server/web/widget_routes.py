"""What a shop's page talks to: the widget script, the widget session, the demo shop."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from chat_server import errors
from chat_server.domain.origins import origin_allowed
from chat_server.errors import SapaError
from chat_server.services import demo, hours, sites, widget_sessions
from chat_server.web import gateway
from chat_server.web.context import context_of
from chat_server.web.jsonbody import read_json
from chat_server.web.sessions import open_agent, open_widget, with_queue_places

GREETINGS = {
    "id": "Halo! 👋 Ada yang bisa kami bantu? Tim kami biasanya membalas dalam beberapa menit.",
    "en": "Hi there! 👋 How can we help? Our team usually replies within a few minutes.",
}


def cors(response: Response, origin: str | None) -> Response:
    if origin:
        response.headers["access-control-allow-origin"] = origin
        response.headers["access-control-allow-methods"] = "POST, OPTIONS"
        response.headers["access-control-allow-headers"] = "content-type, authorization"
        response.headers["access-control-max-age"] = "600"
        response.headers["vary"] = "Origin"
    return response


async def widget_session(request: Request) -> Response:
    origin = request.headers.get("origin")
    if request.method == "OPTIONS":
        # The preflight cannot name the site yet; the POST itself is checked per site.
        return cors(Response(status_code=204), origin)
    try:
        return cors(await _open_widget_session(request, origin), origin)
    except SapaError as exc:
        # Errors carry CORS headers too, so the widget can read them and stop retrying.
        return cors(JSONResponse({"error": exc.as_dict()}, status_code=exc.http_status), origin)


async def _open_widget_session(request: Request, origin: str | None) -> Response:
    ctx = context_of(request)
    data = await read_json(request)
    if not isinstance(data, dict) or not isinstance(data.get("site_key"), str):
        raise errors.bad_request("'site_key' is required")
    token = data.get("token")
    if token is not None and (not isinstance(token, str) or len(token) > 256):
        raise errors.bad_request("'token' must be a string")
    site = await widget_sessions.find_site(ctx.db, data["site_key"][:128])
    if origin is not None and not origin_allowed(origin, site.domains):
        raise SapaError(errors.ErrorCode.FORBIDDEN, "origin not allowed for this site")
    address = request.client.host if request.client else "unknown"
    session = await widget_sessions.open_session(ctx.db, site, token, ctx.session_limits, address)
    welcome = await widget_sessions.welcome(ctx.db, session, ctx.rooms.listing)
    await with_queue_places(ctx, site.id, welcome.rooms)
    body = {
        "token": session.token,
        "customer_id": session.customer.id,
        "config": {
            "site_name": site.name,
            "greeting": site.greeting or GREETINGS.get(site.locale, GREETINGS["en"]),
            "locale": site.locale,
            "color": site.color,
            "agents_online": await ctx.presence.agents_online(site.id),
            "rooms": welcome.rooms,
            "prechat": site.prechat,
            **hours.away_config(site),
        },
    }
    return JSONResponse(body)


@dataclass(frozen=True, slots=True)
class DemoPage:
    site_key: str
    site_name: str
    widget_src: str = "/widget.js"
    # `?locale=en`: the widget's own language (data-locale), on this Indonesian shop.
    locale: str | None = None
    # The sample customer the page logs in as; None for `?guest=1` (an anonymous visitor).
    shopper: demo.DemoShopper | None = None


async def demo_page(request: Request) -> Response:
    ctx = context_of(request)
    if not ctx.demo_site_key:
        raise errors.not_found("page")
    site = await sites.by_key(ctx.db, ctx.demo_site_key)
    if site is None:
        raise errors.not_found("demo site")
    query = request.query_params
    locale = query.get("locale")
    page = DemoPage(
        site.site_key,
        site.name,
        locale=locale if locale in GREETINGS else None,
        shopper=None if query.get("guest") else demo.demo_shopper(site.identity_secret),
    )
    html = ctx.templates.get_template("demo.html").render(
        site_key=page.site_key,
        site_name=page.site_name,
        widget_src=page.widget_src,
        locale=page.locale,
        shopper=page.shopper.identify_args() if page.shopper else None,
        demo_shopper_id=demo.DEMO_SHOPPER_ID,
    )
    return HTMLResponse(html)


async def widget_socket(ws: WebSocket) -> None:
    await gateway.serve(ws, "widget", open_widget)


async def agent_socket(ws: WebSocket) -> None:
    await gateway.serve(ws, "agent", open_agent)


routes = [
    Route("/api/widget/session", widget_session, methods=["POST", "OPTIONS"]),
    Route("/demo", demo_page),
    WebSocketRoute("/ws/widget", widget_socket),
    WebSocketRoute("/ws/agent", agent_socket),
]
# Served past the middleware and the router (serving.SapaApp); the routes above stay for
# any other way the app is mounted.
SOCKETS = {"/ws/widget": widget_socket, "/ws/agent": agent_socket}
