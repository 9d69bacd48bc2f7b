"""What agents see beyond messages: event data, suggestions on open, the shopper's FAQ cards
and ratings in the transcript."""

from __future__ import annotations

from tests.server.conftest import Env
from tests.server.test_faq import add_entries, owner_token


async def test_system_lines_carry_event_data_in_events_sync_and_rest(env: Env) -> None:
    assert env.http is not None
    site = env.sites["a"]
    widget, _ = await env.widget("a")
    sent = await widget.request("send", client_msg_id="w1", body="halo")
    room_id = sent["message"]["room_id"]
    # A nameless shopper: v1's name stays, and every UI can label them itself.
    author = sent["message"]["author"]
    assert author["name"] == f"Pengunjung {author['id'][-4:]}"
    assert author["anonymous"] is True and author["label_id"] == author["id"][-4:]
    owner, *_ = await env.agent(site.owner_email)
    await owner.request("assign", room_id=room_id, agent_id=site.agent_id)
    live = await owner.event("message", where=lambda f: f["message"]["kind"] == "event")
    assert live["message"]["event"] == {
        "key": "assigned",
        "agent": {"id": site.agent_id, "name": "Agent a"},
    }
    # The body is still the line in the site's language, for v1 clients.
    assert live["message"]["body"] == "Ditangani oleh Agent a"
    await owner.request("assign", room_id=room_id, agent_id=None)
    await owner.request("resolve", room_id=room_id)
    await widget.request("send", client_msg_id="w2", body="lagi")
    await owner.request("reopen", room_id=room_id)
    synced = (await owner.request("sync", room_id=room_id, after_seq=0))["messages"]
    events = [m["event"] for m in synced if m["kind"] == "event"]
    assert events == [
        {"key": "assigned", "agent": {"id": site.agent_id, "name": "Agent a"}},
        {"key": "unassigned"},
        {"key": "resolved", "agent": {"id": site.owner_id, "name": "Owner a"}},
        {"key": "reopened_by_customer"},
    ]
    for_shopper = (await widget.request("sync", room_id=room_id, after_seq=0))["messages"]
    assert [m.get("event") for m in for_shopper if m["kind"] == "event"] == events
    rest = await env.http.get(f"/api/v1/rooms/{room_id}/messages", headers=owner_token(env))
    assert [m["event"] for m in rest.json()["items"] if m["kind"] == "event"] == events
    room = (await env.http.get(f"/api/v1/rooms/{room_id}", headers=owner_token(env))).json()
    assert room["customer"]["anonymous"] is True
    assert room["customer"]["label_id"] == author["id"][-4:]
    await owner.request("resolve", room_id=room_id)
    listed = await env.http.get("/api/v1/rooms", headers=owner_token(env))
    mine = next(r for r in listed.json()["items"] if r["id"] == room_id)
    assert mine["last_message"]["event"]["key"] == "resolved"


async def test_suggestions_load_for_a_conversation_that_was_waiting(env: Env) -> None:
    assert env.http is not None
    created = await add_entries(env)
    widget, _ = await env.widget("a")
    empty = await widget.request("send", client_msg_id="w0", body="halo kak")
    room_id = empty["message"]["room_id"]
    sent = await widget.request("send", client_msg_id="w1", body="bisa cod gk kak?")
    # No agent was online when it arrived; one opens the conversation now.
    agent, _, headers, _ = await env.agent(env.sites["a"].agent_email)
    got = await env.http.get(f"/api/v1/rooms/{room_id}/suggestions", headers=headers)
    assert got.status_code == 200
    body = got.json()
    assert body["room_id"] == room_id and body["for_message_id"] == sent["message"]["id"]
    assert body["items"][0]["faq_id"] == created[1]["id"]
    assert {"score", "answer_text", "matched_terms"} <= set(body["items"][0])
    # A staff note or a reply does not change which customer message they answer.
    await agent.request("send", room_id=room_id, client_msg_id="n", body="hmm", kind="note")
    again = await env.http.get(f"/api/v1/rooms/{room_id}/suggestions", headers=headers)
    assert again.json()["for_message_id"] == sent["message"]["id"]
    # Another site's room is not found; a shopper cannot ask.
    other = await env.http.get(
        f"/api/v1/rooms/{room_id}/suggestions", headers=owner_token(env, "b")
    )
    assert other.status_code == 404
    fresh, _ = await env.widget("a")
    none = await fresh.request("send", client_msg_id="x", body="x")
    plain = await env.http.get(
        f"/api/v1/rooms/{none['message']['room_id']}/suggestions", headers=headers
    )
    assert plain.json()["for_message_id"] == none["message"]["id"]


async def test_agents_see_the_cards_the_shopper_was_shown_their_clicks_and_rating(
    env: Env,
) -> None:
    assert env.http is not None
    created = await add_entries(env)
    site = env.sites["a"]
    owner, _, headers, _ = await env.agent(site.owner_email)
    widget, _ = await env.widget("a")
    sent = await widget.request("send", client_msg_id="q", body="ongkir ke medan brp?")
    room_id, message_id = sent["message"]["room_id"], sent["message"]["id"]
    shown = await owner.event("activity", room_id=room_id)
    assert shown["item"]["kind"] == "faq"
    assert shown["item"]["faq"] == {
        "id": created[0]["id"],
        "question": created[0]["question"],
        "event": "shown",
        "for_message_id": message_id,
    }
    await widget.request(
        "faq_feedback", faq_id=created[0]["id"], helpful=False, for_message_id=message_id
    )
    clicked = await owner.event(
        "activity", room_id=room_id, where=lambda f: f["item"]["faq"]["event"] != "shown"
    )
    assert clicked["item"]["faq"]["event"] == "not_helpful"
    await owner.request("resolve", room_id=room_id)
    await widget.request("rate", room_id=room_id, score=4, comment="cepat")
    rated = await owner.event(
        "activity", room_id=room_id, where=lambda f: f["item"]["kind"] == "rating"
    )
    assert rated["item"]["rating"] == {"score": 4, "comment": "cepat"}
    # The same transcript over REST, oldest first, for a console that opens it later.
    got = await env.http.get(f"/api/v1/rooms/{room_id}/activity", headers=headers)
    items = got.json()["items"]
    assert [(i["kind"], i.get("faq", {}).get("event")) for i in items] == [
        ("faq", "shown"),
        ("faq", "not_helpful"),
        ("rating", None),
    ]
    assert [i["id"] for i in items][:2] == [shown["item"]["id"], clicked["item"]["id"]]
    # Only this site's staff read it.
    other = await env.http.get(f"/api/v1/rooms/{room_id}/activity", headers=owner_token(env, "b"))
    assert other.status_code == 404


async def test_consent_over_rest_is_stored_with_source_and_time_and_unknown_fields_refused(
    env: Env,
) -> None:
    assert env.http is not None
    url = "/api/v1/customers/by-external-id/u-77"
    given = await env.http.put(
        url,
        json={"name": "Budi", "consent": {"marketing": True, "source": "checkout"}},
        headers=owner_token(env),
    )
    assert given.status_code == 200, given.text
    [consent] = given.json()["consents"]
    assert consent["kind"] == "marketing" and consent["granted"] is True
    assert consent["source"] == "checkout" and consent["at"].endswith("Z")
    # Withdrawn at a given time; the source defaults to "api".
    withdrawn = await env.http.put(
        url,
        json={"consent": {"marketing": False, "at": "2026-11-22T10:00:00Z"}},
        headers=owner_token(env),
    )
    assert withdrawn.json()["consents"] == [
        {"kind": "marketing", "granted": False, "source": "api", "at": "2026-11-22T10:00:00.000Z"}
    ]
    # Fields the API does not know are refused, never silently dropped.
    for body in (
        {"marketing_consent": True},
        {"consent": {"marketing": "yes"}},
        {"consent": {"source": "x"}},
        {"consent": True},
        {"consent": {"marketing": True, "source": "a b"}},
        {"external_id": "someone-else"},
    ):
        refused = await env.http.put(url, json=body, headers=owner_token(env))
        assert refused.status_code == 400, body
    echoed = await env.http.put(url, json={"external_id": "u-77"}, headers=owner_token(env))
    assert echoed.status_code == 200
    # In the console an owner records it (source "console"); an agent may not.
    customer_id = given.json()["id"]
    _, _, owner_headers, owner_csrf = await env.agent(env.sites["a"].owner_email)
    patched = await env.http.patch(
        f"/api/v1/customers/{customer_id}",
        json={"consent": {"marketing": True}},
        headers={**owner_headers, "x-csrf-token": owner_csrf},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["consents"][0]["source"] == "console"
    _, _, agent_headers, agent_csrf = await env.agent(env.sites["a"].agent_email)
    refused = await env.http.patch(
        f"/api/v1/customers/{customer_id}",
        json={"consent": {"marketing": False}},
        headers={**agent_headers, "x-csrf-token": agent_csrf},
    )
    assert refused.status_code == 403
    unknown = await env.http.patch(
        f"/api/v1/customers/{customer_id}",
        json={"nmae": "typo"},
        headers={**agent_headers, "x-csrf-token": agent_csrf},
    )
    assert unknown.status_code == 400 and "nmae" in unknown.json()["error"]["message"]


async def test_a_customer_pushed_in_by_the_shop_was_never_seen(env: Env) -> None:
    assert env.http is not None
    pushed = await env.http.put(
        "/api/v1/customers/by-external-id/imp-1", json={"name": "Sri"}, headers=owner_token(env)
    )
    assert pushed.json()["last_seen_at"] is None
    listed = await env.http.get("/api/v1/customers?q=Sri", headers=owner_token(env))
    assert [c["last_seen_at"] for c in listed.json()["items"]] == [None]
    widget, session = await env.widget("a")
    # A visitor's record is made at their first action (a page view makes none).
    assert (await widget.request("send", client_msg_id="c1", body="halo"))["type"] == "ack"
    record = await env.http.get(
        f"/api/v1/customers/{session['customer_id']}", headers=owner_token(env)
    )
    assert record.json()["last_seen_at"] is not None


async def test_owners_see_the_embed_code_and_where_the_widget_last_connected(env: Env) -> None:
    assert env.http is not None
    site = env.sites["a"]
    before = await env.http.get("/api/v1/site/install", headers=owner_token(env))
    assert before.status_code == 200
    body = before.json()
    assert body["site_id"] == site.creds.site_id and body["site_key"] == site.creds.site_key
    assert body["embed"] == (
        f'<script src="{env.url}/widget.js" data-site="{site.creds.site_key}" async></script>'
    )
    assert body["help_url"] == f"{env.url}/help/{site.creds.site_key}"
    assert body["origins"] == []
    await env.widget("a", origin="https://www.shop-a.test")
    after = (await env.http.get("/api/v1/site/install", headers=owner_token(env))).json()
    assert [o["origin"] for o in after["origins"]] == ["https://www.shop-a.test"]
    assert after["origins"][0]["last_seen_at"].endswith("Z")
    # Another site's owner sees only their own; agents see none of it.
    other = (await env.http.get("/api/v1/site/install", headers=owner_token(env, "b"))).json()
    assert other["origins"] == []
    _, _, headers, _ = await env.agent(site.agent_email)
    refused = await env.http.get("/api/v1/site/install", headers=headers)
    assert refused.status_code == 403
