"""Console login, CSRF, and the REST endpoints."""

from __future__ import annotations

import json

from tests.server.conftest import PASSWORD, Env


async def test_wrong_password_is_401_and_repeated_failures_are_throttled(env: Env) -> None:
    email = env.sites["a"].agent_email
    for _ in range(5):
        assert (await env.login(email, "wrong password")).status_code == 401
    throttled = await env.login(email, PASSWORD)
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "rate_limited"
    # Another account from the same client is not locked by this one.
    assert (await env.login(env.sites["a"].owner_email)).status_code == 200


async def test_unknown_email_answers_like_a_wrong_password(env: Env) -> None:
    response = await env.login("nobody@nowhere.test", PASSWORD)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_form_login_redirects_to_the_console_and_sets_a_safe_cookie(env: Env) -> None:
    assert env.http is not None
    # A browser's form post carries the page's Origin (a cross-site one is refused).
    env.http.headers["origin"] = env.url
    response = await env.http.post(
        "/api/v1/auth/login", data={"email": env.sites["a"].agent_email, "password": PASSWORD}
    )
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    bad = await env.http.post(
        "/api/v1/auth/login", data={"email": env.sites["a"].agent_email, "password": "nope"}
    )
    assert bad.status_code == 401 and "text/html" in bad.headers["content-type"]
    env.http.cookies.clear()
    del env.http.headers["origin"]


async def test_malformed_login_bodies_are_400(env: Env) -> None:
    assert env.http is not None
    for body in (b"{", b"[]", b'{"email": 1, "password": "x"}', b'{"email": "a@b"}'):
        response = await env.http.post(
            "/api/v1/auth/login", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, body


async def test_console_page_needs_a_session_and_embeds_boot_data(env: Env) -> None:
    assert env.http is not None
    anonymous = await env.http.get("/console")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/login"
    _, _, session, csrf = await env.agent(env.sites["a"].owner_email)
    page = await env.http.get("/console", headers=session)
    assert page.status_code == 200
    boot_text = page.text.split('id="sapa-boot" type="application/json">', 1)[1].split("</script>")[
        0
    ]
    boot = json.loads(boot_text)
    assert boot["csrf_token"] == csrf
    assert boot["site"]["id"] == env.sites["a"].creds.site_id
    assert {a["email"] for a in boot["agents"]} == {
        env.sites["a"].owner_email,
        env.sites["a"].agent_email,
    }
    assert (await env.http.get("/console/login")).status_code == 200


async def test_rest_needs_credentials(env: Env) -> None:
    assert env.http is not None
    for path in ("/api/v1/rooms", "/api/v1/agents", "/api/v1/rooms/x/messages"):
        response = await env.http.get(path)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    bogus = await env.http.get("/api/v1/rooms", headers={"authorization": "Bearer nope"})
    assert bogus.status_code == 401


async def test_rooms_list_filters_and_messages_page(env: Env) -> None:
    site = env.sites["a"]
    token = {"authorization": f"Bearer {site.creds.api_token}"}
    alice, _ = await env.widget("a")
    bob, _ = await env.widget("a")
    for i in range(3):
        ack = await alice.request("send", client_msg_id=f"a{i}", body=f"alice {i}")
    alice_room = ack["message"]["room_id"]
    bob_room = (await bob.request("send", client_msg_id="b", body="bob"))["message"]["room_id"]
    agent, _, session, _ = await env.agent(site.agent_email)
    await agent.request("assign", room_id=bob_room, agent_id=site.agent_id)
    assert env.http is not None

    async def ids(query: str, headers: dict[str, str]) -> set[str]:
        response = await env.http.get("/api/v1/rooms" + query, headers=headers)  # type: ignore[union-attr]
        assert response.status_code == 200, response.text
        return {r["id"] for r in response.json()["items"]}

    assert await ids("?kind=private", token) == {alice_room, bob_room}
    assert await ids("?status=queued", token) == {alice_room}
    assert await ids(f"?assignee={site.agent_id}", token) == {bob_room}
    assert await ids("?assignee=me", session) == {bob_room}
    assert await ids("?assignee=none", token) == {alice_room}
    listed = (await env.http.get("/api/v1/rooms", headers=session)).json()["items"]
    alice_view = next(r for r in listed if r["id"] == alice_room)
    assert alice_view["unread"] == 3 and alice_view["last_message"]["body"] == "alice 2"
    assert (await env.http.get("/api/v1/rooms?status=bogus", headers=token)).status_code == 400
    page = await env.http.get(
        f"/api/v1/rooms/{alice_room}/messages?after_seq=1&limit=1", headers=token
    )
    assert [m["body"] for m in page.json()["items"]] == ["alice 1"] and page.json()["has_more"]
    bad = await env.http.get(f"/api/v1/rooms/{alice_room}/messages?limit=999", headers=token)
    assert bad.status_code == 400
    agents = (await env.http.get("/api/v1/agents", headers=session)).json()["items"]
    me = next(a for a in agents if a["id"] == site.agent_id)
    assert me["online"] is True


async def test_unknown_api_paths_answer_json_404(env: Env) -> None:
    assert env.http is not None
    response = await env.http.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_health_and_readiness(env: Env) -> None:
    assert env.http is not None
    assert (await env.http.get("/healthz")).json() == {"status": "ok"}
    ready = await env.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
