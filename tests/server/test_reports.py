"""The owner's summary report: every figure, scoped by site and by the time window."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import Env


def api(env: Env, site: str = "a") -> dict[str, str]:
    return {"authorization": f"Bearer {env.sites[site].creds.api_token}"}


async def summary(env: Env, site: str = "a", query: str = "") -> dict[str, Any]:
    assert env.http is not None
    response = await env.http.get(f"/api/v1/reports/summary{query}", headers=api(env, site))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_summary_counts_conversations_replies_resolutions_and_ratings(env: Env) -> None:
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    answered, _ = await env.widget("a")
    sent = await answered.request("send", client_msg_id="q1", body="paket saya di mana?")
    room_id = sent["message"]["room_id"]
    await answered.request("send", client_msg_id="q2", body="sudah seminggu")
    reply = await agent.request("send", room_id=room_id, client_msg_id="a1", body="Kami cek ya")
    assert reply["type"] == "ack", reply
    note = await agent.request(
        "send", room_id=room_id, client_msg_id="n1", body="cek kurir", kind="note"
    )
    assert note["type"] == "ack", note
    assert (await agent.request("resolve", room_id=room_id))["type"] == "ack"
    assert (await answered.request("rate", room_id=room_id, score=4))["type"] == "ack"
    waiting, _ = await env.widget("a")
    await waiting.request("send", client_msg_id="w1", body="halo?")
    # Another site's conversation counts for that site alone.
    elsewhere, _ = await env.widget("b")
    await elsewhere.request("send", client_msg_id="b1", body="hi")

    body = await summary(env)
    assert set(body) == {
        "from",
        "to",
        "conversations",
        "resolved",
        "messages",
        "first_response_seconds",
        "csat",
        "faq",
    }
    assert body["conversations"] == 2 and body["resolved"] == 1
    assert body["messages"] == {"from_customers": 3, "from_agents": 1}
    assert body["first_response_seconds"]["answered"] == 1
    assert body["first_response_seconds"]["median"] >= 0
    assert body["csat"] == {"average": 4.0, "responses": 1}
    assert body["faq"] == {
        "questions_with_suggestions": 0,
        "helpful": 0,
        "not_helpful": 0,
        "used_by_agents": 0,
        "deflected": 0,
    }
    other = await summary(env, "b")
    assert other["conversations"] == 1 and other["messages"]["from_customers"] == 1
    assert other["csat"] == {"average": None, "responses": 0}
    assert other["first_response_seconds"] == {"median": None, "answered": 0}


async def test_summary_counts_only_its_window(env: Env) -> None:
    shopper, _ = await env.widget("a")
    await shopper.request("send", client_msg_id="q1", body="halo")
    past = await summary(env, query="?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z")
    assert past == {
        "from": "2020-01-01T00:00:00.000Z",
        "to": "2020-02-01T00:00:00.000Z",
        "conversations": 0,
        "resolved": 0,
        "messages": {"from_customers": 0, "from_agents": 0},
        "first_response_seconds": {"median": None, "answered": 0},
        "csat": {"average": None, "responses": 0},
        "faq": {
            "questions_with_suggestions": 0,
            "helpful": 0,
            "not_helpful": 0,
            "used_by_agents": 0,
            "deflected": 0,
        },
    }
    assert (await summary(env))["conversations"] == 1
