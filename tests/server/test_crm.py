"""The customer record over REST and the widget: identity, orders, RFM, timeline, privacy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chat_server.domain.identity import user_hash
from tests.server.conftest import Env


def api(env: Env, site: str = "a") -> dict[str, str]:
    return {"authorization": f"Bearer {env.sites[site].creds.api_token}"}


async def identify(
    env: Env, site: str, token: str, external_id: str, digest: str | None = None, **extra: Any
) -> Any:
    assert env.http is not None
    secret = env.sites[site].creds.identity_secret
    return await env.http.post(
        "/api/widget/identify",
        json={
            "external_id": external_id,
            "user_hash": digest or user_hash(secret, external_id),
            **extra,
        },
        headers={"authorization": f"Bearer {token}", "origin": env.sites[site].origin},
    )


async def shopper_acts(env: Env, token: str) -> None:
    """A visitor becomes a customer (a record) when they do something, e.g. a pre-chat form."""
    assert env.http is not None
    response = await env.http.post(
        "/api/widget/prechat", json={}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text


async def test_wrong_hash_is_refused_and_changes_nothing(env: Env) -> None:
    widget, welcome = await env.widget("a")
    await widget.request("send", client_msg_id="c", body="halo")
    wrong = await identify(env, "a", welcome["token"], "user-1", digest="0" * 64)
    assert wrong.status_code == 403
    assert wrong.headers["access-control-allow-origin"] == env.sites["a"].origin
    other_site = await identify(
        env,
        "a",
        welcome["token"],
        "user-1",
        digest=user_hash(env.sites["b"].creds.identity_secret, "user-1"),
    )
    assert other_site.status_code == 403
    listed = (
        await env.http.get("/api/v1/customers", params={"q": "user-1"}, headers=api(env))
    ).json()  # type: ignore[union-attr]
    assert listed["items"] == []


async def test_a_site_without_a_secret_verifies_nobody(env: Env) -> None:
    env.sql("UPDATE sites SET identity_secret = '' WHERE id = ?", (env.sites["a"].creds.site_id,))
    session = await env.widget_session("a")
    refused = await identify(env, "a", session["token"], "user-1", digest=user_hash("", "user-1"))
    assert refused.status_code == 403


async def test_identify_merges_the_anonymous_visitor_and_a_second_device_sees_it_all(
    env: Env,
) -> None:
    assert env.http is not None
    # The shop already knows this customer, with an order and an attribute.
    await env.http.put(
        "/api/v1/customers/by-external-id/u-42",
        json={"name": "Budi", "attributes": {"tier": "gold"}},
        headers=api(env),
    )
    await env.http.post(
        "/api/v1/customers/by-external-id/u-42/orders",
        json={
            "order_id": "o1",
            "total": 250000,
            "currency": "IDR",
            "items": [],
            "placed_at": "2026-11-01T10:00:00Z",
        },
        headers=api(env),
    )
    laptop, welcome = await env.widget("a")
    sent = await laptop.request(
        "send", client_msg_id="c1", body="halo kak, pesanan saya kapan sampai?"
    )
    await env.http.post(
        "/api/widget/prechat",
        json={"email": "budi@example.test", "marketing_consent": True},
        headers={"authorization": f"Bearer {welcome['token']}"},
    )
    answer = await identify(env, "a", welcome["token"], "u-42", name="Budi S")
    assert answer.status_code == 200
    known_id = answer.json()["customer_id"]
    assert known_id != welcome["customer_id"]
    record = (await env.http.get(f"/api/v1/customers/{known_id}", headers=api(env))).json()
    assert record["name"] == "Budi S" and record["email"] == "budi@example.test"
    assert record["attributes"] == {"tier": "gold"}
    assert [c["kind"] for c in record["consents"]] == ["marketing"]
    assert [o["order_id"] for o in record["orders"]] == ["o1"]
    assert [r["id"] for r in record["rooms"]] == [sent["message"]["room_id"]]
    # The anonymous record is gone from the list: nothing duplicated.
    listed = (await env.http.get("/api/v1/customers", headers=api(env))).json()
    assert [c["id"] for c in listed["items"]] == [known_id]
    # A phone identified as the same shopper sees the same conversation.
    phone_session = await env.widget_session("a")
    await identify(env, "a", phone_session["token"], "u-42")
    phone, phone_welcome = await env.widget("a", token=phone_session["token"])
    assert phone_welcome["customer_id"] == known_id
    room_id = phone_welcome["rooms"][0]["id"]
    history = await phone.request("sync", room_id=room_id, after_seq=0)
    assert [m["body"] for m in history["messages"]] == ["halo kak, pesanan saya kapan sampai?"]


async def test_both_devices_had_conversations_and_nothing_is_lost(env: Env) -> None:
    assert env.http is not None
    first = await env.widget_session("a")
    await identify(env, "a", first["token"], "u-7")
    one, _ = await env.widget("a", token=first["token"])
    await one.request("send", client_msg_id="a", body="dari laptop")
    other, welcome = await env.widget("a")
    await other.request("send", client_msg_id="a", body="dari hp")
    await identify(env, "a", welcome["token"], "u-7")
    again, again_welcome = await env.widget("a", token=welcome["token"])
    room_id = again_welcome["rooms"][0]["id"]
    bodies = [
        m["body"] for m in (await again.request("sync", room_id=room_id, after_seq=0))["messages"]
    ]
    assert bodies == ["dari laptop", "dari hp"]


async def test_orders_are_idempotent_and_validated(env: Env) -> None:
    assert env.http is not None
    order = {
        "order_id": "A-1",
        "total": 120000,
        "currency": "IDR",
        "items": [{"sku": "k1", "name": "Kaos", "quantity": 2, "price": 60000}],
        "placed_at": "2026-11-20T08:00:00+07:00",
    }
    first = await env.http.post(
        "/api/v1/customers/by-external-id/x1/orders", json=order, headers=api(env)
    )
    again = await env.http.post(
        "/api/v1/customers/by-external-id/x1/orders", json={**order, "total": 999}, headers=api(env)
    )
    assert first.status_code == 201 and again.status_code == 200
    assert (
        again.json()["total"] == 120000 and first.json()["placed_at"] == "2026-11-20T01:00:00.000Z"
    )
    stolen = await env.http.post(
        "/api/v1/customers/by-external-id/x2/orders", json=order, headers=api(env)
    )
    assert stolen.status_code == 409
    for bad in (
        {**order, "order_id": "B", "total": "banyak"},
        {**order, "order_id": "C", "total": -5},
        {**order, "order_id": "D", "currency": "rupiah"},
        {**order, "order_id": "E", "placed_at": "kemarin"},
        {**order, "order_id": "F", "items": [{"quantity": 0}]},
    ):
        response = await env.http.post(
            "/api/v1/customers/by-external-id/x1/orders", json=bad, headers=api(env)
        )
        assert response.status_code == 400, bad
    customers = (
        await env.http.get("/api/v1/customers", params={"q": "x1"}, headers=api(env))
    ).json()["items"]
    assert customers[0]["orders_count"] == 1 and customers[0]["total_spent"] == 120000
    other_site = await env.http.post(
        "/api/v1/customers/by-external-id/x1/orders", json=order, headers=api(env, "b")
    )
    assert other_site.status_code == 201  # order ids are per site


async def test_segments_follow_orders_and_filters_work(env: Env) -> None:
    assert env.http is not None
    plan = {"big": (12, 1), "mid": (3, 30), "old": (5, 300), "one": (1, 2), "gone": (1, 500)}
    for name, (count, days_ago) in plan.items():
        for i in range(count):
            day = 20 - min(days_ago, 19) if days_ago < 20 else None
            placed = (
                f"2026-11-{day:02d}T10:00:00Z"
                if day
                else ("2026-01-05T10:00:00Z" if days_ago < 400 else "2025-06-01T10:00:00Z")
            )
            await env.http.post(
                f"/api/v1/customers/by-external-id/{name}/orders",
                json={"order_id": f"{name}-{i}", "total": 100000 * count, "placed_at": placed},
                headers=api(env),
            )
    await env.http.put(
        "/api/v1/customers/by-external-id/prospect",
        json={"tags": ["vip"], "attributes": {"city": "Medan"}},
        headers=api(env),
    )
    champions = (
        await env.http.get("/api/v1/customers", params={"segment": "champions"}, headers=api(env))
    ).json()["items"]
    assert [c["external_id"] for c in champions] == ["big"]
    prospects = (
        await env.http.get("/api/v1/customers", params={"segment": "prospect"}, headers=api(env))
    ).json()["items"]
    assert [c["external_id"] for c in prospects] == ["prospect"]
    assert prospects[0]["rfm"]["lifecycle"] == "prospect"
    by_tag = (
        await env.http.get("/api/v1/customers", params={"tag": "VIP"}, headers=api(env))
    ).json()["items"]
    by_attr = (
        await env.http.get("/api/v1/customers", params={"attr": "city:Medan"}, headers=api(env))
    ).json()["items"]
    assert [c["external_id"] for c in by_tag] == [c["external_id"] for c in by_attr] == ["prospect"]


async def test_attribute_floods_and_bad_profiles_are_refused(env: Env) -> None:
    assert env.http is not None
    flood = {"attributes": {f"k{i}": i for i in range(51)}}
    assert (
        await env.http.put("/api/v1/customers/by-external-id/f", json=flood, headers=api(env))
    ).status_code == 400
    for i in range(5):
        batch = {"attributes": {f"k{i}_{j}": j for j in range(10)}}
        assert (
            await env.http.put("/api/v1/customers/by-external-id/f", json=batch, headers=api(env))
        ).status_code == 200
    over = await env.http.put(
        "/api/v1/customers/by-external-id/f",
        json={"name": "Flood", "attributes": {"one_more": 1}},
        headers=api(env),
    )
    assert over.status_code == 400
    record = (await env.http.get("/api/v1/customers", params={"q": "f"}, headers=api(env))).json()[
        "items"
    ][0]
    assert record["name"] is None  # the refused request changed nothing
    for body in (
        {"attributes": {"bad key!": 1}},
        {"attributes": {"k": "x" * 501}},
        {"email": "not-an-email"},
        {"attributes": {"k": [1]}},
    ):
        assert (
            await env.http.put("/api/v1/customers/by-external-id/g", json=body, headers=api(env))
        ).status_code == 400


async def test_timeline_holds_every_message_notes_orders_and_faq(env: Env) -> None:
    assert env.http is not None
    widget, welcome = await env.widget("a")
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    room_id = (await widget.request("send", client_msg_id="1", body="satu"))["message"]["room_id"]
    await agent.request("send", room_id=room_id, client_msg_id="r1", body="balasan")
    await agent.request(
        "send", room_id=room_id, client_msg_id="n1", body="catatan internal", kind="note"
    )
    await widget.close()
    again, _ = await env.widget("a", token=welcome["token"])
    await again.request("send", client_msg_id="2", body="dua")
    await again.request("send", client_msg_id="2", body="dua")  # a resend after a reconnect
    await identify(env, "a", welcome["token"], "t-1")
    customer_id = (
        await env.http.get("/api/v1/customers", params={"q": "t-1"}, headers=api(env))
    ).json()["items"][0]["id"]
    await env.http.post(
        "/api/v1/customers/by-external-id/t-1/orders",
        json={"order_id": "t-o", "total": 5},
        headers=api(env),
    )
    items = (
        await env.http.get(f"/api/v1/customers/{customer_id}/timeline", headers=api(env))
    ).json()["items"]
    bodies = [
        i["message"]["body"]
        for i in items
        if i["kind"] == "message" and i["message"]["kind"] != "event"
    ]
    assert bodies == ["satu", "balasan", "catatan internal", "dua"]
    assert [i["order"]["order_id"] for i in items if i["kind"] == "order"] == ["t-o"]
    count = env.sql(
        "SELECT count(*) FROM messages WHERE room_id = ? AND kind != 'event'", (room_id,)
    )[0][0]
    assert count == len(bodies)


async def test_export_and_erase_leave_nothing_of_the_body_in_the_file(env: Env) -> None:
    assert env.http is not None
    secret_words = "alamat rumah saya Jalan Kenanga 12 Medan"
    widget, welcome = await env.widget("a")
    await widget.request("send", client_msg_id="1", body=secret_words)
    await env.http.post(
        "/api/widget/prechat",
        json={"name": "Sinta Rahasia", "email": "sinta@rahasia.test"},
        headers={"authorization": f"Bearer {welcome['token']}"},
    )
    customer_id = welcome["customer_id"]
    exported = await env.http.get(f"/api/v1/customers/{customer_id}/export", headers=api(env))
    assert secret_words in exported.text and "sinta@rahasia.test" in exported.text
    _, _, agent_session, csrf = await env.agent(env.sites["a"].agent_email)
    refused = await env.http.delete(
        f"/api/v1/customers/{customer_id}", headers={**agent_session, "x-csrf-token": csrf}
    )
    assert refused.status_code == 403
    assert (
        await env.http.delete(f"/api/v1/customers/{customer_id}", headers=api(env, "b"))
    ).status_code == 404
    erased = await env.http.delete(f"/api/v1/customers/{customer_id}", headers=api(env))
    assert erased.status_code == 200
    if env.backend == "sqlite":
        # The file itself (PostgreSQL leaves dead rows to VACUUM: docs/operations.md).
        raw = b"".join(
            p.read_bytes() for p in Path(env.app_settings.db_path).parent.glob("sapa.db*")
        )
        for needle in (secret_words, "Sinta Rahasia", "sinta@rahasia.test", "Kenanga"):
            assert needle.encode() not in raw, needle
    record = (await env.http.get(f"/api/v1/customers/{customer_id}", headers=api(env))).json()
    assert record["erased"] is True and record["name"] is None
    assert env.sql("SELECT count(*) FROM erasures WHERE customer_id = ?", (customer_id,))[0][0] == 1


async def test_customers_of_another_site_are_not_found(env: Env) -> None:
    assert env.http is not None
    session = await env.widget_session("a")
    customer_id = session["customer_id"]
    for method, path in (
        ("GET", ""),
        ("GET", "/timeline"),
        ("GET", "/export"),
        ("PATCH", ""),
        ("POST", "/notes"),
    ):
        response = await env.http.request(
            method,
            f"/api/v1/customers/{customer_id}{path}",
            json={"body": "x", "name": "x"},
            headers=api(env, "b"),
        )
        assert response.status_code == 404, (method, path)


async def test_agents_write_notes_tags_and_attributes(env: Env) -> None:
    assert env.http is not None
    session = await env.widget_session("a")
    await shopper_acts(env, session["token"])
    _, _, agent, csrf = await env.agent(env.sites["a"].agent_email)
    headers = {**agent, "x-csrf-token": csrf}
    customer_id = session["customer_id"]
    note = await env.http.post(
        f"/api/v1/customers/{customer_id}/notes", json={"body": "Suka warna biru"}, headers=headers
    )
    assert note.status_code == 201 and note.json()["author"]["id"] == env.sites["a"].agent_id
    patched = await env.http.patch(
        f"/api/v1/customers/{customer_id}",
        json={"tags": ["Reseller"], "attributes": {"kota": "Bandung"}},
        headers=headers,
    )
    assert patched.json()["tags"] == ["reseller"] and patched.json()["attributes"] == {
        "kota": "Bandung"
    }
    removed = await env.http.patch(
        f"/api/v1/customers/{customer_id}", json={"attributes": {"kota": None}}, headers=headers
    )
    assert removed.json()["attributes"] == {}
    no_csrf = await env.http.post(
        f"/api/v1/customers/{customer_id}/notes", json={"body": "x"}, headers=agent
    )
    assert no_csrf.status_code == 403


async def test_an_erased_customer_cannot_be_written_back(env: Env) -> None:
    assert env.http is not None
    session = await env.widget_session("a")
    await shopper_acts(env, session["token"])
    customer_id = session["customer_id"]
    assert (
        await env.http.delete(f"/api/v1/customers/{customer_id}", headers=api(env))
    ).status_code == 200
    patched = await env.http.patch(
        f"/api/v1/customers/{customer_id}", json={"name": "Lagi"}, headers=api(env)
    )
    noted = await env.http.post(
        f"/api/v1/customers/{customer_id}/notes", json={"body": "x"}, headers=api(env)
    )
    assert patched.status_code == noted.status_code == 409


@pytest.mark.settings(room_new_identity_posts=0)  # two posts in a row from a new visitor
async def test_a_crm_name_is_not_a_public_display_name(env: Env) -> None:
    """A pre-chat or identify name never lets a visitor post in public as the shop's staff."""
    assert env.http is not None
    widget, welcome = await env.widget("a")
    await env.http.post(
        "/api/widget/prechat",
        json={"name": "Admin Toko"},
        headers={"authorization": f"Bearer {welcome['token']}"},
    )
    public = next(r for r in welcome["rooms"] if r["kind"] == "public")
    await widget.request("join", room_id=public["id"])
    # Without a chosen public name the post goes out under a generated one, never the CRM's.
    unnamed = await widget.request("send", room_id=public["id"], client_msg_id="p", body="promo!")
    assert unnamed["message"]["author"]["name"].startswith("Pembeli ")
    assert (await widget.request("profile", name="Admin Toko"))["code"] == "forbidden"
    assert (await widget.request("profile", name="Rani"))["type"] == "ack"
    posted = await widget.request(
        "send", room_id=public["id"], client_msg_id="p2", body="halo semua"
    )
    assert posted["message"]["author"]["name"] == "Rani"
    record = (
        await env.http.get(f"/api/v1/customers/{welcome['customer_id']}", headers=api(env))
    ).json()
    assert record["name"] == "Admin Toko" and record["display_name"] == "Rani"
