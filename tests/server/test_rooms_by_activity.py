"""Conversations list newest activity first (schema 0023, 0024): the ones being worked on
are sorted when listed, resolved ones read in order from their own index, and a message
changes no indexed column of its room's (on PostgreSQL, an update in place)."""

from __future__ import annotations

import sqlite3

import psycopg

from chat_server.domain.models import Room
from chat_server.services import admin
from chat_server.store import customers as customer_store
from chat_server.store import open_database
from chat_server.store import rooms as room_store
from chat_server.store.migrations import migrate
from chat_server.store.sql import Tx
from tests.conftest import sqlite_before
from tests.pg_server import PgServer
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
    # No index on rooms names what every message changes (schema 0024).
    for (index,) in conn.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'rooms'"
    ).fetchall():
        columns = {c[2] for c in conn.execute(f"PRAGMA index_xinfo({index})")}
        assert not columns & PER_MESSAGE, index


PER_MESSAGE = {"last_seq", "updated_at"}  # what a message changes on its room


def test_the_migration_keeps_the_resolved_list_in_activity_order() -> None:
    conn = sqlite_before("0024_resolved_list_own_column.sql")
    conn.execute(
        "INSERT INTO sites (id, name, site_key, identity_secret, api_token_hash, domains,"
        " created_at) VALUES ('s', 'Shop', 'k', 'x', 't', '[]', '2026-01-01')"
    )
    for i, (status, at) in enumerate(
        [
            ("resolved", "2026-01-03"),
            ("queued", "2026-01-09"),
            ("resolved", "2026-01-05"),
            ("resolved", "2026-01-04"),
        ]
    ):
        conn.execute(
            "INSERT INTO rooms (id, site_id, kind, status, created_at, updated_at)"
            " VALUES (?, 's', 'private', ?, '2026-01-01', ?)",
            (f"r{i}", status, at),
        )
    migrate(conn)
    sql, params = room_store._rooms_query("s", None, kind="private", status="resolved", limit=9)
    assert [row[0] for row in conn.execute(sql, params)] == ["r2", "r3", "r0"]


async def test_a_message_updates_its_room_in_place_on_postgresql(pg_server: PgServer) -> None:
    """A HOT update: PostgreSQL adds no entry to any index of `rooms` for it, which it
    can only do when no column an index names changes."""
    url = pg_server.create_database("hot_rooms")
    try:
        db = open_database(url)
        await db.open()
        try:
            creds = await admin.create_site(db, "Shop", ["shop.test"])

            def conversation(conn: Tx) -> Room:
                customer_store.activate(conn, creds.site_id, "cust_1")
                return room_store.ensure_private_room(conn, creds.site_id, "cust_1")

            room = await db.write(conversation)
        finally:
            await db.close()
        with psycopg.connect(url) as conn:
            indexed = conn.execute(
                "SELECT DISTINCT a.attname FROM pg_index i JOIN pg_attribute a"
                " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
                " WHERE i.indrelid = 'rooms'::regclass"
            ).fetchall()
            expressions = conn.execute(
                "SELECT coalesce(pg_get_expr(indexprs, indrelid), '')"
                " || coalesce(pg_get_expr(indpred, indrelid), '')"
                " FROM pg_index WHERE indrelid = 'rooms'::regclass"
            ).fetchall()
            assert not {name for (name,) in indexed} & PER_MESSAGE
            assert not any(column in text for (text,) in expressions for column in PER_MESSAGE)
            # The statements a message runs, one room at a time and a group's at once.
            one = room_store._BUMP_KNOWN_SEQ.replace("?", "%s")
            group = room_store._BUMP_ROOMS.replace("?", "%s")
            for i in range(10):
                conn.execute(one, (f"2026-12-07T10:00:{i:02d}Z", room.id))
                conn.execute(group, ([f"2026-12-07T10:01:{i:02d}Z"], [room.id]))
            hot, updated = conn.execute(
                "SELECT pg_stat_get_xact_tuples_hot_updated('rooms'::regclass),"
                " pg_stat_get_xact_tuples_updated('rooms'::regclass)"
            ).fetchone()
            assert (hot, updated) == (20, 20)
    finally:
        pg_server.drop_database("hot_rooms")
