"""A lean widget client for connect bursts: raw HTTP/1.1 and RFC 6455 over asyncio streams.

httpx and the websockets client cost the load generator 3.6 ms of CPU per relay connection
and 6.7 ms per Sapa connection (httpcore's pool scans its connections on every request and
asks `sniffio` for the async library each time), against 1.2 and 2.5 ms on the servers: with
one core each, the burst measured the client. This client does the same exchange (a session
request, the upgrade, the hello and its welcome) with one `write` and a few `read`s each, so
the server's core is the limit and both servers get the identical client.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os

MAX_HEAD = 64 * 1024


class RawError(RuntimeError):
    """The server answered something this client does not expect."""


async def _head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """The status and (lower-cased) headers of one response."""
    raw = await reader.readuntil(b"\r\n\r\n")
    if len(raw) > MAX_HEAD:
        raise RawError("response head too long")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return status, headers


class SessionLine:
    """One kept-alive HTTP connection that asks for widget sessions, one after another.

    The bare relay (websockets) closes after any plain HTTP answer, so for it each request
    opens a connection of its own and says `Connection: close`, as the httpx client did.
    """

    def __init__(self, host: str, port: int, origin: str, relay: bool) -> None:
        self.host, self.port, self.origin, self.relay = host, port, origin, relay
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def token(self, site_key: str) -> str:
        if self.relay:
            request = (
                f"GET /api/widget/session?site_key={site_key} HTTP/1.1\r\n"
                f"Host: {self.host}:{self.port}\r\nConnection: close\r\n\r\n"
            ).encode()
        else:
            body = json.dumps({"site_key": site_key}).encode()
            request = (
                f"POST /api/widget/session HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Origin: {self.origin}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body
        if self._streams is None or self.relay:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        writer.write(request)
        status, headers = await _head(reader)
        if "content-length" in headers:
            payload = await reader.readexactly(int(headers["content-length"]))
        else:
            payload = await reader.read()
        if self.relay or headers.get("connection", "").lower() == "close":
            writer.close()
            self._streams = None
        if status != 200:
            raise RawError(f"session: HTTP {status}: {payload[:200]!r}")
        token = json.loads(payload)["token"]
        assert isinstance(token, str)
        return token

    async def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


def _masked_text(text: str) -> bytes:
    """A client's text frame (clients must mask; RFC 6455 5.3)."""
    data = text.encode()
    mask = os.urandom(4)
    if len(data) < 126:
        head = bytes((0x81, 0x80 | len(data)))
    elif len(data) < 65536:
        head = bytes((0x81, 0x80 | 126)) + len(data).to_bytes(2, "big")
    else:
        head = bytes((0x81, 0x80 | 127)) + len(data).to_bytes(8, "big")
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return head + mask + masked


async def _frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """(opcode, payload) of the server's next frame (servers never mask)."""
    first, second = await reader.readexactly(2)
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await reader.readexactly(8), "big")
    return first & 0x0F, await reader.readexactly(length)


class RawWidget:
    """An open widget socket that said hello and got its welcome; held idle until closed."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer

    async def close(self) -> None:
        # A close frame (code 1000), then the socket: the server's side ends as a browser's.
        self.writer.write(bytes((0x88, 0x82)) + b"\0\0\0\0" + (1000).to_bytes(2, "big"))
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass


async def open_widget(host: str, port: int, path: str, origin: str, token: str) -> RawWidget:
    """Upgrade, send the hello, read frames until the welcome."""
    reader, writer = await asyncio.open_connection(host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {origin}\r\n\r\n"
        ).encode()
    )
    status, _ = await _head(reader)
    if status != 101:
        raise RawError(f"upgrade: HTTP {status}")
    # After the 101, as a browser does (bytes sent with the request would reach the server
    # before its socket is a WebSocket).
    writer.write(_masked_text(json.dumps({"type": "hello", "token": token})))
    while True:
        opcode, payload = await _frame(reader)
        if opcode == 0x8:
            raise RawError(f"closed before the welcome: {payload[2:]!r}")
        if opcode == 0x1 and b'"welcome"' in payload:
            return RawWidget(writer)
