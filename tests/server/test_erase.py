"""Erasure that is complete: every table, every copy of the words, every merged record, the file."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import websockets

from chat_server.services import faq as faq_service
from chat_server.store import crm as crm_store
from chat_server.store.migrations import migrate
from tests.conftest import timeout
from tests.server.conftest import Env, WsClient
from tests.server.test_crm import api, identify
from tests.server.test_privacy import hello_refused, record
from tests.server.test_public_rooms import default_room, post, visitor


def raw_files(env: Env) -> bytes:
    """The database file and its WAL, as bytes on disk (SQLite; nothing on PostgreSQL).

    PostgreSQL leaves deleted rows to VACUUM and its WAL to checkpoints and archiving
    (docs/operations.md); what the API and queries show is checked on both backends.
    """
    if env.backend != "sqlite":
        return b""
    folder = Path(env.app_settings.db_path).parent
    return b"".join(p.read_bytes() for p in sorted(folder.glob("sapa.db*")) if p.is_file())


def sql(env: Env, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in env.sql(statement, params)]


async def erase(env: Env, customer_id: str) -> None:
    assert env.http is not None
    response = await env.http.delete(f"/api/v1/customers/{customer_id}", headers=api(env))
    assert response.status_code == 200, response.text


async def faq_entry(env: Env, question: str, answer: str) -> dict[str, Any]:
    assert env.http is not None
    created = await env.http.post(
        "/api/v1/faq", json={"question": question, "answer": answer}, headers=api(env)
    )
    assert created.status_code == 201, created.text
    entry: dict[str, Any] = created.json()
    return entry


async def suggest(env: Env, q: str) -> list[dict[str, Any]]:
    assert env.http is not None
    found = await env.http.get("/api/v1/faq/suggest", params={"q": q}, headers=api(env))
    items: list[dict[str, Any]] = found.json()["items"]
    return items


# -- learnt phrasings, the engine, drafts ---------------------------------------------------


async def test_learnt_phrasings_go_however_they_were_stored_and_the_engine_forgets(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server runs in this process: let learnt phrasings reach the engine at once rather
    # than in the production batches (every 30 s).
    monkeypatch.setattr(faq_service, "LEARNT_REBUILD_INTERVAL", 0.0)
    assert env.http is not None
    entry = await faq_entry(env, "Berapa ongkos kirim?", "Mulai Rp10.000 ke seluruh Indonesia.")
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    widget, welcome = await env.widget("a")
    words = {
        "zumbarax": "kak  zumbarax   ongkirnya brp",  # runs of spaces
        "qilovent": "kak\nqilovent ongkir\nberapa",  # newlines
        "plimtorg": "plimtorg ongkir berapa",
    }
    for n, body in enumerate(words.values()):
        sent = await widget.request("send", client_msg_id=f"q{n}", body=body)
        await agent.request(
            "send",
            room_id=sent["message"]["room_id"],
            client_msg_id=f"r{n}",
            body=entry["answer"],
            faq_id=entry["id"],
            for_message_id=sent["message"]["id"],
        )
    # A phrasing learnt before sources were recorded (an older server): found by its text.
    sql(
        env,
        "INSERT INTO faq_phrasings (id, faq_id, site_id, text, source, created_at)"
        " VALUES ('phr_legacy', ?, ?, ?, 'learnt', '2026-01-01T00:00:00.000Z')",
        (entry["id"], env.sites["a"].creds.site_id, "kak zumbarax ongkirnya brp legacy"),
    )
    legacy = await widget.request(
        "send", client_msg_id="q9", body="kak   zumbarax ongkirnya brp  legacy"
    )
    assert legacy["type"] == "ack"
    learnt = (await env.http.get(f"/api/v1/faq/{entry['id']}", headers=api(env))).json()
    assert len([p for p in learnt["phrasings"] if p["source"] == "learnt"]) == 4
    for word in words:
        assert (await suggest(env, word))[0]["matched_terms"], word
    # A long message (over 200 characters) is never learnt at all, so never cut either.
    long_one = await widget.request(
        "send", client_msg_id="q10", body="fraxobel ongkir " + "panjang sekali " * 40
    )
    await agent.request(
        "send",
        room_id=long_one["message"]["room_id"],
        client_msg_id="r10",
        body=entry["answer"],
        faq_id=entry["id"],
        for_message_id=long_one["message"]["id"],
    )
    still = (await env.http.get(f"/api/v1/faq/{entry['id']}", headers=api(env))).json()
    assert not any("fraxobel" in p["text"] for p in still["phrasings"])

    await erase(env, welcome["customer_id"])
    after = (await env.http.get(f"/api/v1/faq/{entry['id']}", headers=api(env))).json()
    assert after["phrasings"] == []
    for word in words:
        # The running engine was rebuilt: the customer's words match nothing any more.
        assert all(not s["matched_terms"] for s in await suggest(env, word)), word
    disk = raw_files(env)
    for word in words:
        assert word.encode() not in disk, word
    await widget.close()


async def test_a_draft_made_from_an_erased_visitors_question_loses_the_question(
    env: Env,
) -> None:
    assert env.http is not None
    room = await default_room(env)
    ani = await visitor(env, "Ani Wulandari")
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    question = (await post(ani, room, "c1", "Bisa kirim ke Jl. Kenanga 7 Denpasar?"))["message"]
    await post(agent, room, "s1", "Bisa kak, 2-3 hari.", reply_to=question["id"])
    draft = await env.http.post(
        f"/api/v1/rooms/{room}/messages/{question['id']}/faq", headers=api(env)
    )
    assert draft.status_code == 201 and "Kenanga" in draft.json()["question"]
    await erase(env, question["author"]["id"])
    scrubbed = (await env.http.get(f"/api/v1/faq/{draft.json()['id']}", headers=api(env))).json()
    assert "Kenanga" not in scrubbed["question"] and scrubbed["status"] == "draft"
    assert scrubbed["answer"] == "Bisa kak, 2-3 hari."  # the staff's words stay
    disk = raw_files(env)
    assert b"Kenanga" not in disk and b"Wulandari" not in disk
    await ani.close()


# -- merged records ---------------------------------------------------------------------------


async def test_records_merged_in_at_any_depth_are_erased(env: Env) -> None:
    """anonymous -> k1 -> k2: k1 -> k2 was made by servers before identify stopped merging
    known customers into each other; the records are still there and must go too."""
    assert env.http is not None
    widget, welcome = await env.widget("a")
    anonymous = welcome["customer_id"]
    await widget.request("send", client_msg_id="a1", body="pesan anonim Cendrawasih")
    k1 = (
        await identify(
            env, "a", welcome["token"], "k-one", name="Kartika Satu", email="k1@mail.test"
        )
    ).json()["customer_id"]
    k2 = (
        await env.http.put(
            "/api/v1/customers/by-external-id/k-two",
            json={"name": "Kartika Dua", "email": "k2@mail.test"},
            headers=api(env),
        )
    ).json()["id"]
    sql(env, "UPDATE customers SET merged_into = ? WHERE id = ?", (k2, k1))
    await erase(env, k2)
    for customer_id in (k2, k1, anonymous):
        found = await record(env, customer_id)
        assert found["erased"] is True, customer_id
        assert found["name"] is None and found["email"] is None and found["external_id"] is None
    disk = raw_files(env)
    for text in (b"Kartika", b"k1@mail.test", b"k2@mail.test", b"Cendrawasih"):
        assert text not in disk, text
    await widget.close()


# -- open sockets during the erase ------------------------------------------------------------


async def test_open_tabs_are_closed_and_nothing_they_send_outlives_the_erase(env: Env) -> None:
    assert env.http is not None
    session = await env.widget_session("a")
    token, customer_id = session["token"], session["customer_id"]
    named = await env.http.post(
        "/api/widget/prechat",
        json={"name": "Rahasia Namanya"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert named.status_code == 200
    tabs = [(await env.widget("a", token=token))[0] for _ in range(4)]
    started = asyncio.Event()

    async def chatter(tab: int, client: WsClient) -> tuple[int, set[str]]:
        """Send until the socket closes; (close code, the codes of refusals)."""
        refusals: set[str] = set()
        n = 0
        try:
            while True:
                answer = await client.request(
                    "send", client_msg_id=f"t{tab}-{n}", body=f"rahasia tab {tab} nomor {n}"
                )
                if answer["type"] == "error":
                    refusals.add(answer["code"])
                n += 1
                if n == 3:
                    started.set()
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code, refusals

    chatting = [asyncio.create_task(chatter(i, tab)) for i, tab in enumerate(tabs)]
    await asyncio.wait_for(started.wait(), timeout(10))
    await erase(env, customer_id)
    outcomes = await asyncio.wait_for(asyncio.gather(*chatting), timeout(10))
    assert {code for code, _ in outcomes} == {4401}
    assert {code for _, refused in outcomes for code in refused} <= {"unauthorized"}
    assert await hello_refused(env, token) == 4401
    rows = sql(
        env,
        "SELECT body, author_name FROM messages WHERE author_id = ? AND author_kind = 'customer'",
        (customer_id,),
    )
    assert rows and {body for body, _ in rows} == {crm_store.ERASED_BODY}
    assert all("Rahasia" not in name for _, name in rows)
    disk = raw_files(env)
    assert b"rahasia tab" not in disk and b"Rahasia Namanya" not in disk


async def test_the_erased_customers_conversation_leaves_the_queue(env: Env) -> None:
    assert env.http is not None
    agent, _, cookie, _ = await env.agent(env.sites["a"].agent_email)
    widget, welcome = await env.widget("a")
    sent = await widget.request("send", client_msg_id="c1", body="tolong dibantu")
    room_id = sent["message"]["room_id"]
    queued = await env.http.get("/api/v1/rooms", params={"status": "queued"}, headers=cookie)
    assert room_id in [r["id"] for r in queued.json()["items"]]
    await erase(env, welcome["customer_id"])
    update = await agent.event("room", where=lambda f: f["room"]["status"] == "resolved")
    assert update["room"]["id"] == room_id
    queued = await env.http.get("/api/v1/rooms", params={"status": "queued"}, headers=cookie)
    assert room_id not in [r["id"] for r in queued.json()["items"]]


# -- the schema ------------------------------------------------------------------------------

# Columns that may hold free text (a customer's words or details), by what their name says.
TEXT_STEMS = (
    "name",
    "body",
    "text",
    "comment",
    "email",
    "phone",
    "question",
    "answer",
    "value",
    "items",
    "address",
    "content",
    "title",
    "note",
    "message",
    "query",
    "tag",
)


def schema_columns() -> dict[str, list[str]]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn)
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    columns = {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in tables}
    conn.close()
    return columns


def undeclared(columns: dict[str, list[str]]) -> list[str]:
    declared = {**crm_store.ERASE_COVERAGE, **crm_store.NOT_CUSTOMER_DATA}
    missing = []
    for table, names in columns.items():
        for column in names:
            key = f"{table}.{column}"
            refers = column.endswith("customer_id") or column in ("author_id", "reader_id")
            texty = any(stem in column for stem in TEXT_STEMS) and not column.endswith(
                ("_id", "_at", "_hash", "_kind")
            )
            if column == "customer_id" and table not in declared:
                missing.append(table)
            elif (refers or texty) and column != "customer_id" and key not in declared:
                if table not in crm_store.ERASE_DELETES:  # deleted rows take every column
                    missing.append(key)
    return missing


def test_erase_covers_every_table_and_column_that_can_hold_customer_data() -> None:
    columns = schema_columns()
    assert undeclared(columns) == [], (
        "erase does not cover these: handle them in store/crm.py erase and list them in "
        "ERASE_COVERAGE (or in NOT_CUSTOMER_DATA with the reason)"
    )
    # Stale entries are mistakes too (a renamed column no longer covered).
    for key in {**crm_store.ERASE_COVERAGE, **crm_store.NOT_CUSTOMER_DATA}:
        table, _, column = key.partition(".")
        assert table in columns and (not column or column in columns[table]), key


def test_the_schema_check_notices_a_new_table_or_copy() -> None:
    columns = schema_columns()
    assert undeclared({**columns, "wishlists": ["id", "customer_id", "sku"]}) == ["wishlists"]
    assert undeclared({**columns, "surveys": ["id", "room_id", "answer_text"]}) == [
        "surveys.answer_text"
    ]


@pytest.mark.parametrize("table", crm_store.ERASE_DELETES)
def test_tables_erase_deletes_from_are_keyed_by_customer(table: str) -> None:
    assert "customer_id" in schema_columns()[table]
