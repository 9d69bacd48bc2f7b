"""The access log's lines made without a LogRecord read exactly as the record's would."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from chat_server.web import access_log
from chat_server.web.access_log import Batched, configure_logging, log_line

TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


def _lines(stream: io.StringIO) -> list[str]:
    logging.getLogger("sapa.access").handlers[0].flush()
    return stream.getvalue().splitlines()


LOGGERS = ("sapa", "chat_server", "faq", "sapa.access")


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """`configure_logging` sets up process-wide loggers: put them back as they were, or the
    tests that follow in this process log every request at INFO (into pytest's capture)."""
    saved = [
        (logger, list(logger.handlers), logger.level, logger.propagate)
        for logger in map(logging.getLogger, LOGGERS)
    ]
    yield
    for logger, handlers, level, propagate in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def _configure(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> io.StringIO:
    """Sapa's logging as `sapa serve` sets it up, writing to a string (set in the test's
    body: pytest puts its own capture in sys.stderr after the fixtures)."""
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging(env)
    # pytest hangs its own capture on loggers that do not propagate: not in `sapa serve`.
    logger = logging.getLogger("sapa.access")
    ours = [h for h in logger.handlers if isinstance(h, Batched)]
    monkeypatch.setattr(logger, "handlers", ours)
    return stream


@pytest.mark.parametrize("form", ["text", "json"])
def test_a_line_without_a_record_is_the_line_with_one(
    form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stderr = _configure(monkeypatch, {"SAPA_LOG_FORMAT": form})
    handler = logging.getLogger("sapa.access").handlers[0]
    assert isinstance(handler, Batched)
    assert access_log._sole_handler() is handler  # the direct path is the one taken
    log_line("POST", "/api/widget/session", 200, 0.0)
    log_line("WS", "/ws/widget", 101, 0.0, event="close", code=4401)
    direct = _lines(stderr)
    stderr.seek(0)
    stderr.truncate()
    monkeypatch.setattr(access_log, "_sole_handler", lambda: None)  # the LogRecord path
    log_line("POST", "/api/widget/session", 200, 0.0)
    log_line("WS", "/ws/widget", 101, 0.0, event="close", code=4401)
    recorded = _lines(stderr)
    assert len(direct) == len(recorded) == 2

    def without_time_and_ms(line: str) -> object:
        if form == "json":
            fields = json.loads(line)
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", fields.pop("time"))
            fields.pop("ms")
            fields["message"] = re.sub(r" [\d.]+ms$", "", fields["message"])
            return fields
        assert TIME.match(line)
        return re.sub(r" [\d.]+ms$", "", TIME.sub("", line))

    assert [without_time_and_ms(x) for x in direct] == [without_time_and_ms(x) for x in recorded]
    if form == "text":
        assert (
            without_time_and_ms(direct[1]) == "INFO sapa.access WS /ws/widget close 101 code=4401"
        )


def test_a_filter_gets_the_record(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = _configure(monkeypatch, {})
    logger = logging.getLogger("sapa.access")
    seen: list[logging.LogRecord] = []

    class Keep(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            seen.append(record)
            return False  # and drops it

    keep = Keep()
    logger.addFilter(keep)
    try:
        assert access_log._sole_handler() is None
        log_line("GET", "/healthz", 200, 0.0)
    finally:
        logger.removeFilter(keep)
    assert [r.getMessage().split(" ")[:3] for r in seen] == [["GET", "/healthz", "200"]]
    assert _lines(stderr) == []  # the filter's word held
