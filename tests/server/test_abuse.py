"""Abuse by hostile shoppers: PROTOCOL v1 clients in public rooms, throwaway identities,
repeated ratings and votes, learning from shoppers, look-alike names, wildcards and
loose validation. Real sockets, a real SQLite file."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.server.conftest import Env, WsClient
from tests.server.test_faq import add_entries, owner_token
from tests.server.test_public_rooms import api, default_room, post, visitor

HEX_NAME = re.compile(r"(Pembeli|Shopper) [0-9A-F]{4,}")


async def metric(env: Env, name: str) -> float:
    assert env.http is not None
    text = (await env.http.get("/metrics")).text
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    assert found, name
    return float(found.group(1))


# -- 1. the public contract ---------------------------------------------------------


# Quick posts from fresh visitors: the limits identities share are tested below.
@pytest.mark.settings(room_posts_per_address=0, room_new_identity_posts=0)
async def test_a_v1_client_joins_and_posts_in_a_public_room_without_a_profile(env: Env) -> None:
    """PROTOCOL v1: join, send, sync, typing, read, leave, with nothing but `hello` first."""
    assert env.http is not None
    room = await default_room(env)
    bot, welcome = await env.widget("a")
    joined = await bot.request("join", room_id=room)
    assert joined["type"] == "ack" and joined["room"]["id"] == room
    first = await post(bot, room, "m1", "halo, ada yang jual kaos?")
    assert first["type"] == "ack", first
    author = first["message"]["author"]
    assert author["id"] == welcome["customer_id"] and HEX_NAME.fullmatch(author["name"])
    assert author["name"].startswith("Pembeli ")  # the site speaks Indonesian
    # The generated name is the visitor's display name from now on.
    second = await post(bot, room, "m1", "halo, ada yang jual kaos?")
    assert second["duplicate"] is True and second["message"]["author"] == author
    record = await env.http.get(f"/api/v1/customers/{welcome['customer_id']}", headers=api(env))
    assert record.json()["display_name"] == author["name"]
    synced = await bot.request("sync", room_id=room, after_seq=0)
    assert [m["body"] for m in synced["messages"]] == ["halo, ada yang jual kaos?"]
    assert (await bot.request("typing", room_id=room, active=True))["type"] == "ack"
    # A read mark past the last message is taken as "everything", not refused.
    assert (await bot.request("read", room_id=room, seq=999))["type"] == "ack"
    assert (await bot.request("leave", room_id=room))["type"] == "ack"

    # Another visitor gets another name; a visitor who then chooses one posts under it.
    other = await visitor(env)
    theirs = await post(other, room, "o1", "saya juga cari")
    assert HEX_NAME.fullmatch(theirs["message"]["author"]["name"])
    assert theirs["message"]["author"]["name"] != author["name"]
    assert (await other.request("profile", name="Sinta"))["type"] == "ack"
    named = await post(other, room, "o2", "ukuran L ada?")
    assert named["message"]["author"]["name"] == "Sinta"
    # Nobody may pick a generated name: it would impersonate another visitor.
    assert (await other.request("profile", name=author["name"]))["code"] == "bad_request"


async def test_english_sites_name_their_visitors_shopper(env: Env) -> None:
    assert env.http is not None
    changed = await env.http.put("/api/v1/site", json={"locale": "en"}, headers=api(env, "b"))
    assert changed.status_code == 200
    room = await default_room(env, "b")
    shopper = await visitor(env, site="b")
    ack = await post(shopper, room, "e1", "hello")
    assert ack["message"]["author"]["name"].startswith("Shopper ")


# -- 2. throwaway identities ------------------------------------------------------------


async def burst(clients: list[WsClient], room: str, posts: int) -> list[dict[str, Any]]:
    async def one(i: int, client: WsClient) -> list[dict[str, Any]]:
        return [await post(client, room, f"s{i}-{n}", f"spam {i}.{n}") for n in range(posts)]

    answers = await asyncio.gather(*(one(i, c) for i, c in enumerate(clients)))
    return [a for per_client in answers for a in per_client]


async def test_throwaway_identities_from_one_address_share_one_allowance(env: Env) -> None:
    room = await default_room(env)
    spammers = await asyncio.gather(*(visitor(env) for _ in range(15)))
    answers = await burst(list(spammers), room, 3)
    acked = [a for a in answers if a["type"] == "ack"]
    refused = [a for a in answers if a["type"] == "error"]
    # 45 posts from 15 fresh identities on one address: the address's ten, and barely more.
    assert 10 <= len(acked) <= 11, len(acked)
    assert {a["code"] for a in refused} == {"rate_limited"}
    assert all("wait" in a["message"] for a in refused)
    reader = await visitor(env, join=room)
    synced = await reader.request("sync", room_id=room, after_seq=0)
    assert len(synced["messages"]) == len(acked)


async def test_a_new_identitys_first_posts_are_slowed(env: Env) -> None:
    room = await default_room(env)
    fresh = await visitor(env)
    assert (await post(fresh, room, "f1", "halo"))["type"] == "ack"
    slowed = await post(fresh, room, "f2", "halo lagi")
    assert slowed["code"] == "rate_limited" and "wait 6 s" in slowed["message"]
    # A resend of the stored post still answers it.
    assert (await post(fresh, room, "f1", "halo"))["duplicate"] is True


@pytest.mark.settings(room_posts_per_address=0, room_posts_per_room=5)
async def test_a_room_has_an_allowance_of_its_own(env: Env) -> None:
    room = await default_room(env)
    visitors = await asyncio.gather(*(visitor(env) for _ in range(8)))
    answers = await burst(list(visitors), room, 1)
    assert sum(a["type"] == "ack" for a in answers) == 5
    assert all(a["code"] == "rate_limited" for a in answers if a["type"] == "error")
    # Another room is not held back by this one.
    assert env.http is not None
    created = await env.http.post("/api/v1/rooms", json={"name": "Promo"}, headers=api(env))
    other_room_id = created.json()["id"]
    # One the full room refused (which of the eight it refuses is the writer's order).
    refused = next(v for v, a in zip(visitors, answers, strict=True) if a["type"] == "error")
    assert (await post(refused, other_room_id, "x", "di sini"))["type"] == "ack"


# -- 3. ratings ----------------------------------------------------------------------------


async def csat(env: Env) -> dict[str, Any]:
    assert env.http is not None
    report = await env.http.get("/api/v1/reports/summary", headers=owner_token(env))
    assert report.status_code == 200, report.text
    return dict(report.json()["csat"])


async def test_one_rating_per_resolution_and_a_later_one_replaces_it(env: Env) -> None:
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    shopper, _ = await env.widget("a")
    sent = await shopper.request("send", client_msg_id="q", body="pesanan saya belum sampai")
    room_id = sent["message"]["room_id"]
    early = await shopper.request("rate", room_id=room_id, score=1)
    assert early["code"] == "conflict"
    assert (await agent.request("resolve", room_id=room_id))["type"] == "ack"
    for i in range(40):
        answer = await shopper.request("rate", room_id=room_id, score=1 + i % 5, comment=f"#{i}")
        assert answer["type"] == "ack", answer
    assert await csat(env) == {"average": 5.0, "responses": 1}  # the 40th: score 5
    # A new resolution is rated on its own.
    await shopper.request("send", client_msg_id="q2", body="masih belum sampai")
    assert (await agent.request("resolve", room_id=room_id))["type"] == "ack"
    for score in (2, 1):
        await shopper.request("rate", room_id=room_id, score=score)
    assert await csat(env) == {"average": 3.0, "responses": 2}


# -- 4. learning from shoppers ---------------------------------------------------------------


async def entry(env: Env, faq_id: str) -> dict[str, Any]:
    assert env.http is not None
    return dict((await env.http.get(f"/api/v1/faq/{faq_id}", headers=owner_token(env))).json())


async def ask_and_vote(
    shopper: WsClient, cmid: str, body: str, helpful: bool = True, votes: int = 1
) -> tuple[str, str]:
    sent = await shopper.request("send", client_msg_id=cmid, body=body)
    card = await shopper.event("suggestions", for_message_id=sent["message"]["id"])
    faq_id = card["items"][0]["faq_id"]
    for _ in range(votes):
        ack = await shopper.request(
            "faq_feedback", faq_id=faq_id, helpful=helpful, for_message_id=sent["message"]["id"]
        )
        assert ack["type"] == "ack", ack
    return faq_id, sent["message"]["id"]


# One shopper asks eleven questions back to back, each waiting for its own cards: without a
# burst window (services/bursts.py), as the learning under test does not depend on it.
@pytest.mark.settings(faq_burst_seconds=0)
async def test_learning_from_shoppers_is_bounded_and_never_copies_contact_data(env: Env) -> None:
    created = await add_entries(env)
    shipping = created[0]["id"]
    builds_before = await metric(env, "sapa_faq_engine_builds_total")
    shopper, _ = await env.widget("a")
    with_contact = [
        "ongkir ke medan berapa? cek https://tokoku.example/promo",
        "ongkir ke medan berapa kak, wa 0812-3456-7890",
        "ongkir ke medan berapa? balas ke budi@mail.example ya",
        "ongkir ke medan berapa, lihat tokoku.com/ongkir",
        "ongkir ke medan berapa, dm @budi_shop",
    ]
    for i, body in enumerate(with_contact):
        faq_id, _ = await ask_and_vote(shopper, f"c{i}", body)
        assert faq_id == shipping
    assert [p for p in (await entry(env, shipping))["phrasings"] if p["source"] == "learnt"] == []
    # Plain questions are learnt, up to three from one shopper in an hour.
    plain = [
        "biaya kirim ke kota medan berapa",
        "ongkos kirim ke medan brp kak",
        "kirim ke medan ongkirnya berapa",
        "ongkir sampai medan berapa ya",
        "ke medan ongkos kirimnya berapa",
    ]
    for i, body in enumerate(plain):
        await ask_and_vote(shopper, f"p{i}", body, votes=3)
    learnt = [p["text"] for p in (await entry(env, shipping))["phrasings"]]
    assert learnt == plain[:3]
    # Another shopper still teaches.
    other, _ = await env.widget("a")
    await ask_and_vote(other, "o1", "ongkir ke medan brp gan")
    assert len((await entry(env, shipping))["phrasings"]) == 4
    # Learning came in a burst: the running engine was not rebuilt for each phrasing.
    assert await metric(env, "sapa_faq_engine_builds_total") - builds_before <= 1


async def test_a_shoppers_repeated_votes_count_once(env: Env) -> None:
    await add_entries(env)

    async def votes() -> tuple[int, int]:
        assert env.http is not None
        report = await env.http.get("/api/v1/reports/summary", headers=owner_token(env))
        faq = report.json()["faq"]
        return faq["helpful"], faq["not_helpful"]

    shopper, _ = await env.widget("a")
    faq_id, message_id = await ask_and_vote(
        shopper, "n1", "ongkir ke medan berapa", helpful=False, votes=40
    )
    assert await votes() == (0, 1)
    # A change of mind replaces the vote.
    again = await shopper.request(
        "faq_feedback", faq_id=faq_id, helpful=True, for_message_id=message_id
    )
    assert again["type"] == "ack"
    assert await votes() == (1, 0)
    # Another shopper's vote is their own.
    other, _ = await env.widget("a")
    await ask_and_vote(other, "m1", "ongkir ke medan berapa ya", helpful=False, votes=5)
    assert await votes() == (1, 1)


# -- 5. look-alike names ----------------------------------------------------------------------


async def test_names_that_look_like_staff_are_refused_and_ordinary_ones_pass(env: Env) -> None:
    assert env.http is not None
    # The shop is called Rina: its name is protected like its agents' names.
    assert (await env.http.put("/api/v1/site", json={"name": "Rina"}, headers=api(env))).is_success
    shopper, _ = await env.widget("a")
    look_alikes = ["𝐑𝐢𝐧𝐚", "ʀɪɴᴀ", "ᴀᴅᴍɪɴ", "ADMlN", "Adrnin", "Rlna", "Ꭱina", "ꓣina", "0fficia1"]
    for name in [*look_alikes, "ꜱᴜᴘᴘᴏʀᴛ"]:
        answer = await shopper.request("profile", name=name)
        assert answer.get("code") == "forbidden", (name, answer)
    for name in ("Rini", "Budi"):
        answer = await shopper.request("profile", name=name)
        assert answer["type"] == "ack" and answer["customer"]["name"] == name


# -- 6. LIKE wildcards --------------------------------------------------------------------------


async def test_wildcards_in_a_customer_search_match_themselves(env: Env) -> None:
    assert env.http is not None
    for external_id, name in (("w1", "Toko 100% Asli"), ("w2", "Budi_Santoso"), ("w3", "Budi S")):
        response = await env.http.put(
            f"/api/v1/customers/by-external-id/{external_id}", json={"name": name}, headers=api(env)
        )
        assert response.status_code in (200, 201), response.text

    async def names(q: str) -> list[str]:
        assert env.http is not None
        found = await env.http.get("/api/v1/customers", params={"q": q}, headers=api(env))
        assert found.status_code == 200, found.text
        return sorted(c["name"] for c in found.json()["items"])

    assert await names("%") == ["Toko 100% Asli"]
    assert await names("_") == ["Budi_Santoso"]
    assert await names("\\") == []
    assert await names("Budi") == ["Budi S", "Budi_Santoso"]


# -- 7. strict validation ------------------------------------------------------------------------


async def test_settings_and_records_refuse_a_trailing_newline(env: Env) -> None:
    assert env.http is not None
    for body in (
        {"color": "#000000\n"},
        {"color": "#000000 "},
        {"domains": ["shop-a.test\n"]},
    ):
        response = await env.http.put("/api/v1/site", json=body, headers=api(env))
        assert response.status_code == 400, body
    site = await env.http.get("/api/v1/site", headers=api(env))
    assert site.json()["color"] != "#000000\n"
    assert (await env.http.put("/api/v1/site", json={"color": "#00aa11"}, headers=api(env))).json()[
        "color"
    ] == "#00aa11"
    key = await env.http.put(
        "/api/v1/customers/by-external-id/n1",
        json={"attributes": {"tier\n": "gold"}},
        headers=api(env),
    )
    assert key.status_code == 400
    # Text fields are trimmed before they are checked: the newline is never stored.
    email = await env.http.put(
        "/api/v1/customers/by-external-id/n1",
        json={"email": "budi@shop.example\n"},
        headers=api(env),
    )
    assert email.json()["email"] == "budi@shop.example"
    order = {
        "order_id": "N-1",
        "total": 1000,
        "currency": "IDR\n",
        "items": [],
        "placed_at": "2026-11-20T08:00:00Z",
    }
    response = await env.http.post(
        "/api/v1/customers/by-external-id/n1/orders", json=order, headers=api(env)
    )
    assert response.status_code == 400


async def test_an_erase_removes_the_phrasings_learnt_from_the_customers_words(env: Env) -> None:
    assert env.http is not None
    created = await add_entries(env)
    shopper, welcome = await env.widget("a")
    # Stored collapsed ("biaya kirim ke ..."): the phrasing knows whose words it copies.
    await ask_and_vote(shopper, "q", "biaya  kirim\nke kota medan berapa")
    learnt = (await entry(env, created[0]["id"]))["phrasings"]
    assert [p["text"] for p in learnt] == ["biaya kirim ke kota medan berapa"]
    erased = await env.http.delete(
        f"/api/v1/customers/{welcome['customer_id']}", headers=owner_token(env)
    )
    assert erased.status_code in (200, 204), erased.text
    assert (await entry(env, created[0]["id"]))["phrasings"] == []
