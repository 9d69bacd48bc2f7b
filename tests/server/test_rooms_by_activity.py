"""Conversations list newest activity first (schema 0023): the ones being worked on are
sorted when listed, resolved ones read in order from their own index, and a message moves
no index entry of its room's."""

from __future__ import annotations

import sqlite3

from chat_server.store import rooms as room_store
from chat_server.store.migrations import migrate
from tests.server.conftest import Env


async def test_conversations_list_newest_activity_first_open_or_resolved(env: Env) -> None:
    assert env.http is not None
    site = env.sites["a"]
    token = {"authorization": f"Bearer {site.creds.api_token}"}
    widgets = [(await env.widget("a"))[0] for _ in range(3)]
    rooms = []
    for i, widget in enumerate(widgets):
        ack = await widget.request("send", client_msg_id="first", body=f"pertama {i}")
        rooms.append(ack["message"]["room_id"])
    # Activity now: the middle one, then the first; the last one has been quiet since.
    await widgets[1].request("send", client_msg_id="again", body="lagi")
    await widgets[0].request("send", client_msg_id="again", body="lagi")

    async def listed(query: str) -> list[str]:
        response = await env.http.get("/api/v1/rooms" + query, headers=token)  # type: ignore[union-attr]
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert await listed("?kind=private&status=queued") == [rooms[0], rooms[1], rooms[2]]
    agent, *_ = await env.agent(site.agent_email)
    for room in (rooms[1], rooms[2], rooms[0]):
        ack = await agent.request("resolve", room_id=room)
        assert ack["type"] == "ack", ack
    assert await listed("?kind=private&status=resolved") == [rooms[0], rooms[2], rooms[1]]
    assert await listed("?kind=private&status=queued") == []


def test_the_resolved_list_is_read_in_order_and_the_others_by_status() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn)

    def plan(status: str) -> str:
        sql, params = room_store._rooms_query("s", None, kind="private", status=status, limit=50)
        return " | ".join(r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params))

    resolved = plan("resolved")
    assert "USING INDEX rooms_site_resolved" in resolved and "ORDER BY" not in resolved
    assert "USING INDEX rooms_site (site_id=? AND kind=? AND status=?)" in plan("queued")
    # No index on rooms holds what every message changes.
    for (index,) in conn.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'rooms'"
    ).fetchall():
        columns = [c[2] for c in conn.execute(f"PRAGMA index_info({index})")]
        partial = conn.execute("SELECT sql FROM sqlite_schema WHERE name = ?", (index,)).fetchone()[
            0
        ]
        if "last_seq" in columns or "updated_at" in columns:
            assert partial is not None and "status = 'resolved'" in partial, index
