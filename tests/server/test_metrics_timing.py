"""The write batches' commit time and the event loop's lag, as `/metrics` reports them."""

from __future__ import annotations

import asyncio
import time

from tests.server.conftest import Env


async def _histogram(env: Env, name: str) -> dict[str, float]:
    """A histogram's cumulative buckets by bound, with "sum" and "count"."""
    assert env.http is not None
    found: dict[str, float] = {}
    for line in (await env.http.get("/metrics")).text.splitlines():
        if line.startswith(f'{name}_bucket{{le="'):
            found[line.split('"')[1]] = float(line.split()[-1])
        elif line.startswith((f"{name}_sum ", f"{name}_count ")):
            found[line.split()[0].removeprefix(f"{name}_")] = float(line.split()[-1])
    return found


def _consistent(histogram: dict[str, float]) -> None:
    counts = [v for k, v in histogram.items() if k not in ("sum", "count")]
    assert counts == sorted(counts) and counts[-1] == histogram["count"]


async def test_every_batch_commit_is_timed(env: Env) -> None:
    before = await _histogram(env, "sapa_db_commit_seconds")
    widget, _ = await env.widget("a")
    ack = await widget.request("send", client_msg_id="c1", body="halo kak, ongkir ke medan brp?")
    assert ack["type"] == "ack", ack
    after = await _histogram(env, "sapa_db_commit_seconds")
    _consistent(after)
    assert after["count"] >= before.get("count", 0) + 1
    assert after["sum"] > before.get("sum", 0)


async def test_a_blocked_event_loop_shows_as_lag(env: Env) -> None:
    def late(histogram: dict[str, float]) -> float:
        return histogram["count"] - histogram.get("0.25", 0)  # observations over 0.25 s

    await asyncio.sleep(0.25)  # the probe has run a few times
    before = await _histogram(env, "sapa_event_loop_lag_seconds")
    assert before["count"] >= 1
    time.sleep(0.6)  # noqa: ASYNC251 - what a handler that blocks the loop does
    await asyncio.sleep(0.25)  # the probe's overdue timer fires
    after = await _histogram(env, "sapa_event_loop_lag_seconds")
    _consistent(after)
    assert late(after) >= late(before) + 1
