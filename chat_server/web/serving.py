"""The HTTP server's own guards: uvicorn's httptools protocol with deadlines and a per-address cap.

uvicorn alone only closes a connection that is idle between two requests
(keep-alive). A client that opens a connection and sends nothing, or half a
request line, or headers without their end, or a body that never completes,
holds a file descriptor for as long as it likes (slowloris). Here every
request gets a deadline for its headers (`header_timeout`, counted from the
first byte of the request, or from the connection's start for its first
request) and one for its body (`body_timeout`, from the end of the headers);
past it the connection is aborted. And one client address may hold at most
`connections_per_address` HTTP connections in this process; past that a new
connection gets a 503 and is closed. Trusted proxies are exempt: behind one,
every connection comes from it, and the proxy bounds its own clients.

A WebSocket leaves these guards at its upgrade: its own limits (hello
deadline, per-token and per-address socket caps) are the gateway's.

`HeapTrimmer` gives freed C heap back to the system now and then. Each socket
that carried traffic leaves ~60 KiB of freed glibc heap behind (its zlib
contexts, frame buffers, transport) that glibc keeps mapped: in-use bytes stay
flat while the heap grows (bench/README.md, "Memory soak"). glibc returns free
pages from the middle of its heap only when asked (`malloc_trim`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from uvicorn._types import ASGISendEvent
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.datastructures import Headers
from websockets.frames import apply_mask
from websockets.http11 import Request
from websockets.protocol import State

from chat_server.config import Settings
from chat_server.domain.addresses import AddressSet
from chat_server.histogram import Histogram
from chat_server.web.access_log import AccessLog

log = logging.getLogger(__name__)

_REFUSED_BODY = b"too many connections from this address\n"
REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_REFUSED_BODY), _REFUSED_BODY)
)


@dataclass(frozen=True, slots=True)
class Limits:
    header_timeout: float
    body_timeout: float
    per_address: int
    trusted: AddressSet

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            settings.header_timeout,
            settings.body_timeout,
            settings.connections_per_address,
            AddressSet.parse(settings.trusted_proxies),
        )


def _addresses(
    transport: asyncio.BaseTransport,
) -> tuple[tuple[str, int | None] | None, tuple[str, int] | None, bool]:
    """(server address, client address, over TLS?) as uvicorn's scopes want them.

    uvicorn reads the addresses from a socket object it asks the transport for; uvloop
    builds one per connection for that, the costliest Python step of an accept in a
    connect burst's profile (bench/README.md). The transport knows both addresses already.
    """
    local, peer = transport.get_extra_info("sockname"), transport.get_extra_info("peername")
    server: tuple[str, int | None] | None = None
    if isinstance(local, tuple | list) and len(local) >= 2:
        server = (str(local[0]), int(local[1]))
    elif isinstance(local, str) and local:  # a UNIX socket: its path, no port
        server = (local, None)
    client = None
    if isinstance(peer, tuple | list) and len(peer) >= 2:  # IPv6 adds flow info, scope id
        client = (str(peer[0]), int(peer[1]))
    return server, client, bool(transport.get_extra_info("sslcontext"))


class GuardedHttpProtocol(HttpToolsProtocol):
    """What `sapa serve` runs: limits from SAPA_* variables, read once per process."""

    limits: ClassVar[Limits | None] = None
    open_per_address: ClassVar[Counter[str]] = Counter()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cls = type(self)
        if cls.limits is None:
            cls.limits = Limits.of(Settings.from_env())
        self.guard: Limits = cls.limits
        self.deadline: asyncio.TimerHandle | None = None
        self.counted: str | None = None  # the address this connection is counted under

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # uvicorn's own, without its socket object (`_addresses`).
        self.connections.add(self)
        self.transport = transport
        self.flow = FlowControl(transport)
        self.server, self.client, tls = _addresses(transport)
        self.scheme = "https" if tls else "http"
        host = self.client[0] if self.client else ""
        cap = self.guard.per_address
        if cap and host not in self.guard.trusted:
            if self.open_per_address[host] >= cap:
                transport.write(REFUSED)
                transport.close()
                return
            self.open_per_address[host] += 1
            self.counted = host
        self._arm(self.guard.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._uncount()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.deadline is None:
            self._arm(self.guard.header_timeout)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        if not (self.parser.should_upgrade() and self._should_upgrade()):
            self._arm(self.guard.body_timeout)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        self._uncount()
        super().handle_websocket_upgrade()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        if seconds > 0:
            self.deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _uncount(self) -> None:
        if self.counted is not None:
            self.open_per_address[self.counted] -= 1
            if self.open_per_address[self.counted] <= 0:
                del self.open_per_address[self.counted]
            self.counted = None

    def _expired(self) -> None:
        self.deadline = None
        # abort, not close: a peer that does not read would keep close() waiting to flush.
        if not self.transport.is_closing():
            self.transport.abort()


def protocol_for(settings: Settings) -> type[GuardedHttpProtocol]:
    """A protocol class bound to these settings, for a server run in this process (tests)."""
    attrs = {"limits": Limits.of(settings), "open_per_address": Counter()}
    return type("SapaHttpProtocol", (GuardedHttpProtocol,), attrs)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn settings every Sapa server runs with (the CLI and the test servers)."""
    return {
        "ws": "chat_server.web.serving:WebSocketProtocol",
        "ws_max_size": 128 * 1024,
        "ws_ping_interval": 20,
        "ws_ping_timeout": 20,
        "ws_per_message_deflate": settings.ws_compression,
        "forwarded_allow_ips": settings.trusted_proxies,
        "timeout_graceful_shutdown": 5,
    }


# The ASGI scope extension under which `WebSocketProtocol` offers itself to the app (hub).
DIRECT = "sapa.direct_send"
# Seconds between the loop-lag probe's timers: 10 wake-ups a second cost nothing measurable.
LOOP_LAG_INTERVAL = 0.1


class DirectSocket(Protocol):
    """What the hub needs to write frames without a round through the ASGI interface."""

    on_writable: Callable[[], None] | None

    def paused(self) -> bool: ...

    def write_texts(self, texts: list[str]) -> bool: ...

    async def next_text(self) -> str | None: ...


class _Inbox:
    """The part of asyncio.Queue uvicorn's protocol uses, for one reader, in far less memory.

    Every idle socket holds one: asyncio.Queue's three deques and Event are ~3 KiB, this is
    under 200 bytes. uvicorn stops reading the socket while a message waits, so it stays short.
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Any:
        item = await self.first()
        del self._items[0]
        return item

    def empty(self) -> bool:
        return not self._items

    async def first(self) -> Any:
        """The next item, left in place (`get` takes it)."""
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items[0]

    def drop_first(self) -> None:
        del self._items[0]


class _Flag:
    """asyncio.Event as uvicorn's protocol uses it (`writable`), without a deque per socket."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] = []

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> None:
        while not self._set:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)


def _text_frame(data: bytes) -> bytes:
    """A final, unmasked text frame (RFC 6455 5.2), as a server sends it."""
    size = len(data)
    if size < 126:
        return b"\x81" + bytes((size,)) + data
    if size < 65536:
        return b"\x81\x7e" + size.to_bytes(2, "big") + data
    return b"\x81\x7f" + size.to_bytes(8, "big") + data


_last_frame: tuple[str, bytes] = ("", b"\x81\x00")


def _frame_of(text: str) -> bytes:
    """The frame of `text`, built once for all the recipients of one event: the hub hands
    every recipient the same string, one after another."""
    global _last_frame
    if _last_frame[0] is not text:
        _last_frame = (text, _text_frame(text.encode()))
    return _last_frame[1]


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol, minus the reference cycle each closed socket left behind.

    websockets' sans-I/O protocol parses with a generator it keeps in `parser`, and that
    generator, suspended for good once the socket is closed, refers back to the protocol.
    Only the cyclic garbage collector frees such a pair, and with it the socket's zlib
    contexts and buffers (~50 KiB of C memory the collector does not see): its full
    collections, triggered by object counts, ran so seldom that every reconnect added
    ~50 KiB to the process (bench/README.md, "Memory soak"). Ending the parser when the
    connection is lost frees the socket at once.
    """

    on_writable: Callable[[], None] | None = None
    # Bytes of an incomplete frame held by the short way of receiving (`data_received`), or
    # None while (or once) websockets' parser takes the socket's data.
    _partial: bytes | None = None
    _parser_only = False
    frames_read = 0  # text frames the short way read, this process (for /metrics)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # An idle socket's memory is mostly these per-connection objects (bench/README.md).
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Flag()  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        """Complete, masked, unfragmented text frames are read here; every other frame goes to
        websockets' parser, whole, so that parser is always at a frame's start.

        Nearly every frame a client sends is a short text: websockets' generator parser and
        uvicorn's event dispatch cost the loop more than the rest of receiving one
        (bench/README.md, "Session 12"). What is read here is what they would have read:
        the same size limit, the same payload, the same ASGI message; a frame they would
        refuse (unmasked, too big, invalid UTF-8, reserved bits, a continuation expected)
        goes to them to be refused as before.
        """
        partial = self._partial
        if partial is None:
            if self._parser_only or not self._short_way_open():
                super().data_received(data)
                return
            partial = b""
        buffer = partial + data if partial else data
        conn = self.conn
        limit = conn.max_message_size
        pos, end = 0, len(buffer)
        while end - pos >= 2:
            second = buffer[pos + 1]
            length = second & 0x7F
            if length == 127 or not second & 0x80:
                # A huge or unmasked frame: the parser refuses it, and takes the socket.
                self._to_parser(buffer[pos:])
                return
            if length == 126:
                if end - pos < 4:
                    break
                length = (buffer[pos + 2] << 8) | buffer[pos + 3]
                start = pos + 8
            else:
                start = pos + 6
            if limit is not None and length > limit:
                # Past the size limit: the parser refuses it (1009), and takes the socket.
                self._to_parser(buffer[pos:])
                return
            stop = start + length
            if stop > end:
                break
            if buffer[pos] == 0x81 and conn.current_size is None and conn.state is State.OPEN:
                try:
                    text = apply_mask(buffer[start:stop], buffer[start - 4 : start]).decode()
                except UnicodeDecodeError:
                    super().data_received(buffer[pos:stop])  # uvicorn closes with 1007
                else:
                    self._received(text)
            else:
                # A control frame, a fragment, binary, reserved bits: one whole frame.
                super().data_received(buffer[pos:stop])
                if not self._short_way_open():
                    self._to_parser(buffer[stop:])
                    return
            pos = stop
        self._partial = buffer[pos:] if pos < end else b""

    def _short_way_open(self) -> bool:
        conn = self.conn
        return (
            conn.state is State.OPEN
            and not conn.extensions
            and not conn.reader.buffer
            and conn.current_size is None
            and not self.close_sent
            and conn.parser_exc is None
        )

    def _to_parser(self, rest: bytes) -> None:
        self._partial = None
        self._parser_only = True
        if rest:
            super().data_received(rest)

    def _received(self, text: str) -> None:
        """uvicorn's `send_receive_event_to_app` for a text message."""
        WebSocketProtocol.frames_read += 1
        if self.close_sent:
            return  # past `websocket.close`, as uvicorn discards it
        self.queue.put_nowait({"type": "websocket.receive", "text": text})
        if not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    async def next_text(self) -> str | None:
        """The next message if it is text, taken as uvicorn's `receive` would take it; None
        when the next event is anything else (left for the ASGI `receive`)."""
        inbox: _Inbox = self.queue  # type: ignore[assignment]
        item = await inbox.first()
        text = item.get("text") if item["type"] == "websocket.receive" else None
        if text is None:
            return None
        inbox.drop_first()
        if self.read_paused and inbox.empty():
            self.read_paused = False
            self.transport.resume_reading()
        return str(text)

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept":
            # The handshake's request and response (their headers) are not needed past it.
            # websockets' parser generator still holds the request for the socket's lifetime:
            # empty its headers (~2.5 KiB; the ASGI scope has its own copy).
            request = self.__dict__.pop("request", None)
            if request is not None:
                request.headers = Headers()
            self.__dict__.pop("response", None)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvicorn's own, without its socket object (`_addresses`).
        self.connections.add(self)
        self.transport = transport  # type: ignore[assignment]
        self.server, self.client, tls = _addresses(transport)
        self.scheme = "wss" if tls else "ws"

    def paused(self) -> bool:
        return not self.writable.is_set()

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # only set for a handshake websockets accepted
        if scope is not None and not self.close_sent:
            scope["extensions"][DIRECT] = self

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.on_writable is not None:
            self.on_writable()

    def write_texts(self, texts: list[str]) -> bool:
        """Send text frames in one write, as the ASGI `websocket.send` would one by one.

        Without an extension every recipient of an event gets the same bytes, built here
        without websockets' Frame objects; permessage-deflate needs the socket's own context.
        False when the socket is closing or closed (nothing is written then).
        """
        conn = self.conn
        if self.close_sent or self.disconnected or conn.state is not State.OPEN:
            return False
        if self.transport.is_closing():
            return False
        if conn.extensions:
            for text in texts:
                conn.send_text(text.encode())
            self.transport.write(b"".join(conn.data_to_send()))
        else:
            self.transport.write(b"".join([_frame_of(text) for text in texts]))
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.on_writable = None
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"].pop(DIRECT, None)  # it refers back to this protocol
        super().connection_lost(exc)
        protocol = self.conn
        with contextlib.suppress(Exception):
            protocol.receive_eof()  # the state a finished connection has (CLOSED)
        protocol.parser.close()


# Python's default is 10: a full collection after every ten collections of the middle generation.
FULL_COLLECTION_EVERY = 100
# Python's defaults are 700 and 10: a young collection every 700 more tracked objects than freed.
YOUNG_COLLECTION_AFTER = 50_000
MIDDLE_COLLECTION_EVERY = 20


def tune_collector() -> None:
    """Fewer full collections of the cyclic garbage collector, in a server process.

    A full collection walks every object the collector tracks, and a server holding thousands
    of idle sockets tracks hundreds of thousands (5,000 widgets: 300,000-470,000, 35-270 ms
    per collection). In a connect burst every new socket's objects survive, so Python's
    default ran one every ten collections of the middle generation: six during 5,000
    connections, 0.55-0.88 s of the event loop, a tenth of its work per connection
    (bench/README.md, "Connect path without the router"). Python still waits until the
    objects that survived since the last full collection are a quarter of those it holds,
    so full collections keep following the heap's growth; a closed socket never waits for
    one (`WebSocketProtocol.connection_lost`).

    Young collections come after 50,000 more tracked objects instead of 700. Under load a
    message's objects live until its batch is committed and delivered (tens of ms), so
    at 4,000 messages/s every young collection found them still alive, walked them, and
    passed them on to the middle generation, which walked them again: 1.7 s of CPU in a
    15-second run, 28 µs a message, and the more behind the server fell, the more there
    was to walk. With the larger bound most of them are gone by the time it comes: 0.1 s
    (bench/README.md, "Session 12"). A young collection then walks more at once, ~20 ms a
    few times a minute under load, where the full ones take 40-80 ms anyway.
    Only `sapa serve`'s processes call this (`app.app_from_env`), never a test's server.
    """
    gc.set_threshold(YOUNG_COLLECTION_AFTER, MIDDLE_COLLECTION_EVERY, FULL_COLLECTION_EVERY)
    global _settle_at_start
    _settle_at_start = True


_settle_at_start = False


def settle_heap() -> bool:
    """Once the server has started: what it holds so far is left out of every later
    collection (`gc.freeze`), in `sapa serve`'s processes only (`tune_collector`).

    Modules, settings, the FAQ lexicons and the app live as long as the process, yet a full
    collection walked them every time: ~90,000 of the 140,000 objects it walked under load,
    and with them the pause the whole process makes (35-90 ms; bench/README.md, "Session
    12"). A collection first frees what start-up left, so nothing unreachable is kept. A
    test's server, in the test's own process, never freezes the test's heap. True when done.
    """
    global _settle_at_start
    if not _settle_at_start:
        return False
    _settle_at_start = False
    gc.collect()
    gc.freeze()
    return True


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None under another C library or allocator (e.g. jemalloc)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim: Callable[[int], int] = libc.malloc_trim
        libc.gnu_get_libc_version  # noqa: B018 - glibc only; musl has no malloc_trim effect
    except (OSError, AttributeError):
        return None
    return trim


class HeapTrimmer:
    """Every `interval` seconds, give the C heap's free pages back to the system (glibc)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.trim = _malloc_trim()
        self.trims = 0
        self._task: asyncio.Task[None] | None = None

    def release(self) -> bool:
        """Trim now; True when glibc gave memory back."""
        if self.trim is None:
            return False
        self.trims += 1
        return bool(self.trim(0))

    def start(self) -> None:
        if self.interval > 0 and self.trim is not None:
            self._task = asyncio.create_task(self._run(), name="heap-trim")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                # ctypes lets go of the GIL: the walk over the heap runs beside the loop.
                await asyncio.to_thread(self.release)
            except Exception:
                log.exception("malloc_trim failed")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class LoopLag:
    """How late the event loop runs a timer: every `interval` seconds a sleep's lateness goes
    into a histogram (`sapa_event_loop_lag_seconds`). A lag is time every socket of this
    process waited: a long collection, a slow handler, or more work than the core can do."""

    def __init__(self, interval: float = LOOP_LAG_INTERVAL) -> None:
        self.interval = interval
        self.seconds = Histogram()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="loop-lag")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            await asyncio.sleep(self.interval)
            self.seconds.observe(max(0.0, loop.time() - began - self.interval))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


SocketEndpoint = Callable[[WebSocket], Awaitable[None]]


class SapaApp(Starlette):
    """Starlette, with the socket routes (`sockets`, path → endpoint) and a few HTTP calls
    (`http`, (method, path) → ASGI app) served past the middleware and the router.

    A socket's ASGI call lasts as long as the socket, and every layer it passes keeps a
    coroutine alive all that time: the HTTP middleware and the router (which only pass a
    websocket through) were a quarter of an idle socket's memory. The access log stays.
    An `http` app is called once per request of a connect burst (the widget's session), and
    answers, logs and bounds its body itself as the middleware would.
    """

    def __init__(
        self,
        *args: Any,
        sockets: Mapping[str, SocketEndpoint],
        http: Mapping[tuple[str, str], ASGIApp] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.sockets = {
            path: AccessLog(_socket_app(endpoint)) for path, endpoint in sockets.items()
        }
        self.http = dict(http or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            direct = self.http.get((scope["method"], scope["path"]))
        elif kind == "websocket":
            direct = self.sockets.get(scope["path"])
        else:
            direct = None
        if direct is not None:
            scope["app"] = self
            await direct(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _socket_app(endpoint: SocketEndpoint) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await endpoint(WebSocket(scope, receive=receive, send=send))

    return app
