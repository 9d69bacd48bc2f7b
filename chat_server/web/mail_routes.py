"""Email's HTTP side: signed reopen and unsubscribe links, the inbound webhook, the widget's
address capture, transcripts, and the owners' view of the outbox."""

from __future__ import annotations

import time
from html import escape
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Message

from chat_server import errors
from chat_server.domain.mail import MailServer
from chat_server.services import hours, widget_sessions
from chat_server.web.context import context_of
from chat_server.web.crm_routes import widget_caller, widget_endpoint
from chat_server.web.jsonbody import read_json
from chat_server.web.rest_auth import authenticate
from chat_server.web.widget_routes import cors

MAX_WEBHOOK_FIELD = 2 * 1024 * 1024  # one form field (a raw MIME message, a body)
MAX_WEBHOOK_FILES = 50  # attachments a provider posts as files: accepted, never kept
MAX_WEBHOOK_BODY = 30 * 1024 * 1024  # what providers post for one mail, attachments included
WEBHOOK_PATHS = (
    "/api/v1/mail/inbound",
    "/api/v1/mail/inbound/sendgrid",
    "/api/v1/mail/inbound/postmark",
)


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


async def _bounded(request: Request) -> Request:
    """The request with its body read up to MAX_WEBHOOK_BODY (413 past it): webhook paths
    are exempt from the general body limit, as mail with attachments is larger."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_WEBHOOK_BODY:
            raise errors.SapaError(errors.ErrorCode.TOO_LARGE, "the mail is too large")
        chunks.append(chunk)
    body = b"".join(chunks)

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, replay)


async def _fields(request: Request) -> dict[str, str]:
    """A provider's form fields; files (attachments) are never kept."""
    form = await request.form(
        max_files=MAX_WEBHOOK_FILES, max_fields=200, max_part_size=MAX_WEBHOOK_FIELD
    )
    try:
        return {k: v for k, v in form.items() if isinstance(v, str)}
    finally:
        await form.close()


async def inbound_webhook(request: Request) -> Response:
    """A provider's inbound mail, Mailgun's shape (see docs/operations.md, "Email")."""
    email = context_of(request).email
    fields = await _fields(await _bounded(request))
    inbound = email.webhooks.mailgun(fields, time.time())
    return JSONResponse({"outcome": await email.receive_webhook(inbound)})


async def inbound_sendgrid(request: Request) -> Response:
    """SendGrid Inbound Parse, signed by a security policy (ECDSA over the raw body)."""
    email = context_of(request).email
    bounded = await _bounded(request)
    body = await bounded.body()
    fields = await _fields(bounded) if email.webhooks.sendgrid_key is not None else {}
    inbound = email.webhooks.sendgrid(fields, body, bounded.headers, time.time())
    return JSONResponse({"outcome": await email.receive_webhook(inbound)})


async def inbound_postmark(request: Request) -> Response:
    """Postmark's inbound JSON, with the Basic credentials of its webhook URL."""
    email = context_of(request).email
    try:
        email.webhooks.check_postmark(request.headers.get("authorization", ""))
    except errors.SapaError as exc:
        if exc.code != errors.ErrorCode.UNAUTHORIZED:
            raise
        return JSONResponse(
            {"error": exc.as_dict()},
            status_code=401,
            headers={"www-authenticate": 'Basic realm="sapa-inbound"'},
        )
    inbound = email.webhooks.postmark(await read_json(await _bounded(request)))
    return JSONResponse({"outcome": await email.receive_webhook(inbound)})


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


async def widget_hours(request: Request) -> Response:
    """The shop's hours read again, when a boundary the widget was given has passed."""
    site, _ = await widget_caller(request)
    return JSONResponse(hours.away_config(site))


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


async def mail_status(request: Request) -> Response:
    """How this installation sends and receives mail (its settings, read-only: they are
    set by SAPA_SMTP_URL and the other variables; never a password)."""
    viewer = await authenticate(request)
    if viewer.role != "owner":
        raise errors.forbidden("only the site's owners see the mail settings")
    ctx = context_of(request)
    settings = ctx.settings
    base = (settings.public_url or str(request.base_url)).rstrip("/")

    def server(url: str | None, kind: Literal["smtp", "imap"]) -> dict[str, Any] | None:
        if not url:
            return None
        parsed = MailServer.parse(url, kind)
        tls = "tls" if parsed.tls else "starttls" if parsed.starttls else "none"
        return {"host": parsed.host, "port": parsed.port, "security": tls}

    paths = dict(zip(("mailgun", "sendgrid", "postmark"), WEBHOOK_PATHS, strict=True))
    return JSONResponse(
        {
            "outgoing": {
                "smtp": server(settings.smtp_url, "smtp") if settings.mail_from else None,
                "from": settings.mail_from,
                "reply_to": ctx.email.reply_to,
            },
            "inbound": {
                "imap": server(settings.imap_url, "imap"),
                "webhooks": {
                    name: base + paths[name] if on else None
                    for name, on in ctx.email.webhooks.enabled().items()
                },
            },
        }
    )


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
    Route("/api/v1/mail/inbound/sendgrid", inbound_sendgrid, methods=["POST"]),
    Route("/api/v1/mail/inbound/postmark", inbound_postmark, methods=["POST"]),
    Route("/api/v1/mail/outbox", outbox),
    Route("/api/v1/mail/settings", mail_status),
    Route("/api/v1/rooms/{room_id}/transcript", room_transcript, methods=["POST"]),
    Route("/api/widget/reopen", reopen, methods=["POST", "OPTIONS"]),
    Route("/api/widget/contact", widget_endpoint(widget_contact), methods=["POST", "OPTIONS"]),
    Route("/api/widget/hours", widget_endpoint(widget_hours), methods=["POST", "OPTIONS"]),
    Route(
        "/api/widget/transcript", widget_endpoint(widget_transcript), methods=["POST", "OPTIONS"]
    ),
]
