"""Bulk work beside chat: orders scored off the chat path, a locked file, the bulk lane."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chat_server.domain import rfm
from chat_server.store import open_database
from tests.conftest import timeout
from tests.server.conftest import Env
from tests.server.test_crm import api


def days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def customers(env: Env, site: str = "a") -> list[dict[str, Any]]:
    assert env.http is not None
    response = await env.http.get(
        "/api/v1/customers", params={"limit": 200}, headers=api(env, site)
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_a_shops_only_buyer_is_not_lost(env: Env) -> None:
    assert env.http is not None
    for i, age in enumerate((70, 30, 8)):
        pushed = await env.http.post(
            "/api/v1/customers/by-external-id/satu/orders",
            json={"order_id": f"s-{i}", "total": 150_000, "placed_at": days_ago(age)},
            headers=api(env),
        )
        assert pushed.status_code == 201, pushed.text
    (only,) = await customers(env)
    # Quintiles made him the worst fifth of himself: 1/1/1, "lost". Fixed thresholds do not.
    assert only["rfm"] == {
        "r": 5,
        "f": 3,
        "m": 2,
        "segment": "loyal",
        "lifecycle": "repeat",
        "method": "fixed",
    }


async def test_orders_pushed_over_rest_are_scored_off_the_chat_path(env: Env) -> None:
    """Site A pushes orders for 24 buyers while site B chats: every send is acknowledged,
    each buyer is scored at once, and the site's quintiles follow after the debounce."""
    assert env.http is not None
    http = env.http
    plan = {f"b{i:02d}": (1 + i % 4, 3 + 9 * i, 60_000 * (1 + i % 7)) for i in range(24)}

    async def push(external_id: str, count: int, age: int, total: float) -> None:
        for n in range(count):
            pushed = await http.post(
                f"/api/v1/customers/by-external-id/{external_id}/orders",
                json={
                    "order_id": f"{external_id}-{n}",
                    "total": total,
                    "placed_at": days_ago(age + 30 * n),
                },
                headers=api(env),
            )
            assert pushed.status_code == 201, pushed.text

    widget, _ = await env.widget("b")
    answers: list[dict[str, Any]] = []

    async def chat() -> None:
        for n in range(40):
            answers.append(await widget.request("send", client_msg_id=f"m{n}", body=f"halo {n}"))

    await asyncio.gather(chat(), *(push(k, *v) for k, v in plan.items()))
    assert [a["type"] for a in answers] == ["ack"] * 40
    # Each buyer was scored when his orders arrived, against the thresholds known then.
    first = {c["external_id"]: c["rfm"] for c in await customers(env)}
    assert set(first) == set(plan) and all(s["r"] >= 1 for s in first.values())

    now = datetime.now(UTC)
    buyers = [
        rfm.Buyer(k, now - timedelta(days=age), count, total * count)
        for k, (count, age, total) in plan.items()
    ]
    expected = {k: (s.r, s.f, s.m, s.segment) for k, s in rfm.score_all(buyers, now).items()}
    deadline = asyncio.get_running_loop().time() + timeout(20)
    while True:
        scored = {c["external_id"]: c["rfm"] for c in await customers(env)}
        if all(s["method"] == "quintiles" for s in scored.values()):
            break
        assert asyncio.get_running_loop().time() < deadline, scored
        await asyncio.sleep(0.2)
    assert {k: (s["r"], s["f"], s["m"], s["segment"]) for k, s in scored.items()} == expected
    # The re-scoring is done: nothing is left marked for it.
    assert env.sql("SELECT count(*) FROM rfm_dirty")[0][0] == 0


async def test_a_file_locked_by_another_process_delays_writes_and_fails_none(
    tmp_path: Path,
) -> None:
    db = open_database(str(tmp_path / "locked.db"), readers=1)
    await db.open()
    try:
        await db.write(lambda conn: conn.execute("CREATE TABLE t (n INTEGER)"))
        other = sqlite3.connect(str(tmp_path / "locked.db"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        writes = [
            asyncio.ensure_future(
                db.write(lambda conn, n=n: conn.execute("INSERT INTO t VALUES (?)", (n,)))
            )
            for n in range(50)
        ]
        await asyncio.sleep(0.3)
        assert not any(w.done() for w in writes)
        other.execute("COMMIT")
        other.close()
        await asyncio.gather(*writes)
        assert db.busy_retries > 0
        row = await db.fetch_one("SELECT count(*) FROM t")
        assert row is not None and row[0] == 50
    finally:
        await db.close()


async def test_bulk_chunks_run_behind_every_waiting_chat_write(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "lanes.db"), readers=1)
    await db.open()
    order: list[str] = []
    release = threading.Event()

    def blocker(conn: sqlite3.Connection) -> None:
        release.wait(timeout(5))
        order.append("blocker")

    def job(name: str) -> Any:
        return lambda conn: order.append(name)

    try:
        first = asyncio.ensure_future(db.write(blocker))
        await asyncio.sleep(0.05)  # the writer is now inside `blocker`
        queued = [
            asyncio.ensure_future(db.write_bulk(job("bulk 1"))),
            asyncio.ensure_future(db.write(job("chat 1"))),
            asyncio.ensure_future(db.write_bulk(job("bulk 2"))),
            asyncio.ensure_future(db.write(job("chat 2"))),
        ]
        await asyncio.sleep(0.05)
        release.set()
        await asyncio.gather(first, *queued)
        assert order == ["blocker", "chat 1", "chat 2", "bulk 1", "bulk 2"]
        assert db.bulk_chunks == 2
    finally:
        release.set()
        await db.close()


async def test_an_erase_rescores_the_site_after_the_debounce(env: Env) -> None:
    """20 buyers are scored in quintiles; erasing one leaves 19, which fixed thresholds score."""
    assert env.http is not None
    for i in range(20):
        pushed = await env.http.post(
            f"/api/v1/customers/by-external-id/e{i:02d}/orders",
            json={"order_id": f"e{i}", "total": 100_000 + 10_000 * i, "placed_at": days_ago(i)},
            headers=api(env),
        )
        assert pushed.status_code == 201, pushed.text

    async def methods() -> set[str]:
        return {c["rfm"]["method"] for c in await customers(env)}

    async def settle(expected: set[str]) -> None:
        deadline = asyncio.get_running_loop().time() + timeout(20)
        while await methods() != expected:
            assert asyncio.get_running_loop().time() < deadline, await methods()
            await asyncio.sleep(0.2)

    await settle({"quintiles"})
    gone = next(c for c in await customers(env) if c["external_id"] == "e00")
    erased = await env.http.delete(f"/api/v1/customers/{gone['id']}", headers=api(env))
    assert erased.status_code in (200, 204), erased.text
    await settle({"fixed"})
