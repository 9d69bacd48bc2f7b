"""The log formatters' times, made once per second, read exactly as logging's own."""

from __future__ import annotations

import logging

from chat_server.web.access_log import JsonFormatter, TextFormatter

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def _record(created: float) -> logging.LogRecord:
    record = logging.LogRecord("sapa.access", logging.INFO, __file__, 1, "GET / 200", None, None)
    record.created = created
    record.msecs = (created - int(created)) * 1000
    return record


def test_text_and_json_times_match_the_standard_formatter() -> None:
    standard = logging.Formatter(FORMAT)
    text, as_json = TextFormatter(FORMAT), JsonFormatter()
    # Within one second, across seconds, back again, and both kinds of time on one formatter.
    for created in (1_765_000_000.004, 1_765_000_000.999, 1_765_000_001.5, 1_765_000_000.25):
        record = _record(created)
        assert text.format(record) == standard.format(record)
        assert text.formatTime(record, "%Y-%m-%dT%H:%M:%S") == standard.formatTime(
            record, "%Y-%m-%dT%H:%M:%S"
        )
        assert text.formatTime(record) == standard.formatTime(record)
        assert as_json.formatTime(record, "%H:%M:%S") == standard.formatTime(record, "%H:%M:%S")
        assert f'"time": "{standard.formatTime(record, "%Y-%m-%dT%H:%M:%S")}"' in (
            as_json.format(record)
        )
