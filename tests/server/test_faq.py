"""FAQ: curation over REST, suggestions over the sockets, learning, the help center."""

from __future__ import annotations

import json
from typing import Any

from tests.server.conftest import Env

ENTRIES = [
    {
        "question": "Berapa ongkos kirim ke Medan?",
        "answer": "Ongkir ke Medan mulai **Rp25.000**, gratis di atas Rp150.000.",
        "category": "Pengiriman",
        "tags": ["ongkir", "medan"],
        "lang": "id",
    },
    {
        "question": "Apakah bisa bayar di tempat (COD)?",
        "answer": "Bisa, COD tersedia untuk Jawa dan Sumatra.",
        "category": "Pembayaran",
        "tags": ["cod", "bayar di tempat"],
    },
    {
        "question": "How long does a refund take?",
        "answer": "Refunds take 1-3 business days.",
        "category": "Returns",
        "tags": ["refund"],
        "lang": "en",
    },
]


def owner_token(env: Env, site: str = "a") -> dict[str, str]:
    return {"authorization": f"Bearer {env.sites[site].creds.api_token}"}


async def add_entries(env: Env, site: str = "a") -> list[dict[str, Any]]:
    assert env.http is not None
    out = []
    for entry in ENTRIES:
        response = await env.http.post("/api/v1/faq", json=entry, headers=owner_token(env, site))
        assert response.status_code == 201, response.text
        out.append(response.json())
    return out


async def test_owner_crud_and_agents_read_only(env: Env) -> None:
    assert env.http is not None
    created = await add_entries(env)
    assert created[0]["status"] == "published" and created[0]["lang"] == "id"
    assert "<strong>Rp25.000</strong>" in created[0]["answer_html"]
    _, _, agent, csrf = await env.agent(env.sites["a"].agent_email)
    listed = await env.http.get("/api/v1/faq", headers=agent)
    assert [e["question"] for e in listed.json()["items"]] == [e["question"] for e in ENTRIES]
    refused = await env.http.post(
        "/api/v1/faq", json=ENTRIES[0], headers={**agent, "x-csrf-token": csrf}
    )
    assert refused.status_code == 403
    entry_id = created[1]["id"]
    updated = await env.http.put(
        f"/api/v1/faq/{entry_id}",
        json={"status": "draft", "phrasings": ["cod bisa?"]},
        headers=owner_token(env),
    )
    assert updated.json()["status"] == "draft"
    assert [p["text"] for p in updated.json()["phrasings"]] == ["cod bisa?"]
    assert (await env.http.get("/api/v1/faq?status=draft", headers=agent)).json()["items"][0][
        "id"
    ] == entry_id
    deleted = await env.http.delete(f"/api/v1/faq/{entry_id}", headers=owner_token(env))
    assert deleted.status_code == 200
    assert (await env.http.get(f"/api/v1/faq/{entry_id}", headers=agent)).status_code == 404


async def test_bad_entries_and_another_sites_ids(env: Env) -> None:
    assert env.http is not None
    created = await add_entries(env)
    for body in (
        {"question": "x"},
        {"question": "", "answer": "y"},
        {"question": "q", "answer": "a", "lang": "fr"},
        [1],
    ):
        response = await env.http.post("/api/v1/faq", json=body, headers=owner_token(env))
        assert response.status_code == 400, body
    foreign = await env.http.put(
        f"/api/v1/faq/{created[0]['id']}", json={"answer": "hacked"}, headers=owner_token(env, "b")
    )
    assert foreign.status_code == 404
    assert (await env.http.get("/api/v1/faq", headers=owner_token(env, "b"))).json()["items"] == []


async def test_html_in_entries_is_inert(env: Env) -> None:
    assert env.http is not None
    response = await env.http.post(
        "/api/v1/faq",
        json={
            "question": "<script>alert(1)</script>",
            "answer": "<img src=x onerror=alert(1)> [klik](javascript:alert(1)) [ok](https://shop-a.test)",
        },
        headers=owner_token(env),
    )
    html = response.json()["answer_html"]
    assert "<img" not in html and "&lt;img" in html
    assert 'href="javascript:' not in html
    assert 'href="https://shop-a.test"' in html


async def test_suggest_ranks_with_scores_and_a_threshold(env: Env) -> None:
    assert env.http is not None
    created = await add_entries(env)
    response = await env.http.get(
        "/api/v1/faq/suggest", params={"q": "kak ongkir ke medan brp?"}, headers=owner_token(env)
    )
    body = response.json()
    assert body["items"][0]["faq_id"] == created[0]["id"]
    assert body["items"][0]["score"] >= body["threshold"]
    assert "ongkir" in " ".join(body["items"][0]["matched_terms"])
    greeting = await env.http.get(
        "/api/v1/faq/suggest", params={"q": "halo kak"}, headers=owner_token(env)
    )
    assert all(i["score"] < greeting.json()["threshold"] for i in greeting.json()["items"])
    cross = await env.http.get(
        "/api/v1/faq/suggest",
        params={"q": "berapa lama pengembalian dana?"},
        headers=owner_token(env),
    )
    assert cross.json()["items"][0]["faq_id"] == created[2]["id"]


async def test_import_is_all_or_nothing_and_names_the_bad_line(env: Env) -> None:
    assert env.http is not None
    good = "question,answer,category,tags,lang\nA?,Jawab A,Umum,a|b,id\nB?,Jawab B,Umum,,en\n"
    response = await env.http.post(
        "/api/v1/faq/import?format=csv", content=good.encode(), headers=owner_token(env)
    )
    assert response.json() == {"imported": 2}
    bad = "question,answer,category,tags,lang\nC?,Jawab C,,,id\nD?,,,,id\n"
    response = await env.http.post(
        "/api/v1/faq/import?format=csv", content=bad.encode(), headers=owner_token(env)
    )
    assert response.status_code == 400 and "line 3" in response.json()["error"]["message"]
    missing = "question,category\nE?,x\n"
    response = await env.http.post(
        "/api/v1/faq/import?format=csv", content=missing.encode(), headers=owner_token(env)
    )
    assert response.status_code == 400 and "answer" in response.json()["error"]["message"]
    latin1 = "question,answer\nF?,caf\xe9\n".encode("latin-1")
    response = await env.http.post(
        "/api/v1/faq/import?format=csv", content=latin1, headers=owner_token(env)
    )
    assert response.status_code == 400 and "line 2" in response.json()["error"]["message"]
    listed = (await env.http.get("/api/v1/faq", headers=owner_token(env))).json()["items"]
    assert [e["question"] for e in listed] == ["A?", "B?"]
    exported = await env.http.get("/api/v1/faq/export?format=json", headers=owner_token(env))
    again = await env.http.post(
        "/api/v1/faq/import?format=json", content=exported.content, headers=owner_token(env, "b")
    )
    assert again.json() == {"imported": 2}


async def test_reorder_and_phrasings(env: Env) -> None:
    assert env.http is not None
    created = await add_entries(env)
    ids = [e["id"] for e in created]
    response = await env.http.post(
        "/api/v1/faq/reorder", json={"ids": [ids[2], ids[0]]}, headers=owner_token(env)
    )
    assert response.status_code == 200
    listed = (await env.http.get("/api/v1/faq", headers=owner_token(env))).json()["items"]
    assert [e["id"] for e in listed] == [ids[2], ids[0], ids[1]]
    unknown = await env.http.post(
        "/api/v1/faq/reorder", json={"ids": ["faq_nope"]}, headers=owner_token(env)
    )
    assert unknown.status_code == 404
    added = await env.http.post(
        f"/api/v1/faq/{ids[0]}/phrasings", json={"text": "ongkir mdn"}, headers=owner_token(env)
    )
    phrasing = added.json()["phrasings"][0]
    assert phrasing["source"] == "manual"
    removed = await env.http.delete(
        f"/api/v1/faq/{ids[0]}/phrasings/{phrasing['id']}", headers=owner_token(env)
    )
    assert removed.json()["phrasings"] == []


async def test_suggestions_reach_agents_always_and_the_shopper_while_waiting(env: Env) -> None:
    created = await add_entries(env)
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    widget, _ = await env.widget("a")
    sent = await widget.request("send", client_msg_id="q1", body="bisa cod gk kak?")
    message_id = sent["message"]["id"]
    for_agent = await agent.event("suggestions", for_message_id=message_id)
    assert for_agent["items"][0]["faq_id"] == created[1]["id"]
    for_shopper = await widget.event("suggestions", for_message_id=message_id)
    assert for_shopper["items"][0]["faq_id"] == created[1]["id"]
    # A greeting gets no suggestion card for the shopper.
    hello = await widget.request("send", client_msg_id="q2", body="halo kak")
    await agent.event("suggestions", for_message_id=hello["message"]["id"])
    assert all(f.get("type") != "suggestions" for f in await widget.drain())
    # Once an agent has answered, the shopper gets no more cards; agents still do.
    await agent.request(
        "send", room_id=sent["message"]["room_id"], client_msg_id="r", body="Bisa kak"
    )
    later = await widget.request("send", client_msg_id="q3", body="ongkir ke medan brp?")
    await agent.event("suggestions", for_message_id=later["message"]["id"])
    assert all(f.get("type") != "suggestions" for f in await widget.drain())


async def test_faq_search_while_typing_and_feedback_learns(env: Env) -> None:
    assert env.http is not None
    created = await add_entries(env)
    widget, _ = await env.widget("a")
    found = await widget.request("faq_search", q="ongkir ke medan")
    assert found["items"][0]["faq_id"] == created[0]["id"]
    assert (await widget.request("faq_search", q="halo kak"))["items"] == []
    sent = await widget.request("send", client_msg_id="q", body="biaya kirim ke kota medan berapa")
    card = await widget.event("suggestions", for_message_id=sent["message"]["id"])
    assert card["items"][0]["faq_id"] == created[0]["id"]
    # "Helpful" on an entry that was never offered for this message teaches nothing.
    await widget.request(
        "faq_feedback", faq_id=created[2]["id"], helpful=True, for_message_id=sent["message"]["id"]
    )
    ack = await widget.request(
        "faq_feedback", faq_id=created[0]["id"], helpful=True, for_message_id=sent["message"]["id"]
    )
    assert ack["type"] == "ack"
    entry = (await env.http.get(f"/api/v1/faq/{created[0]['id']}", headers=owner_token(env))).json()
    assert [(p["text"], p["source"]) for p in entry["phrasings"]] == [
        ("biaya kirim ke kota medan berapa", "learnt")
    ]
    unrelated = (
        await env.http.get(f"/api/v1/faq/{created[2]['id']}", headers=owner_token(env))
    ).json()
    assert unrelated["phrasings"] == []
    other, _ = await env.widget("a")
    stolen = await other.request(
        "faq_feedback", faq_id=created[0]["id"], helpful=True, for_message_id=sent["message"]["id"]
    )
    assert stolen["code"] == "not_found"


async def test_an_agent_reply_from_a_suggestion_teaches_the_engine(env: Env) -> None:
    assert env.http is not None
    created = await add_entries(env)
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    widget, _ = await env.widget("a")
    sent = await widget.request("send", client_msg_id="q", body="gmn kak, bs bayar pas brg nyampe?")
    await agent.request(
        "send",
        room_id=sent["message"]["room_id"],
        client_msg_id="r",
        body=created[1]["answer"],
        faq_id=created[1]["id"],
        for_message_id=sent["message"]["id"],
    )
    entry = (await env.http.get(f"/api/v1/faq/{created[1]['id']}", headers=owner_token(env))).json()
    assert "gmn kak, bs bayar pas brg nyampe?" in [p["text"] for p in entry["phrasings"]]


async def test_help_center_pages(env: Env) -> None:
    assert env.http is not None
    created = await add_entries(env)
    key = env.sites["a"].creds.site_key
    index = await env.http.get(f"/help/{key}")
    assert (
        index.status_code == 200
        and "Pengiriman" in index.text
        and "Berapa ongkos kirim" in index.text
    )
    assert "<script" not in index.text
    search = await env.http.get(f"/help/{key}", params={"q": "ongkir medan"})
    assert f"/help/{key}/{created[0]['id']}" in search.text.split('data-testid="help-results"')[1]
    page = await env.http.get(f"/help/{key}/{created[0]['id']}")
    assert "<strong>Rp25.000</strong>" in page.text
    assert (
        await env.http.get(f"/help/{env.sites['b'].creds.site_key}/{created[0]['id']}")
    ).status_code == 404
    assert (await env.http.get("/help/pk_nope")).status_code == 404


async def test_bad_faq_frames(env: Env) -> None:
    widget, _ = await env.widget("a")
    for frame in (
        {"type": "faq_search", "ref": "x", "q": ""},
        {"type": "faq_search", "ref": "x", "q": "a" * 501},
        {"type": "faq_feedback", "ref": "x", "faq_id": "f", "helpful": "yes"},
    ):
        await widget.send_raw(json.dumps(frame))
        assert (await widget.event("error"))["code"] == "bad_request"
    assert (await widget.request("faq_feedback", faq_id="faq_nope", helpful=False))[
        "code"
    ] == "not_found"


async def test_report_summary_counts_conversations_and_deflection(env: Env) -> None:
    assert env.http is not None
    await add_entries(env)
    widget, _ = await env.widget("a")
    sent = await widget.request("send", client_msg_id="q1", body="bisa cod gk kak?")
    await widget.event("suggestions", for_message_id=sent["message"]["id"])
    await widget.request(
        "rate", room_id=sent["message"]["room_id"], score=4
    )  # not resolved: refused
    report = await env.http.get("/api/v1/reports/summary", headers=owner_token(env))
    body = report.json()
    assert body["conversations"] == 1 and body["messages"]["from_customers"] == 1
    assert body["faq"]["questions_with_suggestions"] == 1 and body["faq"]["deflected"] == 1
    assert body["csat"]["responses"] == 0
    bad = await env.http.get("/api/v1/reports/summary?from=yesterday", headers=owner_token(env))
    assert bad.status_code == 400
