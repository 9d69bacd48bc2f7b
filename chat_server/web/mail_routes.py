"""Email's HTTP side: signed reopen and unsubscribe links, the inbound webhook, the widget's
address capture, transcripts, and the owners' view of the outbox."""

from __future__ import annotations

import time
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from chat_server import errors
from chat_server.services import widget_sessions
from chat_server.web.context import context_of
from chat_server.web.crm_routes import widget_caller, widget_endpoint
from chat_server.web.jsonbody import read_json
from chat_server.web.rest_auth import authenticate
from chat_server.web.widget_routes import cors

MAX_WEBHOOK_FIELD = 1024 * 1024


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
        '<meta name="viewport" content="width=device-width"></head>'
        f'<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto">'
        f"{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status)


async def open_link(request: Request) -> Response:
    """A link from an email: to the shop's page, where the widget reopens the conversation
    (the link rides in the fragment, so the shop's server never sees it)."""
    token = request.path_params["token"]
    try:
        page = await context_of(request).email.open_page(token)
    except errors.SapaError:
        page = None
    if page is None:
        return _page("Sapa", "<p>This link is not valid. / Tautan ini tidak berlaku.</p>", 403)
    return RedirectResponse(f"{page}#sapa_open={token}", status_code=302)


async def unsubscribe(request: Request) -> Response:
    token = request.path_params["token"]
    ctx = context_of(request)
    if request.method == "POST":
        # RFC 8058 one-click, or the button below.
        try:
            await ctx.email.unsubscribe(token)
        except errors.SapaError:
            return _page("Sapa", "<p>This link is not valid. / Tautan ini tidak berlaku.</p>", 403)
        return _page("Sapa", "<p>Unsubscribed. / Anda tidak akan menerima email ini lagi.</p>")
    action = escape(f"/mail/unsubscribe/{token}")
    return _page(
        "Sapa",
        f'<form method="post" action="{action}"><p>Stop emails about your conversation?'
        " / Berhenti menerima email tentang percakapan Anda?</p>"
        '<button type="submit">Unsubscribe / Berhenti</button></form>',
    )


async def inbound_webhook(request: Request) -> Response:
    """A provider's inbound mail, Mailgun's shape (see docs/operations.md, "Email")."""
    ctx = context_of(request)
    form = await request.form(max_files=0, max_fields=200, max_part_size=MAX_WEBHOOK_FIELD)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    message = ctx.email.webhook_message(fields, time.time())
    outcome = await ctx.email.receive_message(message, fields.get("body-plain", "").encode())
    return JSONResponse({"outcome": outcome})


async def reopen(request: Request) -> Response:
    """The widget found `#sapa_open=…` on the shop's page: a token for that conversation."""
    origin = request.headers.get("origin")
    if request.method == "OPTIONS":
        return cors(Response(status_code=204), origin)
    ctx = context_of(request)
    try:
        data = await read_json(request)
        if not isinstance(data, dict) or not isinstance(data.get("link"), str):
            raise errors.bad_request("'site_key' and 'link' are required")
        site = await widget_sessions.find_site(ctx.db, str(data.get("site_key", ""))[:128])
        token = await ctx.email.widget_token(site, data["link"][:2000])
        response: Response = JSONResponse({"token": token})
    except errors.SapaError as exc:
        response = JSONResponse({"error": exc.as_dict()}, status_code=exc.http_status)
    return cors(response, origin)


async def widget_contact(request: Request) -> Response:
    site, customer = await widget_caller(request)
    data = await read_json(request)
    if not isinstance(data, dict):
        raise errors.bad_request("send a JSON object")
    consent = data.get("consent", True)
    if not isinstance(consent, bool):
        raise errors.bad_request("'consent' must be true or false")
    await context_of(request).email.capture(site.id, customer.id, data.get("email"), consent)
    return JSONResponse({"ok": True})


async def widget_transcript(request: Request) -> Response:
    site, customer = await widget_caller(request)
    ctx = context_of(request)
    room_id = await ctx.email.private_room(customer.id)
    queued = await ctx.email.transcript(site.id, customer.id, room_id, "customer")
    return JSONResponse({"queued": queued})


async def room_transcript(request: Request) -> Response:
    viewer = await authenticate(request)
    ctx = context_of(request)
    room = await ctx.chat.room_for(viewer, request.path_params["room_id"])
    if room.customer_id is None:
        raise errors.bad_request("only a private conversation has a customer to email")
    queued = await ctx.email.transcript(viewer.site_id, room.customer_id, room.id, viewer.id)
    return JSONResponse({"queued": queued})


async def outbox(request: Request) -> Response:
    viewer = await authenticate(request)
    if viewer.role != "owner":
        raise errors.forbidden("only the site's owners see the outbox")
    items: list[dict[str, Any]] = [
        m.to_json() for m in await context_of(request).email.outbox(viewer.site_id)
    ]
    return JSONResponse({"items": items})


async def my_notifications(request: Request) -> Response:
    """The signed-in agent's own choice: email me when a conversation waits N minutes
    while I am offline (0: never)."""
    viewer = await authenticate(request)
    if viewer.id.startswith("api_"):
        raise errors.forbidden("notifications belong to an agent's own account")
    email = context_of(request).email
    if request.method == "PUT":
        data = await read_json(request)
        minutes = data.get("waiting_minutes") if isinstance(data, dict) else None
        if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 <= minutes <= 1440:
            raise errors.bad_request("'waiting_minutes' must be an integer from 0 to 1440")
        await email.set_notify_after(viewer.id, minutes)
    return JSONResponse({"waiting_minutes": await email.notify_after(viewer.id)})


routes = [
    Route("/api/v1/me/notifications", my_notifications, methods=["GET", "PUT"]),
    Route("/mail/open/{token}", open_link),
    Route("/mail/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"]),
    Route("/api/v1/mail/inbound", inbound_webhook, methods=["POST"]),
    Route("/api/v1/mail/outbox", outbox),
    Route("/api/v1/rooms/{room_id}/transcript", room_transcript, methods=["POST"]),
    Route("/api/widget/reopen", reopen, methods=["POST", "OPTIONS"]),
    Route("/api/widget/contact", widget_endpoint(widget_contact), methods=["POST", "OPTIONS"]),
    Route(
        "/api/widget/transcript", widget_endpoint(widget_transcript), methods=["POST", "OPTIONS"]
    ),
]
