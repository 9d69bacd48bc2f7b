"""Canned responses over REST: the site's and each agent's own, filled in for a conversation."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import Env


def bearer(env: Env, site: str = "a") -> dict[str, str]:
    return {"Authorization": f"Bearer {env.sites[site].creds.api_token}"}


async def console(env: Env, email: str) -> dict[str, str]:
    _, _, headers, csrf = await env.agent(email)
    return {**headers, "x-csrf-token": csrf, "origin": env.url}


async def test_site_and_personal_responses_and_their_variables(env: Env) -> None:
    http = env.http
    assert http is not None
    site = env.sites["a"]
    owner, agent = await console(env, site.owner_email), await console(env, site.agent_email)
    made = await http.post(
        "/api/v1/canned_responses",
        json={
            "shortcut": "/Salam",
            "body": "Halo {{customer.name}}, saya {{agent.name}} dari {{site.name}}. {{order.id}}",
            "scope": "site",
        },
        headers=owner,
    )
    assert made.status_code == 201, made.text
    assert made.json()["shortcut"] == "salam" and made.json()["scope"] == "site"
    mine = await http.post(
        "/api/v1/canned_responses",
        json={"shortcut": "ongkir", "body": "Gratis ongkir!"},
        headers=agent,
    )
    assert mine.status_code == 201 and mine.json()["scope"] == "personal"

    # An agent may not write the site's; a shortcut is unique within its scope.
    refused = await http.post(
        "/api/v1/canned_responses",
        json={"shortcut": "x", "body": "y", "scope": "site"},
        headers=agent,
    )
    assert refused.status_code == 403
    again = await http.post(
        "/api/v1/canned_responses", json={"shortcut": "ongkir", "body": "dua"}, headers=agent
    )
    assert again.status_code == 409

    widget, _ = await env.widget("a")
    sent = await widget.request("send", client_msg_id="m", body="halo")
    room_id = sent["message"]["room_id"]
    listed = await http.get(f"/api/v1/canned_responses?room_id={room_id}", headers=agent)
    items = {i["shortcut"]: i for i in listed.json()["items"]}
    assert set(items) == {"salam", "ongkir"}
    customer = sent["message"]["author"]["name"]
    assert items["salam"]["text"] == (
        f"Halo {customer}, saya Agent a dari Shop A. {{{{order.id}}}}"
    )
    # The owner does not see the agent's personal one, nor may change or delete it.
    owner_view = await http.get("/api/v1/canned_responses", headers=owner)
    assert [i["shortcut"] for i in owner_view.json()["items"]] == ["salam"]
    theirs = f"/api/v1/canned_responses/{mine.json()['id']}"
    assert (await http.delete(theirs, headers=owner)).status_code == 404
    changed = await http.put(theirs, json={"body": "Ongkir Rp0"}, headers=agent)
    assert changed.status_code == 200 and changed.json()["body"] == "Ongkir Rp0"
    assert (await http.delete(theirs, headers=agent)).status_code == 204

    # Another site sees none of them, and cannot fill them in for a room it does not have.
    other = await http.get("/api/v1/canned_responses", headers=bearer(env, "b"))
    assert other.json()["items"] == []
    elsewhere = await http.get(
        f"/api/v1/canned_responses?room_id={room_id}", headers=bearer(env, "b")
    )
    assert elsewhere.status_code == 404


async def test_bad_canned_input_is_a_400_never_a_500(env: Env) -> None:
    http = env.http
    assert http is not None
    bad: list[Any] = [
        {"shortcut": "", "body": "x"},
        {"shortcut": "dua kata", "body": "x"},
        {"shortcut": "x" * 40, "body": "x"},
        {"shortcut": "ok", "body": ""},
        {"shortcut": "ok", "body": "x" * 4001},
        {"shortcut": "ok", "body": "x", "scope": "team"},
        {"shortcut": 5, "body": "x"},
        {"shortcut": "ok", "body": "x", "scope": "personal"},  # an API token is nobody
        [],
        "x",
    ]
    for body in bad:
        response = await http.post("/api/v1/canned_responses", json=body, headers=bearer(env))
        assert response.status_code == 400, (body, response.text)
    assert (
        await http.put("/api/v1/canned_responses/nope", json={}, headers=bearer(env))
    ).status_code == 404
