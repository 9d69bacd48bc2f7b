"""Search over a site's messages, notes and customers; bad input never a 500; erase forgets."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import Env
from tests.server.test_erase import erase, raw_files


def bearer(env: Env, site: str = "a") -> dict[str, str]:
    return {"Authorization": f"Bearer {env.sites[site].creds.api_token}"}


async def search(env: Env, site: str = "a", **params: str) -> list[dict[str, Any]]:
    assert env.http is not None
    response = await env.http.get("/api/v1/search", params=params, headers=bearer(env, site))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def bodies(items: list[dict[str, Any]]) -> list[str]:
    return [i["message"]["body"] for i in items if i["type"] == "message"]


async def test_messages_notes_and_customers_are_found_within_the_site(env: Env) -> None:
    widget, welcome = await env.widget("a")
    sent = await widget.request(
        "send", client_msg_id="m1", body="Paket kiriman Zanzibar belum tiba"
    )
    room_id = sent["message"]["room_id"]
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    await agent.request(
        "send", room_id=room_id, client_msg_id="n1", body="Cek resi zanzibar dulu", kind="note"
    )
    other, _ = await env.widget("b")
    await other.request("send", client_msg_id="m1", body="Zanzibar di toko lain")

    found = await search(env, q="zanzibar")
    assert sorted(bodies(found)) == ["Cek resi zanzibar dulu", "Paket kiriman Zanzibar belum tiba"]
    hit = next(i for i in found if i["type"] == "message")
    assert hit["room_id"] == room_id and hit["room_status"] == "queued"
    assert hit["customer"]["id"] == welcome["customer_id"]
    # The start of a word finds it; every word must be there.
    assert len(bodies(await search(env, q="zanz"))) == 2
    assert bodies(await search(env, q="zanzibar tiba")) == ["Paket kiriman Zanzibar belum tiba"]
    assert bodies(await search(env, q="zanzibar mars")) == []
    # Filters narrow it; the other site sees only its own.
    assert bodies(await search(env, q="zanzibar", status="resolved")) == []
    assert len(bodies(await search(env, q="zanzibar", assignee="none"))) == 2
    assert bodies(await search(env, q="zanzibar", to="2000-01-01")) == []
    assert len(bodies(await search(env, q="zanzibar", **{"from": "2000-01-01"}))) == 2
    assert bodies(await search(env, "b", q="zanzibar")) == ["Zanzibar di toko lain"]

    assert env.http is not None
    named = await env.http.put(
        "/api/v1/customers/by-external-id/cust-search",
        json={"name": "Yohana Kartika", "email": "yohana@example.test"},
        headers=bearer(env),
    )
    assert named.status_code == 200, named.text
    people = [i for i in await search(env, q="yohana") if i["type"] == "customer"]
    assert [p["customer"]["email"] for p in people] == ["yohana@example.test"]
    assert [i for i in await search(env, "b", q="yohana") if i["type"] == "customer"] == []


async def test_search_syntax_and_absurd_text_are_only_words(env: Env) -> None:
    assert env.http is not None
    widget, _ = await env.widget("a")
    await widget.request("send", client_msg_id="m1", body='kode "promo" NEAR hemat*')
    for q in (
        '"',
        '"unbalanced',
        "*",
        "NEAR(a b)",
        "promo OR",
        "AND",
        "a:b",
        "-promo",
        "^promo",
        "promo)",
        "'; DROP TABLE messages; --",
        "x" * 10_000,
        "kata " * 2_000,
        "\u0000",
        "🙂",
        "",
    ):
        response = await env.http.get("/api/v1/search", params={"q": q}, headers=bearer(env))
        assert response.status_code == 200, (q[:40], response.text)
    assert bodies(await search(env, q='"promo" NEAR')) == ['kode "promo" NEAR hemat*']
    for bad in ({"status": "open"}, {"from": "kemarin"}, {"to": "2026-13-45"}):
        response = await env.http.get(
            "/api/v1/search", params={"q": "promo", **bad}, headers=bearer(env)
        )
        assert response.status_code == 400, (bad, response.text)


async def test_an_erased_customers_words_leave_the_search_and_the_file(env: Env) -> None:
    widget, welcome = await env.widget("a")
    secret = "Quixotically7 alamatku jalan Kenanga"
    await widget.request("send", client_msg_id="m1", body=secret)
    assert bodies(await search(env, q="quixotically7")) == [secret]
    await erase(env, welcome["customer_id"])
    assert bodies(await search(env, q="quixotically7")) == []
    assert bodies(await search(env, q="kenanga")) == []
    # Not in the index's pages either (SQLite; PostgreSQL leaves dead entries to VACUUM).
    assert b"quixotically7" not in raw_files(env).lower()


async def test_messages_come_most_relevant_first_then_newest(env: Env) -> None:
    widget, _ = await env.widget("a")
    for i, body in enumerate(
        [
            "tolong proses refund pesanan saya yang kemarin sudah dibayar lunas ya kak",
            "refund refund",
            "refund dong",
            "refund dong",
        ]
    ):
        await widget.request("send", client_msg_id=f"m{i}", body=body)
    found = [i for i in await search(env, q="refund") if i["type"] == "message"]
    # Two mentions in two words first; equals newest first; one mention in many words last.
    assert [(i["message"]["body"], i["message"]["seq"]) for i in found] == [
        ("refund refund", 2),
        ("refund dong", 4),
        ("refund dong", 3),
        ("tolong proses refund pesanan saya yang kemarin sudah dibayar lunas ya kak", 1),
    ]
