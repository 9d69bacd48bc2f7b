"""`sapa db copy`: every table moves, the copy is verified, and the copy serves as before."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from chat_server.config import Settings
from chat_server.domain.identity import user_hash
from chat_server.services import db_copy
from chat_server.services.storage import open_store
from chat_server.store import copy as copy_store
from chat_server.store.migrations import migrate
from tests.conftest import free_port, timeout
from tests.pg_server import PgServer
from tests.server.conftest import Env, SiteFixture, run_server, seed
from tests.server.test_faq import ENTRIES


def sapa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chat_server", *args], capture_output=True, text=True
    )


def schema_tables(path: Path) -> dict[str, list[str]]:
    """Every table of a freshly migrated SQLite file, with the tables it references."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        migrate(conn)
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'sqlite_sequence'"
            )
            if r[0] not in copy_store.DERIVED_TABLES
        ]
        return {
            n: [r[2] for r in conn.execute("SELECT * FROM pragma_foreign_key_list(?)", (n,))]
            for n in names
        }
    finally:
        conn.close()


def test_the_copy_knows_every_table_of_the_schema_in_foreign_key_order(tmp_path: Path) -> None:
    schema = schema_tables(tmp_path / "schema.db")
    # A table added by a migration must be added to the copy (and to this order) too.
    assert sorted(copy_store.TABLES) == sorted(schema)
    for position, name in enumerate(copy_store.TABLES):
        for referenced in schema[name]:
            assert copy_store.TABLES.index(referenced) < position, (name, referenced)


# -- an installation populated through the real API ---------------------------------------


@dataclass
class Installation:
    """What the tests need to ask the copy the same questions: ids, tokens, cookies."""

    sites: dict[str, SiteFixture]
    rooms: list[str] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    faq: list[str] = field(default_factory=list)
    widget_token: str = ""
    agent_cookie: dict[str, str] = field(default_factory=dict)


def api(inst: Installation, site: str = "a") -> dict[str, str]:
    return {"authorization": f"Bearer {inst.sites[site].creds.api_token}"}


async def populate(env: Env) -> Installation:
    assert env.http is not None
    http, inst = env.http, Installation(env.sites)
    site = env.sites["a"]
    # FAQ: entries in categories, a manual phrasing, a draft.
    for entry in ENTRIES:
        created = await http.post("/api/v1/faq", json=entry, headers=api(inst))
        assert created.status_code == 201, created.text
        inst.faq.append(created.json()["id"])
    phrasing = await http.post(
        f"/api/v1/faq/{inst.faq[0]}/phrasings", json={"text": "ongkir medan"}, headers=api(inst)
    )
    assert phrasing.is_success, phrasing.text
    # Customers the shop pushes in: profile, attributes, tags, consent, orders, a note.
    for n, (name, total) in enumerate((("Budi Santoso", 250_000), ("Citra 100%", 1_250_000.5))):
        external = f"cus-{n}"
        made = await http.put(
            f"/api/v1/customers/by-external-id/{external}",
            json={
                "name": name,
                "email": f"c{n}@example.test",
                "attributes": {"kota": "Medan", "level": str(n)},
                "tags": ["vip", f"t{n}"],
                "consent": {"marketing": n == 0, "source": "checkout"},
            },
            headers=api(inst),
        )
        assert made.is_success, made.text
        inst.customers.append(made.json()["id"])
        for k in range(2):
            order = {
                "order_id": f"o-{n}-{k}",
                "total": total + k,
                "currency": "IDR",
                "items": [{"sku": "s1", "name": "Kaos", "quantity": 2, "price": 125_000}],
                "placed_at": f"2026-0{k + 1}-1{n}T08:00:00Z",
            }
            placed = await http.post(
                f"/api/v1/customers/by-external-id/{external}/orders", json=order, headers=api(inst)
            )
            assert placed.status_code == 201, placed.text
    note = await http.post(
        f"/api/v1/customers/{inst.customers[0]}/notes",
        json={"body": "Suka kaos"},
        headers=api(inst),
    )
    assert note.is_success, note.text
    # A conversation: the shopper writes, identifies, an agent answers, notes, resolves;
    # the shopper votes on a suggestion and rates.
    agent, _, cookie, _ = await env.agent(site.agent_email)
    inst.agent_cookie = cookie
    widget, session = await env.widget("a")
    inst.widget_token = session["token"]
    sent = await widget.request("send", client_msg_id="m1", body="ongkir ke medan berapa?")
    room_id, message_id = sent["message"]["room_id"], sent["message"]["id"]
    inst.rooms.append(room_id)
    # Suggestions are ranked and recorded after the ack: the snapshot must not race them.
    await agent.event("suggestions", for_message_id=message_id)
    identified = await http.post(
        "/api/widget/identify",
        json={"external_id": "cus-0", "user_hash": user_hash(site.creds.identity_secret, "cus-0")},
        headers={"authorization": f"Bearer {inst.widget_token}", "origin": site.origin},
    )
    assert identified.is_success, identified.text
    await widget.close()
    widget, _ = await env.widget("a", token=inst.widget_token)
    await widget.request(
        "faq_feedback", faq_id=inst.faq[0], helpful=True, for_message_id=message_id
    )
    for cmid, body, kind in (("a1", "Rp25.000 kak", "text"), ("a2", "pelanggan lama", "note")):
        ack = await agent.request("send", room_id=room_id, client_msg_id=cmid, body=body, kind=kind)
        assert ack["type"] == "ack", ack
    await widget.request("read", room_id=room_id, seq=3)
    await agent.request("read", room_id=room_id, seq=3)
    await agent.request("resolve", room_id=room_id)
    rated = await widget.request("rate", room_id=room_id, score=5, comment="mantap")
    assert rated["type"] == "ack", rated
    # Public rooms: a named visitor asks, staff answer; a second room with slow mode.
    rooms = (await http.get("/api/v1/rooms?kind=public", headers=api(inst))).json()["items"]
    public = rooms[0]["id"]
    inst.rooms.append(public)
    visitor, _ = await env.widget("a")
    assert (await visitor.request("profile", name="Dewi"))["type"] == "ack"
    assert (await visitor.request("join", room_id=public))["type"] == "ack"
    asked = await visitor.request("send", room_id=public, client_msg_id="p1", body="COD bisa?")
    answer = await agent.request(
        "send", room_id=public, client_msg_id="p2", body="Bisa", reply_to=asked["message"]["id"]
    )
    assert answer["type"] == "ack", answer
    await agent.event("suggestions", for_message_id=asked["message"]["id"])
    second = await http.post("/api/v1/rooms", json={"name": "Promo"}, headers=api(inst))
    inst.rooms.append(second.json()["id"])
    await http.patch(
        f"/api/v1/rooms/{inst.rooms[-1]}", json={"slow_mode_seconds": 30}, headers=api(inst)
    )
    # Site settings, and the other site's own data.
    await http.put("/api/v1/site", json={"greeting": "Halo dari Toko A"}, headers=api(inst))
    other, _ = await env.widget("b")
    await other.request("send", client_msg_id="b1", body="halo toko b")
    for client in (agent, widget, visitor, other):
        await client.close()
    return inst


async def snapshot(env: Env, inst: Installation) -> dict[str, Any]:
    """Every list and record endpoint's JSON, as the shop's API token and an agent see it."""
    assert env.http is not None
    paths = [
        "/api/v1/rooms",
        "/api/v1/rooms?kind=public",
        "/api/v1/rooms?kind=private&status=resolved",
        "/api/v1/agents",
        "/api/v1/customers",
        "/api/v1/customers?q=100%25",
        "/api/v1/customers?tag=vip",
        "/api/v1/customers?attr=kota:Medan",
        "/api/v1/faq",
        "/api/v1/faq/categories",
        "/api/v1/faq/export",
        "/api/v1/reports/summary?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z",
        "/api/v1/site",
        "/api/v1/site/install",
    ]
    for room in inst.rooms:
        paths += [
            f"/api/v1/rooms/{room}",
            f"/api/v1/rooms/{room}/messages",
            f"/api/v1/rooms/{room}/activity",
        ]
    for customer in inst.customers:
        paths += [
            f"/api/v1/customers/{customer}",
            f"/api/v1/customers/{customer}/timeline",
            f"/api/v1/customers/{customer}/export",
        ]
    paths += [f"/api/v1/faq/{entry}" for entry in inst.faq]
    out: dict[str, Any] = {}
    for site in ("a", "b"):
        for path in paths:
            answer = await env.http.get(path, headers=api(inst, site))
            body = answer.json() if answer.status_code != 500 else answer.text
            if isinstance(body, dict) and "exported_at" in body:
                body.pop("exported_at")
            out[f"{site} {path}"] = (answer.status_code, body)
    # The agent's console session and the shopper's widget token still work on the copy.
    for path in ("/api/v1/rooms", f"/api/v1/customers/{inst.customers[0]}"):
        answer = await env.http.get(path, headers=inst.agent_cookie)
        out[f"agent {path}"] = (answer.status_code, answer.json() if answer.is_success else None)
    widget, welcome = await env.widget("a", token=inst.widget_token)
    history = await widget.request("sync", room_id=inst.rooms[0], after_seq=0)
    await widget.close()
    out["widget welcome"] = {k: v for k, v in welcome.items() if k not in ("connection_id",)}
    out["widget sync"] = history
    help_index = await env.http.get(f"/help/{inst.sites['a'].creds.site_key}")
    out["help"] = (help_index.status_code, help_index.text)
    # Links name the server, and the copy runs on another port.
    return dict(json.loads(json.dumps(out).replace(env.url, "http://SAPA")))


@asynccontextmanager
async def serving(db: str, sites: dict[str, SiteFixture], **extra: Any) -> AsyncIterator[Env]:
    settings = Settings(
        db_path=db,
        port=free_port(),
        hello_timeout=timeout(1.5),
        session_rate_per_address=100_000,
        room_posts_per_address=0,
        room_new_identity_posts=0,
        **extra,
    )
    async with aclosing(run_server(settings)) as server:
        url = await anext(server)
        async with httpx.AsyncClient(base_url=url) as http:
            env = Env(url, settings, sites, http)
            try:
                yield env
            finally:
                await env.close_sockets()


@dataclass
class Populated:
    path: Path
    inst: Installation
    before: dict[str, Any]


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Populated:
    """One installation, populated once (argon2 and the server are slow) and left untouched."""
    path = tmp_path_factory.mktemp("populated") / "sapa.db"

    async def build() -> Populated:
        sites = await seed(str(path))
        async with serving(str(path), sites) as env:
            inst = await populate(env)
            before = await snapshot(env, inst)
        return Populated(path, inst, before)

    return asyncio.run(build())


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "copy.db")
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = f"copy_{free_port()}"
    yield server.create_database(name)
    server.drop_database(name)


def copied(populated: Populated, tmp_path: Path, target: str) -> subprocess.CompletedProcess[str]:
    # The source is copied first: the copy opens (and may migrate) it, and other tests share it.
    source = tmp_path / "source.db"
    with sqlite3.connect(populated.path) as src, sqlite3.connect(source) as dst:
        src.backup(dst)
    return sapa("db", "copy", "--from", str(source), "--to", target)


async def test_a_copy_answers_every_list_and_record_endpoint_as_before(
    populated: Populated, tmp_path: Path, target: str
) -> None:
    done = copied(populated, tmp_path, target)
    assert done.returncode == 0, done.stderr
    assert "copying messages: " in done.stderr and "MISMATCH" not in done.stderr
    async with serving(target, populated.inst.sites) as env:
        after = await snapshot(env, populated.inst)
        assert after.keys() == populated.before.keys()
        differ = [key for key, value in populated.before.items() if after[key] != value]
        assert differ == [], [(k, populated.before[k], after[k]) for k in differ]
        # Ids handed out after the copy continue past the copied ones: new rows still fit.
        widget, _ = await env.widget("a", token=populated.inst.widget_token)
        sent = await widget.request("send", client_msg_id="after", body="ongkir ke medan?")
        assert sent["type"] == "ack" and sent["message"]["seq"] > 4, sent
        voted = await widget.request(
            "faq_feedback",
            faq_id=populated.inst.faq[0],
            helpful=False,
            for_message_id=sent["message"]["id"],
        )
        assert voted["type"] == "ack", voted
        await widget.close()


def test_refuses_a_target_that_is_not_empty(
    populated: Populated, tmp_path: Path, target: str
) -> None:
    first = copied(populated, tmp_path, target)
    assert first.returncode == 0, first.stderr
    again = copied(populated, tmp_path, target)
    assert again.returncode != 0
    assert "the target database is not empty (meta has rows)" in again.stderr
    assert "copying" not in again.stderr


async def test_counts_and_checksums_are_verified(
    populated: Populated, tmp_path: Path, target: str
) -> None:
    done = copied(populated, tmp_path, target)
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stderr.splitlines() if line.startswith("  ")]
    assert [line[0].rstrip(":") for line in lines] == list(copy_store.TABLES)
    assert all(line[-1] == "ok" for line in lines)
    with sqlite3.connect(populated.path) as conn:
        counts = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in copy_store.TABLES
        }
    assert {line[0].rstrip(":"): int(line[1]) for line in lines} == counts
    assert counts["messages"] > 5 and counts["faq_events"] > 0 and counts["orders"] == 4
    # Id counters continue after the copied rows (a PostgreSQL identity, SQLite AUTOINCREMENT).
    copy = await open_store(target)
    try:
        counters = {c.table: c.value for c in await copy_store.sequences(copy)}
    finally:
        await copy.close()
    assert counters["faq_events"] >= counts["faq_events"] > 0
    assert set(counters) == {"faq_events", "account_changes", "audit_log"}


async def test_a_difference_after_the_copy_is_a_mismatch(
    populated: Populated, tmp_path: Path
) -> None:
    target = tmp_path / "tampered.db"
    assert copied(populated, tmp_path, str(target)).returncode == 0
    with sqlite3.connect(target) as conn:
        conn.execute("UPDATE messages SET body = body || '!' WHERE seq = 1")
        conn.execute("DELETE FROM customer_tags WHERE tag = 't1'")
    source, copy = await open_store(str(tmp_path / "source.db")), await open_store(str(target))
    try:
        tables = await db_copy.tables_to_copy(source, copy)
        report = await db_copy.verify(source, copy, tables, lambda *_: None)
    finally:
        await source.close()
        await copy.close()
    assert not report.ok
    differ = {m.source.table: (m.source.rows, m.target.rows) for m in report.mismatches}
    tags = differ.pop("customer_tags")
    assert tags[0] == tags[1] + 1
    assert list(differ) == ["messages"] and differ["messages"][0] == differ["messages"][1]
