"""The author index holds public posts only (schema 0022): what a customer wrote is still
found everywhere it is, by the record, a merge and an erase, and no query by author reads
the whole table."""

from __future__ import annotations

import sqlite3
from typing import Any

from chat_server.store import public_rooms as public_store
from chat_server.store.authored import authored, posted_or_in
from chat_server.store.migrations import migrate
from tests.conftest import sqlite_before
from tests.server.conftest import Env
from tests.server.test_crm import api, identify
from tests.server.test_erase import erase, raw_files
from tests.server.test_public_rooms import default_room, post


async def timeline_bodies(env: Env, customer_id: str) -> list[str]:
    assert env.http is not None
    response = await env.http.get(f"/api/v1/customers/{customer_id}/timeline", headers=api(env))
    assert response.status_code == 200, response.text
    return [
        i["message"]["body"]
        for i in response.json()["items"]
        if i["kind"] == "message" and i["message"]["kind"] != "event"
    ]


async def test_a_visitors_words_in_both_kinds_of_room_follow_the_merge_and_go_with_the_erase(
    env: Env,
) -> None:
    assert env.http is not None
    # The known customer already has a conversation: the visitor's is merged into it.
    known_session = await env.widget_session("a")
    await identify(env, "a", known_session["token"], "u-9", name="Kenari Tua")
    known_tab, _ = await env.widget("a", token=known_session["token"])
    await known_tab.request("send", client_msg_id="k", body="pesan lama Merbabu")
    room = await default_room(env)
    widget, welcome = await env.widget("a")
    await widget.request("join", room_id=room)
    posted = await post(widget, room, "p1", "tanya umum Cendrawasih")
    assert posted["type"] == "ack", posted
    await widget.request("send", client_msg_id="d1", body="tanya pribadi Kenanga")
    known_id = (await identify(env, "a", welcome["token"], "u-9")).json()["customer_id"]

    bodies = await timeline_bodies(env, known_id)
    for text in ("pesan lama Merbabu", "tanya umum Cendrawasih", "tanya pribadi Kenanga"):
        assert text in bodies
    # Every message the visitor wrote now names the known customer as its author.
    authors = env.sql(
        "SELECT DISTINCT author_id FROM messages WHERE author_kind = 'customer'"
        " AND body IN ('tanya umum Cendrawasih', 'tanya pribadi Kenanga')"
    )
    assert [tuple(r) for r in authors] == [(known_id,)]

    await erase(env, known_id)
    left = env.sql(
        "SELECT count(*) FROM messages WHERE body LIKE '%Cendrawasih%'"
        " OR body LIKE '%Kenanga%' OR body LIKE '%Merbabu%'"
    )
    assert left[0][0] == 0
    names = env.sql(
        "SELECT DISTINCT author_name FROM messages WHERE author_kind = 'customer'"
        " AND author_id = ?",
        (known_id,),
    )
    assert "Kenari Tua" not in [r[0] for r in names]
    disk = raw_files(env)  # SQLite: the file itself
    for text in (b"Cendrawasih", b"Kenanga", b"Merbabu", b"Kenari Tua"):
        assert text not in disk, text
    await widget.close()
    await known_tab.close()


async def test_slow_mode_and_the_new_identity_count_still_see_the_visitors_posts(
    env: Env,
) -> None:
    room = await default_room(env)
    widget, welcome = await env.widget("a")
    await widget.request("join", room_id=room)
    assert (await post(widget, room, "p1", "halo semua"))["type"] == "ack"
    await widget.request("send", client_msg_id="d1", body="halo admin")
    customer_id = welcome["customer_id"]
    assert env.sql(public_store.PUBLIC_POSTS, (customer_id, 10))[0][0] == 1
    assert len(env.sql(public_store.LAST_POST_AT, (customer_id, room))) == 1
    await widget.close()


def _plan(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> str:
    rows = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return " | ".join(str(r[-1]) for r in rows)


def test_no_query_by_author_reads_the_whole_table() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn)
    ids, rooms = ["cus_a", "cus_b"], ["room_1", "room_2"]
    queries: list[tuple[str, tuple[Any, ...]]] = [
        authored("site", ids, rooms),
        authored("site", ids, []),
        posted_or_in("site", ids, rooms),
        (public_store.PUBLIC_POSTS, ("cus_a", 5)),
        (public_store.LAST_POST_AT, ("cus_a", "room_1")),
    ]
    for sql, params in queries:
        plan = _plan(conn, sql, params)
        assert "SCAN m" not in plan.replace("SCAN messages USING", ""), (sql, plan)
        assert "messages_author" in plan or "room_id" in plan, (sql, plan)


def test_the_migration_marks_the_public_posts_already_stored() -> None:
    conn = sqlite_before("_author_index_public_only.sql")
    conn.execute(
        "INSERT INTO sites (id, name, site_key, identity_secret, api_token_hash, domains,"
        " locale, created_at) VALUES ('s', 's', 'k', '', 'h', '[]', 'id', 't')"
    )
    conn.execute(
        "INSERT INTO customers (id, site_id, created_at, last_seen_at) VALUES ('c', 's', 't', 't')"
    )
    for room, kind, customer in (("r_pub", "public", None), ("r_own", "private", "c")):
        conn.execute(
            "INSERT INTO rooms (id, site_id, kind, status, customer_id, created_at, updated_at)"
            " VALUES (?, 's', ?, 'open', ?, 't', 't')",
            (room, kind, customer),
        )
        conn.execute(
            "INSERT INTO messages (id, site_id, room_id, seq, kind, body, author_kind,"
            " author_id, author_name, created_at) VALUES (?, 's', ?, 1, 'text', 'x',"
            " 'customer', 'c', 'C', 't')",
            ("m_" + room, room),
        )
    migrate(conn)
    marked = conn.execute("SELECT room_id, in_public FROM messages ORDER BY room_id").fetchall()
    assert marked == [("r_own", None), ("r_pub", 1)]
    assert conn.execute(public_store.PUBLIC_POSTS, ("c", 5)).fetchone()[0] == 1
