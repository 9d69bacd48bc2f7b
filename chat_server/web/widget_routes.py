"""What a shop's page talks to: the widget script, the widget session, the demo shop."""

from __future__ import annotations

import time
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from chat_server import errors
from chat_server.domain import json_input
from chat_server.domain.origins import origin_allowed
from chat_server.errors import SapaError
from chat_server.jsontext import dumps
from chat_server.services import demo, hours, sites, widget_sessions
from chat_server.web import gateway
from chat_server.web.access_log import log_line
from chat_server.web.context import AppContext, context_of
from chat_server.web.middleware import API_HEADERS, refuse_body
from chat_server.web.sessions import open_agent, open_widget, with_queue_places

GREETINGS = {
    "id": "Halo! 👋 Ada yang bisa kami bantu? Tim kami biasanya membalas dalam beberapa menit.",
    "en": "Hi there! 👋 How can we help? Our team usually replies within a few minutes.",
}


CORS_HEADERS = (
    (b"access-control-allow-methods", b"POST, OPTIONS"),
    (b"access-control-allow-headers", b"content-type, authorization"),
    (b"access-control-max-age", b"600"),
    (b"vary", b"Origin"),
)


def cors(response: Response, origin: str | None) -> Response:
    if origin:
        response.headers["access-control-allow-origin"] = origin
        for name, value in CORS_HEADERS:
            response.headers[name.decode()] = value.decode()
    return response


SESSION_PATH = "/api/widget/session"


async def widget_session(request: Request) -> Response:
    """The session call through Starlette's stack: only for a way of mounting the app other
    than `SapaApp`, which serves POST and OPTIONS with `session_app`."""
    origin = request.headers.get("origin")
    if request.method == "OPTIONS":
        return cors(Response(status_code=204), origin)
    address = request.client.host if request.client else "unknown"
    status, body = await session_answer(context_of(request), await request.body(), origin, address)
    return cors(Response(body, status, media_type="application/json"), origin)


async def session_app(scope: Scope, receive: Receive, send: Send) -> None:
    """`POST /api/widget/session` and its preflight, past the HTTP middleware and the router.

    A widget asks for its session once per page view; in a connect burst's profile
    Starlette's layers (the access log's, security headers' and body limit's wrappers, the
    error middlewares, the router, `Request`, `JSONResponse`) took 7 % of the samples against
    10 % for the call's own work (bench/README.md, "Connect path without the router").
    This answers exactly as they did:
    the same status, headers in the same order and bodies, the same 413 before and while the
    body is read, the same access log line; tests/server/test_widget_session_http.py pins it.
    """
    started, status = time.perf_counter(), 500
    try:
        origin: bytes | None = None
        declared: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value if origin is None else origin
            elif name == b"content-length":
                declared = value  # the last one, as BodyLimit's dict() of them
        ctx: AppContext = scope["app"].state.ctx
        limit = ctx.settings.max_body_bytes
        if declared is not None and declared.isdigit() and int(declared) > limit:
            status = 413
            await refuse_body(send, limit, API_HEADERS)
            return
        origin_text = origin.decode("latin-1") if origin is not None else None
        if scope["method"] == "OPTIONS":
            status, body = 204, b""
            headers: list[tuple[bytes, bytes]] = []
        else:
            received = await _read_body(receive, limit)
            if received is None:
                status = 413
                await refuse_body(send, limit, API_HEADERS)
                return
            if isinstance(received, ClientDisconnect):
                # As Starlette's handler for it answered (app.client_gone), without CORS
                # headers: the client is gone, nobody reads this.
                status = 400
                await _answer(send, 400, [(b"content-length", b"0"), *API_HEADERS], b"")
                return
            client = scope.get("client")
            address = client[0] if client else "unknown"
            status, body = await session_answer(ctx, received, origin_text, address)
            headers = [(b"content-length", b"%d" % len(body)), JSON_TYPE]
        if origin:
            headers += [(b"access-control-allow-origin", origin), *CORS_HEADERS]
        headers += API_HEADERS
        await _answer(send, status, headers, body)
    except Exception:
        if status == 500:
            # As Starlette's ServerErrorMiddleware (outside the security headers) answered.
            await _answer(send, 500, SERVER_ERROR, b"Internal Server Error")
        raise
    finally:
        log_line(scope["method"], scope["path"], status, started)


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


JSON_TYPE = (b"content-type", b"application/json")
SERVER_ERROR = [(b"content-length", b"21"), (b"content-type", b"text/plain; charset=utf-8")]


async def _read_body(receive: Receive, limit: int) -> bytes | ClientDisconnect | None:
    """The whole request body; None once it grows past `limit`."""
    chunks: list[bytes] = []
    seen = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return ClientDisconnect()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def session_answer(
    ctx: AppContext, body: bytes, origin: str | None, address: str
) -> tuple[int, bytes]:
    """The session call's status and JSON body. Errors are answered the same way, with the
    caller's CORS headers, so the widget can read them and stop retrying."""
    try:
        return 200, (await _open_widget_session(ctx, body, origin, address)).encode()
    except SapaError as exc:
        return exc.http_status, dumps({"error": exc.as_dict()}).encode()


async def _open_widget_session(
    ctx: AppContext, body: bytes, origin: str | None, address: str
) -> str:
    data = json_input.decode(body)
    if not isinstance(data, dict) or not isinstance(data.get("site_key"), str):
        raise errors.bad_request("'site_key' is required")
    token = data.get("token")
    if token is not None and (not isinstance(token, str) or len(token) > 256):
        raise errors.bad_request("'token' must be a string")
    site = await widget_sessions.find_site(ctx.db, data["site_key"][:128])
    if origin is not None and not origin_allowed(origin, site.domains):
        raise SapaError(errors.ErrorCode.FORBIDDEN, "origin not allowed for this site")
    session = await widget_sessions.open_session(
        ctx.db, ctx.tokens, site, token, ctx.session_limits, address
    )
    welcome = await widget_sessions.welcome(ctx.db, session, ctx.rooms.listing)
    await with_queue_places(ctx, site.id, welcome.rooms)
    return dumps(
        {
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
    )


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
    Route(SESSION_PATH, widget_session, methods=["POST", "OPTIONS"]),
    Route("/demo", demo_page),
    WebSocketRoute("/ws/widget", widget_socket),
    WebSocketRoute("/ws/agent", agent_socket),
]
# Served past the middleware and the router (serving.SapaApp); the routes above stay for
# any other way the app is mounted.
SOCKETS = {"/ws/widget": widget_socket, "/ws/agent": agent_socket}
HTTP = {("POST", SESSION_PATH): session_app, ("OPTIONS", SESSION_PATH): session_app}
