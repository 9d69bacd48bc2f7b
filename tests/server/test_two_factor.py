"""Two-factor sign-in (TOTP): setting it up, the login's second step, replays, guessing,
recovery codes, and owners requiring it for the whole site."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import websockets

from tests.server.conftest import PASSWORD, Env
from tests.server.test_accounts import EVIL
from tests.server.test_team import agent_headers, http, owner_headers
from tests.server.test_widget_gateway import closed_with


def code_at(secret: str, steps_ahead: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(int(time.time() // 30) + steps_ahead)


async def turn_on(env: Env, headers: dict[str, str]) -> tuple[str, list[str]]:
    setup = await http(env).post("/api/v1/account/2fa/setup", headers=headers)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    assert (
        setup.json()["qr_svg"].startswith("<svg")
        and "otpauth://totp/" in setup.json()["otpauth_uri"]
    )
    enabled = await http(env).post(
        "/api/v1/account/2fa/enable", json={"code": code_at(secret)}, headers=headers
    )
    assert enabled.status_code == 200, enabled.text
    return secret, enabled.json()["recovery_codes"]


async def password_step(env: Env, email: str) -> Any:
    response = await env.login(email)
    assert response.status_code == 200 and "set-cookie" not in response.headers
    body = response.json()
    assert body["two_factor_required"] is True
    return body["challenge"]


async def code_step(env: Env, challenge: str, code: str, **headers: str) -> Any:
    response = await http(env).post(
        "/api/v1/auth/login/2fa",
        json={"challenge": challenge, "code": code},
        headers={"origin": env.url, **headers},
    )
    http(env).cookies.clear()
    return response


async def test_setup_then_login_asks_for_a_code_that_works_once(env: Env) -> None:
    email = env.sites["a"].agent_email
    mine = await agent_headers(env, email)
    setup = await http(env).post("/api/v1/account/2fa/setup", headers=mine)
    wrong = await http(env).post(
        "/api/v1/account/2fa/enable", json={"code": "000000"}, headers=mine
    )
    assert wrong.status_code == 400
    secret = setup.json()["secret"]
    # Both codes taken at one moment: computed later, a 30 s step could pass between.
    enabling, next_step = code_at(secret), code_at(secret, 1)
    enabled = await http(env).post(
        "/api/v1/account/2fa/enable", json={"code": enabling}, headers=mine
    )
    codes = enabled.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = env.sql("SELECT code_hash FROM recovery_codes")
    assert len(stored) == 10 and not {r["code_hash"] for r in stored} & set(codes)
    view = (await http(env).get("/api/v1/account", headers=mine)).json()
    assert view["two_factor"] == {"enabled": True, "recovery_codes_left": 10, "required": False}
    again = await http(env).post("/api/v1/account/2fa/setup", headers=mine)
    assert again.status_code == 409

    # The code that turned it on was used: the next step's code signs in, once.
    challenge = await password_step(env, email)
    used = await code_step(env, challenge, enabling)
    assert used.status_code == 401
    signed_in = await code_step(env, challenge, next_step)
    assert signed_in.status_code == 200 and "sapa_session" in signed_in.cookies
    replay = await code_step(env, await password_step(env, email), next_step)
    assert replay.status_code == 401
    # A used challenge is gone.
    assert (await code_step(env, challenge, next_step)).status_code == 401
    team = (await http(env).get("/api/v1/team", headers=await owner_headers(env))).json()
    assert {a["email"]: a["two_factor"] for a in team["agents"]}[email] is True


async def test_guessing_codes_is_throttled(env: Env) -> None:
    email = env.sites["a"].agent_email
    secret, _ = await turn_on(env, await agent_headers(env, email))
    challenge = await password_step(env, email)
    statuses = [(await code_step(env, challenge, f"{n:06d}")).status_code for n in range(7)]
    assert statuses[:5] == [401] * 5 and statuses[-1] == 429
    # Even the right code waits for the window to pass.
    assert (await code_step(env, challenge, code_at(secret, 1))).status_code == 429
    failures = env.sql("SELECT count(*) AS n FROM audit_log WHERE action = 'login_2fa_failed'")
    assert failures[0]["n"] == 5


async def test_a_recovery_code_signs_in_once(env: Env) -> None:
    email = env.sites["a"].owner_email
    _, codes = await turn_on(env, await agent_headers(env, email))
    first = await code_step(env, await password_step(env, email), codes[0].upper())
    assert first.status_code == 200
    again = await code_step(env, await password_step(env, email), codes[0])
    assert again.status_code == 401
    dashless = await code_step(env, await password_step(env, email), codes[1].replace("-", ""))
    assert dashless.status_code == 200
    logins = env.sql("SELECT detail FROM audit_log WHERE action = 'login' ORDER BY seq")
    assert '"recovery_code"' in logins[-1]["detail"]


async def test_turning_it_off_needs_the_password(env: Env) -> None:
    email = env.sites["a"].agent_email
    mine = await agent_headers(env, email)
    await turn_on(env, mine)
    wrong = await http(env).post(
        "/api/v1/account/2fa/disable", json={"password": "not my password"}, headers=mine
    )
    assert wrong.status_code == 403
    cross = await http(env).post(
        "/api/v1/account/2fa/disable", json={"password": PASSWORD}, headers={**mine, "origin": EVIL}
    )
    assert cross.status_code == 403
    done = await http(env).post(
        "/api/v1/account/2fa/disable", json={"password": PASSWORD}, headers=mine
    )
    assert done.status_code == 200
    assert (await env.login(email)).json()["agent"]["email"] == email
    actions = {r["action"] for r in env.sql("SELECT action FROM audit_log")}
    assert {"2fa_enabled", "2fa_disabled"} <= actions


async def test_the_login_form_works_without_javascript(env: Env) -> None:
    email = env.sites["a"].agent_email
    secret, _ = await turn_on(env, await agent_headers(env, email))
    form = await http(env).post(
        "/api/v1/auth/login",
        data={"email": email, "password": PASSWORD},
        headers={"origin": env.url},
    )
    assert form.status_code == 200 and 'name="challenge"' in form.text
    assert "sapa_session" not in form.headers.get("set-cookie", "")
    challenge = form.text.split('name="challenge" value="', 1)[1].split('"', 1)[0]
    done = await http(env).post(
        "/api/v1/auth/login/2fa",
        data={"challenge": challenge, "code": code_at(secret, 1)},
        headers={"origin": env.url},
    )
    http(env).cookies.clear()
    assert done.status_code == 303 and "sapa_session" in done.headers["set-cookie"]
    cross = await http(env).post(
        "/api/v1/auth/login/2fa",
        data={"challenge": challenge, "code": code_at(secret, 1)},
        headers={"origin": EVIL},
    )
    assert cross.status_code == 403


async def test_owners_can_require_it_for_the_whole_site(env: Env) -> None:
    site = env.sites["a"]
    owner = await owner_headers(env)
    too_soon = await http(env).put(
        "/api/v1/site/two-factor", json={"required": True}, headers=owner
    )
    assert too_soon.status_code == 409  # the owner would lock themself out
    agent = await agent_headers(env, site.agent_email)
    refused = await http(env).put("/api/v1/site/two-factor", json={"required": True}, headers=agent)
    assert refused.status_code == 403
    await turn_on(env, owner)
    done = await http(env).put("/api/v1/site/two-factor", json={"required": True}, headers=owner)
    assert done.json() == {"required": True}

    # The agent without it: only the account page, and no socket.
    assert (await http(env).get("/api/v1/rooms", headers=agent)).status_code == 403
    page = await http(env).get("/console", headers={"cookie": agent["cookie"]})
    assert page.status_code == 303 and page.headers["location"].startswith("/console/account")
    assert (
        await http(env).get("/console/account", headers={"cookie": agent["cookie"]})
    ).status_code == 200
    ws = await websockets.connect(
        env.ws_url + "/ws/agent",
        origin=env.url,
        additional_headers={"cookie": agent["cookie"]},  # type: ignore[arg-type]
    )
    await ws.send('{"type": "hello"}')
    assert await closed_with(ws) == 4403
    view = (await http(env).get("/api/v1/account", headers=agent)).json()
    assert view["two_factor"]["required"] is True
    await turn_on(env, agent)
    assert (await http(env).get("/api/v1/rooms", headers=agent)).status_code == 200
    off = await http(env).post(
        "/api/v1/account/2fa/disable", json={"password": PASSWORD}, headers=agent
    )
    assert off.status_code == 409
    # The site's own server (API token) is not a person and may change the rule.
    bearer = {"authorization": f"Bearer {site.creds.api_token}"}
    lifted = await http(env).put(
        "/api/v1/site/two-factor", json={"required": False}, headers=bearer
    )
    assert lifted.json() == {"required": False}
