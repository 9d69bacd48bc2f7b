"""Pure ASGI middleware: bound request bodies; security headers on Sapa's own pages."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt  # paths that bound their own bodies (uploads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await refuse_body(send, self.max_bytes)


async def refuse_body(
    send: Send, max_bytes: int, extra: list[tuple[bytes, bytes]] | tuple[()] = ()
) -> None:
    """The 413 for a body over `max_bytes`, with `extra` headers after its own."""
    body = json.dumps(
        {"error": {"code": "too_large", "message": f"body over {max_bytes} bytes"}}
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"connection", b"close"), *extra]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# Sapa's own pages load only their own scripts (no inline script: boot data sits in
# `<script type="application/json">` blocks, which never run; the one inline script,
# the console's import map, is allowed by its hash), may not be framed, and send no
# full URL (customer ids) to other sites. Inline style stays allowed: templates and
# the FAQ's rendered answers use style attributes, and styles cannot run code.
def page_csp(script_sources: tuple[str, ...] = (), image_sources: tuple[str, ...] = ()) -> str:
    # blob: previews a file in the reply box before it is sent; image_sources: the files'
    # own origin when they are served from one (SAPA_FILES_URL).
    return "; ".join(
        [
            "default-src 'self'",
            " ".join(["script-src 'self'", *script_sources]),
            "style-src 'self' 'unsafe-inline'",
            " ".join(["img-src 'self' data: blob:", *image_sources]),
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def page_headers(csp: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    ]


# The console (its login page included) and the help center; the widget script and the
# demo shop are meant to live on shops' pages and keep their own rules.
PAGE_PREFIXES = ("/console", "/help")
API_HEADERS = [(b"x-content-type-options", b"nosniff")]


class SecurityHeaders:
    def __init__(
        self,
        app: ASGIApp,
        script_sources: tuple[str, ...] = (),
        image_sources: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.page_headers = page_headers(page_csp(script_sources, image_sources))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(PAGE_PREFIXES):
            extra = self.page_headers
        elif path.startswith("/api/"):
            extra = API_HEADERS
        else:
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                added = [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, with_headers)
