"""The WebSocket loop shared by both gateways: hello, then frames in, acks and events out."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect

from chat_server import jsontext
from chat_server.domain.frames import MAX_FRAME_BYTES, Client, Frame, FrameError, Hello, parse
from chat_server.domain.throttle import TokenBucket
from chat_server.errors import ErrorCode, SapaError
from chat_server.web.context import AppContext, context_of
from chat_server.web.hub import Connection
from chat_server.web.serving import DIRECT, DirectSocket

log = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_ORIGIN = 4403
CLOSE_NO_HELLO = 4408
CLOSE_ABUSE = 4429
CLOSE_TOO_BIG = 1009
CLOSE_RESTART = 1012
CLOSE_SESSION_ENDED = 4000
CLOSE_INTERNAL = 1011


class Refused(Exception):
    """The handshake failed; the socket closes with `code`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Session(Protocol):
    """One authenticated client behind a socket."""

    site_id: str
    owner_id: str

    def welcome(self) -> dict[str, Any]: ...

    async def handle(self, frame: Frame) -> dict[str, Any] | None: ...

    async def opened(self, conn: Connection) -> None: ...

    async def closed(self) -> None: ...


class Opener(Protocol):
    async def __call__(self, ws: WebSocket, ctx: AppContext, hello: Hello) -> Session: ...


def encode(payload: dict[str, Any]) -> str:
    return jsontext.dumps(payload)


async def _receive_text(ws: WebSocket) -> str | bytes:
    # On Sapa's own server a text message comes straight from the protocol; anything else
    # (a disconnect, binary) through the ASGI interface, which also tells the access log.
    socket: DirectSocket | None = ws.scope.get("extensions", {}).get(DIRECT)
    if socket is not None:
        text = await socket.next_text()
        if text is not None:
            return text
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    return message.get("text") or message.get("bytes") or b""


async def serve(ws: WebSocket, client: Client, open_session: Opener) -> None:
    ctx = context_of(ws)
    await ws.accept()
    # The address uvicorn resolved (X-Forwarded-For only from trusted proxies). A trusted
    # proxy (or this machine) connecting for itself, with no X-Forwarded-For, is not capped:
    # every client behind a proxy that forgot the header would share one cap.
    address = ws.client.host if ws.client else ""
    relayed = "x-forwarded-for" in ws.headers
    capped = relayed or address not in ctx.trusted_proxies
    if capped and not ctx.address_sockets.take(address):
        await ws.close(CLOSE_ABUSE, "too many sockets from this address")
        return
    try:
        await _handshake(ws, ctx, client, open_session)
    finally:
        if capped:
            ctx.address_sockets.give(address)


async def _handshake(ws: WebSocket, ctx: AppContext, client: Client, opener: Opener) -> None:
    try:
        # A deadline on this task (no task of its own for the receive, as wait_for makes).
        async with asyncio.timeout(ctx.settings.hello_timeout):
            raw = await _receive_text(ws)
    except TimeoutError:
        await ws.close(CLOSE_NO_HELLO, "no hello in time")
        return
    except WebSocketDisconnect:
        return
    try:
        hello = parse(raw, client).command
        if not isinstance(hello, Hello):
            raise Refused(CLOSE_UNAUTHORIZED, "the first frame must be hello")
        session = await opener(ws, ctx, hello)
        _forget_headers(ws)
    except FrameError:
        await ws.close(CLOSE_UNAUTHORIZED, "the first frame must be a valid hello")
        return
    except Refused as refused:
        await ws.close(refused.code, refused.reason)
        return
    except Exception:
        # A client always learns how its socket ended, even when the server is at fault.
        log.exception("hello failed")
        await ws.close(CLOSE_INTERNAL, "internal error")
        return

    token = hello.token if client == "widget" else None
    if token is not None and not ctx.token_sockets.take(token):
        await ws.close(CLOSE_ABUSE, "too many sockets for this token")
        return
    try:
        await _run(ws, ctx, client, session)
    finally:
        if token is not None:
            ctx.token_sockets.give(token)


def _forget_headers(ws: WebSocket) -> None:
    """The handshake's headers served the hello (origin, cookie, forwarded address); an idle
    socket need not keep them (~1 KiB: the scope's list and Starlette's views of it)."""
    ws.scope["headers"] = []
    for cached in ("_headers", "_cookies"):
        ws.__dict__.pop(cached, None)


async def _run(ws: WebSocket, ctx: AppContext, client: Client, session: Session) -> None:
    queue_size = (
        ctx.settings.send_queue_size if client == "widget" else ctx.settings.agent_send_queue_size
    )
    conn = Connection(ws, client, session.site_id, session.owner_id, queue_size)
    try:
        # Registered before the welcome is built, so the welcome counts this client too.
        await session.opened(conn)
        ctx.hub.add(conn)
        conn.send(encode({"type": "welcome", **session.welcome()}))
        await _frames(ws, conn, client, session)
    except WebSocketDisconnect:
        pass
    finally:
        ctx.hub.remove(conn)
        try:
            await session.closed()
        finally:
            await conn.stop()


async def _frames(ws: WebSocket, conn: Connection, client: Client, session: Session) -> None:
    # Generous for people, tight for scripts. Agents' consoles get more room than shoppers.
    frames = TokenBucket(rate=20, burst=60) if client == "widget" else TokenBucket(50, 200)
    # Every bad or refused frame costs a token; a client that keeps misbehaving is cut off.
    strikes = TokenBucket(rate=0.5, burst=30)
    while not conn.closing:
        raw = await _receive_text(ws)
        now = time.monotonic()
        if len(raw) > MAX_FRAME_BYTES:
            conn.close(CLOSE_TOO_BIG, "frame too big")
            return
        ref: str | None = None
        # Every frame costs a token, bad ones too: parsing is work the client makes us do.
        allowed = frames.take(now)
        try:
            frame = parse(raw, client)
            ref = frame.ref
            if not allowed:
                raise SapaError(ErrorCode.RATE_LIMITED, "too many frames; slow down")
            result = await session.handle(frame)
            if ref is not None:
                conn.send(encode({"type": "ack", "ref": ref, **(result or {})}))
            continue
        except SapaError as exc:
            ref = exc.ref if isinstance(exc, FrameError) else ref
            conn.send(encode(_error(ref, exc.code, exc.message)))
        except Exception:
            log.exception("frame handling failed")
            conn.send(encode(_error(ref, ErrorCode.INTERNAL, "internal error")))
        # A frame that failed, for whatever reason, is a strike: a client that keeps
        # hitting a fault is cut off instead of filling the log.
        if not strikes.take(now):
            conn.close(CLOSE_ABUSE, "too many bad frames or too fast")
            return


def _error(ref: str | None, code: ErrorCode, message: str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "error", "code": code.value, "message": message}
    if ref is not None:
        out["ref"] = ref
    return out
