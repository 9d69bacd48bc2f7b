"""Uploads (widget and console) and the signed file links.

A multipart body is parsed as it arrives and its one file part written straight to the
storage's scratch directory, counting bytes: past the site's limit the upload stops
with 413, so memory stays bounded whatever a client sends. Files are served under
`/files/`, a prefix that reads no cookies and can be put on a domain of its own
(`SAPA_FILES_URL`), with headers that keep a browser from running anything in them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from chat_server.domain.access import Viewer
from chat_server.domain.attachments import FileRefused, UploadsThrottled, content_disposition
from chat_server.domain.origins import origin_allowed
from chat_server.errors import ErrorCode, SapaError
from chat_server.services import widget_sessions
from chat_server.web.context import AppContext, context_of
from chat_server.web.rest_auth import authenticate
from chat_server.web.widget_routes import cors

# Room for the multipart envelope (boundaries, part headers) on top of the file itself.
ENVELOPE = 16 * 1024
DRAIN_LIMIT = 64 * 1024 * 1024  # a refused body is read to its end up to this size
MAX_FIELD = 1024  # a form field besides the file (ignored, but bounded)
FILE_HEADERS = {
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; sandbox",
    "cross-origin-resource-policy": "cross-origin",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


class _FilePart:
    """python-multipart callbacks: the one part named `file` into `target`, bounded."""

    def __init__(self, target: Path, limit: int) -> None:
        self.target = target
        self.limit = limit
        self.size = 0
        self.files = 0
        self.filename: str | None = None
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._out: IO[bytes] | None = None
        self._other = 0

    def callbacks(self) -> Any:  # python-multipart's MultipartCallbacks (a TypedDict)
        return {
            "on_part_begin": self._begin,
            "on_header_field": lambda d, s, e: self._grow("_field", d[s:e]),
            "on_header_value": lambda d, s, e: self._grow("_value", d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _grow(self, name: str, data: bytes) -> None:
        value = getattr(self, name) + data
        if len(value) > 4096:
            raise FileRefused("a part header is too long")
        setattr(self, name, value)

    def _begin(self) -> None:
        self._headers, self._other = {}, 0

    def _header_end(self) -> None:
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field = self._value = b""

    def _headers_done(self) -> None:
        kind, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if kind != b"form-data" or b"name" not in options:
            raise FileRefused("each part needs Content-Disposition: form-data with a name")
        if options[b"name"] != b"file":
            return
        self.files += 1
        if self.files > 1:
            raise FileRefused("one file per upload")
        raw = options.get(b"filename", b"")
        try:
            self.filename = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FileRefused("the file name is not UTF-8") from None
        self._out = open(self.target, "wb")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._out is None:
            self._other += end - start
            if self._other > MAX_FIELD:
                raise FileRefused("a form field is too long")
            return
        self.size += end - start
        if self.size > self.limit:
            raise FileRefused(f"the file is over {self.limit:,} bytes", ErrorCode.TOO_LARGE)
        self._out.write(data[start:end])

    def _end(self) -> None:
        self.close()

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


async def receive_file(request: Request, ctx: AppContext, limit: int) -> tuple[Path, str | None]:
    """The request's file part, written to a scratch file; bad or oversized bodies refused."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + ENVELOPE:
        too_big = FileRefused(f"the file is over {limit:,} bytes", ErrorCode.TOO_LARGE)
        if int(declared) <= DRAIN_LIMIT:
            await _drain(request.stream(), 0)
        raise too_big
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary or len(boundary) > 200:
        raise FileRefused("send the file as multipart/form-data in a part named 'file'")
    target = ctx.files.scratch_file()
    part = _FilePart(target, limit)
    stream = request.stream()
    seen = 0
    try:
        parser = MultipartParser(boundary, part.callbacks(), max_size=limit + ENVELOPE)
        async for chunk in stream:
            seen += len(chunk)
            parser.write(chunk)
        parser.finalize()
        if part.files != 1 or part._out is not None:
            raise FileRefused("no complete part named 'file' in the upload")
    except SapaError as exc:
        part.close()
        target.unlink(missing_ok=True)
        if exc.code == ErrorCode.TOO_LARGE:
            await _drain(stream, seen)
        raise
    except Exception as exc:  # the parser's own errors: a malformed body
        part.close()
        target.unlink(missing_ok=True)
        raise FileRefused(f"malformed multipart body ({type(exc).__name__})") from None
    return target, part.filename


async def _drain(stream: AsyncIterator[bytes], seen: int) -> None:
    """Read the rest of a refused body (up to DRAIN_LIMIT) so the client reads our answer.

    A server that answers and closes while a client is still sending makes most clients
    report a broken connection instead of the 413; past DRAIN_LIMIT that is what happens.
    """
    with contextlib.suppress(Exception):
        async for chunk in stream:
            seen += len(chunk)
            if seen > DRAIN_LIMIT:
                return


async def _store_upload(request: Request, viewer: Viewer) -> Response:
    ctx = context_of(request)
    await ctx.files.admit(viewer)
    limit = await ctx.files.max_bytes(viewer.site_id)
    received, name = await receive_file(request, ctx, limit)
    attachment = await ctx.files.upload(viewer, received, name)
    return JSONResponse({"attachment": attachment.describe()}, status_code=201)


def _refusal(exc: SapaError) -> JSONResponse:
    error: dict[str, object] = {**exc.as_dict()}
    headers = {}
    if isinstance(exc, UploadsThrottled):
        # Clients wait this long before trying again (the widget's outbox does).
        error["retry_after"] = exc.retry_after
        headers["retry-after"] = str(exc.retry_after)
    response = JSONResponse({"error": error}, status_code=exc.http_status, headers=headers)
    if exc.code == ErrorCode.TOO_LARGE:
        # The rest of the body is not read: the connection cannot be reused.
        response.headers["connection"] = "close"
    return response


async def widget_upload(request: Request) -> Response:
    origin = request.headers.get("origin")
    if request.method == "OPTIONS":
        return cors(Response(status_code=204), origin)
    try:
        viewer = await _widget_viewer(request, origin)
        return cors(await _store_upload(request, viewer), origin)
    except SapaError as exc:
        return cors(_refusal(exc), origin)


async def _widget_viewer(request: Request, origin: str | None) -> Viewer:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not token or len(token) > 256:
        raise SapaError(ErrorCode.UNAUTHORIZED, "send the widget token as a Bearer token")
    ctx = context_of(request)
    found = await widget_sessions.resume(ctx.db, ctx.tokens, token)
    if found is None:
        raise SapaError(ErrorCode.UNAUTHORIZED, "unknown token")
    site, customer = found
    if origin is not None and not origin_allowed(origin, site.domains):
        raise SapaError(ErrorCode.FORBIDDEN, "origin not allowed for this site")
    return Viewer(site.id, "customer", customer.id, customer.display_name())


async def agent_upload(request: Request) -> Response:
    try:
        viewer = await authenticate(request)
        return await _store_upload(request, viewer)
    except SapaError as exc:
        return _refusal(exc)


async def file_link(request: Request) -> Response:
    ctx = context_of(request)
    query = request.query_params
    found = await ctx.files.download(
        request.path_params["attachment_id"],
        request.path_params["variant"],
        query.get("s", ""),
        query.get("e", ""),
        query.get("sig", ""),
    )
    media = found.content_type
    headers = {
        **FILE_HEADERS,
        "content-disposition": content_disposition(found.name, media),
        "cache-control": f"private, max-age={max(0, found.expires - int(time.time()))}",
    }
    if media == "text/plain":
        media = "text/plain; charset=utf-8"
    if found.path is not None:
        return FileResponse(found.path, media_type=media, headers=headers)
    return StreamingResponse(ctx.files.storage.read(found.key), media_type=media, headers=headers)


UPLOAD_PATHS = ("/api/widget/uploads", "/api/v1/uploads")
routes = [
    Route("/api/widget/uploads", widget_upload, methods=["POST", "OPTIONS"]),
    Route("/api/v1/uploads", agent_upload, methods=["POST"]),
    Route("/files/{attachment_id}/{variant}", file_link, methods=["GET", "HEAD"]),
]
