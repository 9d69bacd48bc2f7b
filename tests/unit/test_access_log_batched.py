"""The access log's lines are written in batches, and none is lost."""

from __future__ import annotations

import asyncio
import io
import logging

from chat_server.web.access_log import Batched


class Recording(io.StringIO):
    """A stream that counts its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("sapa.access", logging.INFO, __file__, 1, message, None, None)


def test_outside_a_running_loop_each_line_is_written_at_once() -> None:
    stream = Recording()
    handler = Batched(stream)
    handler.handle(_record("GET /healthz 200 0.1ms"))
    assert stream.getvalue() == "GET /healthz 200 0.1ms\n"


async def test_lines_logged_on_the_loop_go_out_together_a_moment_later() -> None:
    stream = Recording()
    handler = Batched(stream)
    handler.DELAY = 0.0
    for n in range(3):
        handler.handle(_record(f"line {n}"))
    assert stream.getvalue() == ""  # nothing written while the loop's turn goes on
    for _ in range(3):
        await asyncio.sleep(0)
    assert stream.getvalue() == "line 0\nline 1\nline 2\n"
    assert stream.writes == 1


def test_a_batch_left_by_a_stopped_loop_is_written_by_the_next_line_and_at_exit() -> None:
    stream = Recording()
    handler = Batched(stream)

    async def log(message: str) -> None:
        handler.handle(_record(message))

    asyncio.run(log("first"))  # its loop is gone before the write fell due
    asyncio.run(log("second"))  # a new loop: the old batch must not wait on the dead one
    handler.handle(_record("third"))  # no loop at all
    assert stream.getvalue() == "first\nsecond\nthird\n"
    handler.handle(_record("fourth"))
    handler.flush()  # what logging.shutdown does at exit
    assert stream.getvalue().endswith("fourth\n")
