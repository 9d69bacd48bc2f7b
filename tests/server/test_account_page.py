"""An agent's own account: name, language, password, sessions and "log out other sessions"."""

from __future__ import annotations

import json
import re

from tests.server.conftest import PASSWORD, Env
from tests.server.test_accounts import EVIL
from tests.server.test_team import agent_headers, http
from tests.server.test_widget_gateway import closed_with

NEW = "another good passphrase"


async def test_the_account_lists_sessions_and_changes_name_and_language(env: Env) -> None:
    email = env.sites["a"].agent_email
    mine = await agent_headers(env, email)
    other = await http(env).post(
        "/api/v1/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"user-agent": "Phone Browser 1.0"},
    )
    http(env).cookies.clear()
    assert other.status_code == 200
    view = (await http(env).get("/api/v1/account", headers=mine)).json()
    assert view["agent"]["email"] == email and view["locale"] is None
    sessions = view["sessions"]
    assert len(sessions) == 2 and [s["current"] for s in sessions].count(True) == 1
    assert {s["device"] for s in sessions} >= {"Phone Browser 1.0"}
    assert all(s["address"] == "127.0.0.1" and s["last_used_at"] for s in sessions)
    assert all("id" not in s for s in sessions)

    changed = await http(env).patch(
        "/api/v1/account", json={"name": "Agen Satu", "locale": "en"}, headers=mine
    )
    assert changed.status_code == 200
    assert changed.json()["agent"]["name"] == "Agen Satu" and changed.json()["locale"] == "en"
    page = await http(env).get("/console/account", headers={"cookie": mine["cookie"]})
    boot = json.loads(re.search(r'id="sapa-boot"[^>]*>(.*?)</script>', page.text, re.S)[1])  # type: ignore[index]
    assert boot["locale"] == "en" and boot["agent"]["name"] == "Agen Satu"
    for bad in ({"locale": "fr"}, {"name": ""}, {"role": "owner"}, {}, []):
        assert (await http(env).patch("/api/v1/account", json=bad, headers=mine)).status_code == 400
    # Someone else's browser cannot change it; an API token is a site, not a person.
    for headers in ({**mine, "origin": EVIL}, {**mine, "x-csrf-token": "nope"}):
        refused = await http(env).patch("/api/v1/account", json={"name": "X"}, headers=headers)
        assert refused.status_code == 403
    bearer = {"authorization": f"Bearer {env.sites['a'].creds.api_token}"}
    assert (await http(env).get("/api/v1/account", headers=bearer)).status_code == 401


async def test_a_new_password_needs_the_current_one_and_ends_the_other_sessions(
    env: Env,
) -> None:
    email = env.sites["a"].agent_email
    socket, _, other_session, _ = await env.agent(email)
    mine = await agent_headers(env, email)
    for body, status in (
        ({"current_password": "wrong password", "new_password": NEW}, 403),
        ({"current_password": PASSWORD, "new_password": "short"}, 400),
        ({"current_password": PASSWORD, "new_password": "password123"}, 400),
        ({"new_password": NEW}, 400),
    ):
        response = await http(env).post("/api/v1/account/password", json=body, headers=mine)
        assert response.status_code == status, body
    done = await http(env).post(
        "/api/v1/account/password",
        json={"current_password": PASSWORD, "new_password": NEW},
        headers=mine,
    )
    assert done.status_code == 200 and done.json() == {"sessions_ended": 1}
    assert await closed_with(socket.ws) == 1012  # reconnect: only this session comes back
    assert (await http(env).get("/api/v1/rooms", headers=other_session)).status_code == 401
    assert (await http(env).get("/api/v1/rooms", headers=mine)).status_code == 200
    assert (await env.login(email, NEW)).status_code == 200
    actions = [
        row["action"]
        for row in env.sql(
            "SELECT action FROM audit_log WHERE actor_id = ?", (env.sites["a"].agent_id,)
        )
    ]
    assert "password_changed" in actions


async def test_guessing_the_current_password_is_throttled(env: Env) -> None:
    mine = await agent_headers(env, env.sites["a"].agent_email)
    statuses = []
    for _ in range(7):
        response = await http(env).post(
            "/api/v1/account/password",
            json={"current_password": "a wrong guess!", "new_password": NEW},
            headers=mine,
        )
        statuses.append(response.status_code)
    assert statuses[:5] == [403] * 5 and statuses[-1] == 429


async def test_logging_out_other_sessions_keeps_this_one(env: Env) -> None:
    email = env.sites["a"].owner_email
    socket, _, other_session, _ = await env.agent(email)
    mine = await agent_headers(env, email)
    refused = await http(env).post(
        "/api/v1/account/sessions/end-others", headers={**mine, "origin": EVIL}
    )
    assert refused.status_code == 403
    done = await http(env).post("/api/v1/account/sessions/end-others", headers=mine)
    assert done.json() == {"sessions_ended": 1}
    assert await closed_with(socket.ws) == 1012
    assert (await http(env).get("/api/v1/rooms", headers=other_session)).status_code == 401
    view = (await http(env).get("/api/v1/account", headers=mine)).json()
    assert [s["current"] for s in view["sessions"]] == [True]
