"""One log line per HTTP request and per WebSocket open and close (pure ASGI middleware).

A line says the method, the path (never the query string: it may carry tokens), the status
(or the socket's close code) and how long it took. No bodies, headers or tokens.
`SAPA_LOG_LEVEL` (default `info`; `warning` silences these lines) and `SAPA_LOG_FORMAT`
(`text` or `json`) set it up; uvicorn's own access log is off so nothing is logged twice.

Request lines are written in batches (`Batched`), at most `Batched.DELAY` after they were
logged and at exit: a write per line cost the event loop more than any other step of a
connect burst (a system call that lets the store's threads take the interpreter, three
lines per widget). Every other log line is written at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from typing import Any, TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("sapa.access")
FIELDS = ("method", "path", "status", "ms", "event", "code")


class _SecondCache(logging.Formatter):
    """`formatTime` with the second's text made once per second and format.

    Three request lines per widget connect: `time.localtime` and `strftime` for each were a
    sixth of a line's cost. The same second always reads the same local time, so the text
    is exactly what `logging.Formatter.formatTime` writes.
    """

    _second: tuple[int, str | None, str] = (-1, None, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return self._time(record.created, record.msecs, datefmt)

    def _time(self, created: float, msecs: float, datefmt: str | None) -> str:
        second, (cached_second, cached_fmt, text) = int(created), self._second
        if second != cached_second or datefmt != cached_fmt:
            text = time.strftime(datefmt or self.default_time_format, self.converter(second))
            self._second = (second, datefmt, text)
        if datefmt or not self.default_msec_format:
            return text
        return self.default_msec_format % (text, msecs)

    def line(self, name: str, message: str, fields: dict[str, Any]) -> str | None:
        """An INFO line of logger `name`, exactly as `format` would write its record, made
        without one (None: this formatter needs the record)."""
        return None


# The text format `configure_logging` sets; `TextFormatter.line` writes only this one.
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def _msecs(created: float) -> float:
    return int((created - int(created)) * 1000) + 0.0  # as logging.LogRecord has it


class TextFormatter(_SecondCache):
    def line(self, name: str, message: str, fields: dict[str, Any]) -> str | None:
        if self._fmt != TEXT_FORMAT:
            return None
        created = time.time()
        return f"{self._time(created, _msecs(created), None)} INFO {name} {message}"


class JsonFormatter(_SecondCache):
    """One JSON object per line, with the request's fields at the top level."""

    TIME = "%Y-%m-%dT%H:%M:%S"

    def format(self, record: logging.LogRecord) -> str:
        fields = {key: getattr(record, key) for key in FIELDS if hasattr(record, key)}
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        time_text = self.formatTime(record, self.TIME)
        return _json(time_text, record.levelname.lower(), record.name, record.getMessage(), fields)

    def line(self, name: str, message: str, fields: dict[str, Any]) -> str | None:
        created = time.time()
        kept = {key: fields[key] for key in FIELDS if key in fields}
        return _json(self._time(created, _msecs(created), self.TIME), "info", name, message, kept)


def _json(time_text: str, level: str, name: str, message: str, fields: dict[str, Any]) -> str:
    out = {"time": time_text, "level": level, "logger": name, "message": message, **fields}
    return json.dumps(out, ensure_ascii=False)


class Batched(logging.StreamHandler[TextIO]):
    """A stream handler that writes its lines a little later, many in one write.

    Called on the event loop thread (the access log runs there), it keeps the formatted
    line and, for the first line of a batch, asks the loop to write them all `DELAY` later.
    Outside a running loop it writes at once. `logging.shutdown` (at exit) flushes what is
    left, so a stopped server's last lines are not lost; a killed one loses at most `DELAY`.
    """

    DELAY = 0.1

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._lines: list[str] = []
        self._due: asyncio.TimerHandle | None = None
        self._due_on: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # logging's rule: a record that cannot be formatted never raises
            self.handleError(record)
            return
        self._keep(line)

    def add(self, line: str) -> None:
        """A line formatted already (`log_line`), written as `emit` writes a record's."""
        self.acquire()
        try:
            self._keep(line)
        finally:
            self.release()

    def _keep(self, line: str) -> None:
        self._lines.append(line)
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if self._due is not None and self._due_on is loop:
            return  # the batch's write is already due on this loop
        if self._due is not None:  # due on a loop that has since stopped (tests run many)
            self._due.cancel()
            self._due = None
        if loop is None:
            self._write()
            return
        self._due, self._due_on = loop.call_later(self.DELAY, self.flush), loop

    def flush(self) -> None:
        self.acquire()
        try:
            if self._due is not None:
                self._due.cancel()
                self._due = None
            self._write()
        finally:
            self.release()

    def _write(self) -> None:
        if self._lines:
            text = "\n".join(self._lines) + "\n"
            self._lines.clear()
            self.stream.write(text)
        super().flush()


def configure_logging(env: dict[str, str] | None = None) -> None:
    """Sapa's loggers write to stderr at SAPA_LOG_LEVEL, as text or JSON (once per process)."""
    env = dict(os.environ) if env is None else env
    level = env.get("SAPA_LOG_LEVEL", "info").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        level = "INFO"
    as_json = env.get("SAPA_LOG_FORMAT", "text").lower() == "json"
    formatter = JsonFormatter() if as_json else TextFormatter(TEXT_FORMAT)
    handler = logging.StreamHandler(sys.stderr)
    batched = Batched(sys.stderr)
    # "faq": the engine says once when its model cannot load.
    for name, each in (
        ("sapa", handler),
        ("chat_server", handler),
        ("faq", handler),
        (log.name, batched),
    ):
        each.setFormatter(formatter)
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, "sapa_handler", False)]:
            old.flush()
            logger.removeHandler(old)
        each.sapa_handler = True  # type: ignore[attr-defined,union-attr]
        logger.addHandler(each)
        logger.setLevel(level)
        logger.propagate = False


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            log_line(scope["method"], scope["path"], status, started)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        started, accepted, code = time.perf_counter(), False, 1006

        async def sending(message: Message) -> None:
            nonlocal accepted, code
            if message["type"] == "websocket.accept":
                accepted = True
                log_line("WS", scope["path"], 101, started, event="open")
            elif message["type"] == "websocket.close":
                code = int(message.get("code", 1000))
            await send(message)

        async def receiving() -> Message:
            nonlocal code
            message = await receive()
            if message["type"] == "websocket.disconnect":
                code = int(message.get("code", 1000))
            return message

        try:
            await self.app(scope, receiving, sending)
        finally:
            # A refused handshake (close before accept) is answered 403 by the server.
            status = 101 if accepted else 403
            log_line("WS", scope["path"], status, started, event="close", code=code)


def log_line(
    method: str, path: str, status: int, started: float, event: str = "", code: int | None = None
) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    ms = round((time.perf_counter() - started) * 1000, 1)
    extra: dict[str, Any] = {"method": method, "path": path, "status": status, "ms": ms}
    text = f"{method} {path} {status} {ms}ms"
    if event:
        extra["event"] = event
        text = f"{method} {path} {event} {status}" + (f" code={code} {ms}ms" if code else "")
    if code is not None:
        extra["code"] = code
    direct = _sole_handler()
    if direct is not None and isinstance(direct.formatter, _SecondCache):
        line = direct.formatter.line(log.name, text, extra)
        if line is not None:
            direct.add(line)
            return
    # As `log.info` would, without looking up the caller's file and line (a walk up the
    # stack per line; no formatter here shows them).
    log.handle(log.makeRecord(log.name, logging.INFO, "", 0, text, (), None, extra=extra))


def _sole_handler() -> Batched | None:
    """The access log's own handler when a record would reach it alone, unfiltered.

    Then `log_line` hands it the formatted line without a LogRecord: making and routing
    one was most of a line's cost, three lines per widget connect (bench/README.md).
    Any other set-up (a test's capture, a filter, propagation) gets the record.
    """
    handlers = log.handlers
    if len(handlers) != 1 or log.filters or log.propagate:
        return None
    handler = handlers[0]
    if type(handler) is not Batched or handler.filters or handler.level > logging.INFO:
        return None
    return handler
