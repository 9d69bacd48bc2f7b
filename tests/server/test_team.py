"""Team administration: invitations, reset links, owners changing agents, the audit log,
and every bad input the issue names (expired, reused, forged and revoked links, an existing
account, the last owner, agents on owners' routes, CSRF and Origin, another site's ids)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from typing import Any

import httpx

from chat_server.domain.identity import user_hash
from tests.conftest import timeout
from tests.server.conftest import PASSWORD, Env
from tests.server.test_accounts import EVIL, sapa
from tests.server.test_widget_gateway import closed_with

NEW_PASSWORD = "a fresh team passphrase"


async def owner_headers(env: Env, site: str = "a") -> dict[str, str]:
    """A logged-in owner's cookie, CSRF token and the console's own Origin."""
    response = await env.login(env.sites[site].owner_email)
    assert response.status_code == 200, response.text
    cookie = response.cookies["sapa_session"]
    return {
        "cookie": f"sapa_session={cookie}",
        "x-csrf-token": response.json()["csrf_token"],
        "origin": env.url,
    }


async def agent_headers(env: Env, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = await env.login(email, password)
    assert response.status_code == 200, response.text
    return {
        "cookie": f"sapa_session={response.cookies['sapa_session']}",
        "x-csrf-token": response.json()["csrf_token"],
        "origin": env.url,
    }


def http(env: Env) -> httpx.AsyncClient:
    assert env.http is not None
    return env.http


async def invite(env: Env, headers: dict[str, str], email: str, role: str = "agent") -> Any:
    response = await http(env).post(
        "/api/v1/agents/invitations", json={"email": email, "role": role}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


async def accept(env: Env, token: str, name: str = "New Agent", password: str = NEW_PASSWORD):  # type: ignore[no-untyped-def]
    response = await http(env).post(
        "/api/v1/invitations/accept",
        json={"token": token, "name": name, "password": password},
        headers={"origin": env.url},
    )
    http(env).cookies.clear()
    return response


async def test_an_invitation_makes_an_account_once_and_lands_in_the_console(env: Env) -> None:
    owner = await owner_headers(env)
    made = await invite(env, owner, "New.Agent@A.test")
    assert set(made) >= {"invitation_id", "url", "expires_at"}
    assert made["url"].startswith(env.url + "/console/invite/")
    token = token_of(made["url"])
    page = await http(env).get(f"/console/invite/{token}")
    assert page.status_code == 200 and "new.agent@a.test" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    listed = await http(env).get("/api/v1/agents/invitations", headers=owner)
    assert [i["email"] for i in listed.json()["items"]] == ["new.agent@a.test"]

    joined = await accept(env, token)
    assert joined.status_code == 200, joined.text
    assert joined.json()["agent"]["role"] == "agent"
    cookie = joined.cookies["sapa_session"]
    console = await http(env).get("/console", headers={"cookie": f"sapa_session={cookie}"})
    assert console.status_code == 200 and "New Agent" in console.text
    assert (await env.login("new.agent@a.test", NEW_PASSWORD)).status_code == 200

    # Single use: the same link again is gone, on the page and the API.
    again = await accept(env, token, "Someone Else")
    assert again.status_code == 410 and again.json()["error"]["code"] == "gone"
    assert (await http(env).get(f"/console/invite/{token}")).status_code == 410
    team = (await http(env).get("/api/v1/team", headers=owner)).json()
    assert "new.agent@a.test" in [a["email"] for a in team["agents"]]
    assert team["invitations"] == []


async def test_forged_expired_revoked_and_resent_links_are_refused(env: Env) -> None:
    owner = await owner_headers(env)
    made = await invite(env, owner, "late@a.test")
    token = token_of(made["url"])
    link_id, secret = token.split(".", 1)
    for forged in (f"{link_id}.{secret[:-2]}xx", f"inv_nothing.{secret}", link_id, "x" * 500):
        response = await accept(env, forged)
        assert response.status_code in (400, 404), (forged, response.text)
    # Resending gives a new secret: the old link stops working, the new one works.
    resent = await http(env).post(
        f"/api/v1/agents/invitations/{made['invitation_id']}/resend", headers=owner
    )
    assert resent.status_code == 200
    assert (await accept(env, token)).status_code == 404
    new_token = token_of(resent.json()["url"])
    # Revoked: gone.
    revoked = await http(env).delete(
        f"/api/v1/agents/invitations/{made['invitation_id']}", headers=owner
    )
    assert revoked.status_code == 204
    assert (await accept(env, new_token)).status_code == 410
    # Expired: gone.
    later = await invite(env, owner, "later@a.test")
    env.sql(
        "UPDATE agent_links SET expires_at = '2000-01-01T00:00:00.000Z' WHERE id = ?",
        (later["invitation_id"],),
    )
    expired = await accept(env, token_of(later["url"]))
    assert expired.status_code == 410
    assert (await http(env).get(f"/console/invite/{token_of(later['url'])}")).status_code == 410


async def test_invitations_refuse_existing_accounts_bad_input_and_weak_passwords(
    env: Env,
) -> None:
    owner = await owner_headers(env)
    site = env.sites["a"]
    for email in (site.agent_email, env.sites["b"].owner_email.upper()):
        taken = await http(env).post(
            "/api/v1/agents/invitations", json={"email": email}, headers=owner
        )
        assert taken.status_code == 409, email
    for body in ({"email": "not an email"}, {"email": "x@y.test", "role": "admin"}, []):
        bad = await http(env).post("/api/v1/agents/invitations", json=body, headers=owner)
        assert bad.status_code == 400, body
    token = token_of((await invite(env, owner, "weak@a.test"))["url"])
    for password in ("short", "1234567890", "Basketball", "qwertyuiop"):
        weak = await accept(env, token, password=password)
        assert weak.status_code == 400, password
    assert (await accept(env, token, name="")).status_code == 400
    # The refusals did not use the link up.
    assert (await accept(env, token)).status_code == 200


async def test_new_forms_check_csrf_and_origin(env: Env) -> None:
    owner = await owner_headers(env)
    body = {"email": "csrf@a.test"}
    for headers in (
        {**owner, "origin": EVIL},
        {k: v for k, v in owner.items() if k != "x-csrf-token"},
        {**owner, "x-csrf-token": "wrong"},
    ):
        refused = await http(env).post("/api/v1/agents/invitations", json=body, headers=headers)
        assert refused.status_code == 403
        patched = await http(env).patch(
            f"/api/v1/agents/{env.sites['a'].agent_id}", json={"active": False}, headers=headers
        )
        assert patched.status_code == 403
        two_factor_off = await http(env).post(
            f"/api/v1/agents/{env.sites['a'].agent_id}/2fa/reset", headers=headers
        )
        assert two_factor_off.status_code == 403
    token = token_of((await invite(env, owner, "csrf@a.test"))["url"])
    cross = await http(env).post(
        "/api/v1/invitations/accept",
        json={"token": token, "name": "X", "password": NEW_PASSWORD},
        headers={"origin": EVIL},
    )
    assert cross.status_code == 403 and "set-cookie" not in cross.headers
    # As with the login: no Origin is only for API clients that hold no cookies.
    reset = await http(env).post(
        "/api/v1/auth/reset",
        json={"token": token, "password": NEW_PASSWORD},
        headers={"cookie": "theme=dark"},
    )
    assert reset.status_code == 403


async def test_agents_get_403_on_owners_routes_and_other_sites_ids_are_not_found(
    env: Env,
) -> None:
    site, other = env.sites["a"], env.sites["b"]
    agent = await agent_headers(env, site.agent_email)
    for method, path, body in (
        ("GET", "/api/v1/team", None),
        ("POST", "/api/v1/agents/invitations", {"email": "x@a.test"}),
        ("GET", "/api/v1/agents/invitations", None),
        ("PATCH", f"/api/v1/agents/{site.owner_id}", {"active": False}),
        ("POST", f"/api/v1/agents/{site.owner_id}/password-reset", None),
        ("POST", f"/api/v1/agents/{site.owner_id}/2fa/reset", None),
        ("GET", "/api/v1/audit", None),
        ("GET", "/api/v1/audit.csv", None),
        ("PUT", "/api/v1/audit/settings", {"retention_days": 90}),
    ):
        response = await http(env).request(method, path, json=body, headers=agent)
        assert response.status_code == 403, (method, path, response.text)
    page = await http(env).get("/console/agents", headers={"cookie": agent["cookie"]})
    assert page.status_code == 403
    owner = await owner_headers(env)
    for method, path in (
        ("PATCH", f"/api/v1/agents/{other.agent_id}"),
        ("POST", f"/api/v1/agents/{other.agent_id}/password-reset"),
    ):
        response = await http(env).request(method, path, json={"active": False}, headers=owner)
        assert response.status_code == 404, path
    b_owner = await owner_headers(env, "b")
    made = await invite(env, b_owner, "b-new@b.test")
    for method, path in (
        ("POST", f"/api/v1/agents/invitations/{made['invitation_id']}/resend"),
        ("DELETE", f"/api/v1/agents/invitations/{made['invitation_id']}"),
    ):
        assert (await http(env).request(method, path, headers=owner)).status_code == 404
    assert (await env.login(other.agent_email)).status_code == 200  # untouched


async def test_deactivation_ends_sessions_closes_sockets_and_requeues_conversations(
    env: Env,
) -> None:
    site = env.sites["a"]
    owner = await owner_headers(env)
    socket, _, session, _ = await env.agent(site.agent_email)
    widget, _ = await env.widget("a")
    sent = await widget.request("send", client_msg_id="c1", body="halo, paket saya mana?")
    room_id = sent["message"]["room_id"]
    assigned = await socket.request("assign", room_id=room_id, agent_id=site.agent_id)
    assert assigned["type"] == "ack", assigned

    done = await http(env).patch(
        f"/api/v1/agents/{site.agent_id}", json={"active": False}, headers=owner
    )
    assert done.status_code == 200 and done.json()["active"] is False
    assert await closed_with(socket.ws) == 4000
    assert (await http(env).get("/api/v1/rooms", headers=session)).status_code == 401
    assert (await env.login(site.agent_email)).status_code == 403
    room = await http(env).get(f"/api/v1/rooms/{room_id}", headers=owner)
    assert room.json()["status"] == "queued" and room.json()["assignee"] is None

    back = await http(env).patch(
        f"/api/v1/agents/{site.agent_id}", json={"active": True, "name": "Agent A2"}, headers=owner
    )
    assert back.status_code == 200 and back.json()["name"] == "Agent A2"
    assert (await env.login(site.agent_email)).status_code == 200


async def test_the_last_active_owner_stays(env: Env) -> None:
    site = env.sites["a"]
    owner = await owner_headers(env)
    for change in ({"active": False}, {"role": "agent"}):
        refused = await http(env).patch(
            f"/api/v1/agents/{site.owner_id}", json=change, headers=owner
        )
        assert refused.status_code == 409, change
    for bad in ({"role": "admin"}, {"active": "no"}, {"name": ""}, {"email": "x@y.z"}, {}):
        response = await http(env).patch(f"/api/v1/agents/{site.owner_id}", json=bad, headers=owner)
        assert response.status_code == 400, bad
    # With a second owner, the first may step down.
    promoted = await http(env).patch(
        f"/api/v1/agents/{site.agent_id}", json={"role": "owner"}, headers=owner
    )
    assert promoted.status_code == 200
    stepped = await http(env).patch(
        f"/api/v1/agents/{site.owner_id}", json={"role": "agent"}, headers=owner
    )
    assert stepped.status_code == 200 and stepped.json()["role"] == "agent"
    again = await http(env).patch(
        f"/api/v1/agents/{site.agent_id}", json={"active": False}, headers=owner
    )
    # The session's role is read per request: the former owner is an agent now.
    assert again.status_code == 403


async def test_a_reset_link_sets_a_password_once_and_ends_other_sessions(env: Env) -> None:
    site = env.sites["a"]
    owner = await owner_headers(env)
    socket, _, session, _ = await env.agent(site.agent_email)
    made = await http(env).post(f"/api/v1/agents/{site.agent_id}/password-reset", headers=owner)
    assert made.status_code == 201
    url = made.json()["url"]
    assert "/console/reset/" in url
    token = token_of(url)
    assert (await http(env).get(f"/console/reset/{token}")).status_code == 200
    # An invitation's endpoint does not take a reset link, nor the other way round.
    assert (await accept(env, token)).status_code == 404
    weak = await http(env).post(
        "/api/v1/auth/reset",
        json={"token": token, "password": "password1234"},
        headers={"origin": env.url},
    )
    assert weak.status_code == 400
    done = await http(env).post(
        "/api/v1/auth/reset",
        json={"token": token, "password": NEW_PASSWORD},
        headers={"origin": env.url},
    )
    http(env).cookies.clear()
    assert done.status_code == 200 and "sapa_session" in done.cookies
    assert await closed_with(socket.ws) == 4000
    assert (await http(env).get("/api/v1/rooms", headers=session)).status_code == 401
    assert (await env.login(site.agent_email)).status_code == 401
    assert (await env.login(site.agent_email, NEW_PASSWORD)).status_code == 200
    reused = await http(env).post(
        "/api/v1/auth/reset",
        json={"token": token, "password": "yet another passphrase"},
        headers={"origin": env.url},
    )
    assert reused.status_code == 410


async def test_the_audit_log_records_the_steps_filters_and_exports(env: Env) -> None:
    site = env.sites["a"]
    assert (await env.login(site.agent_email, "wrong password")).status_code == 401
    owner = await owner_headers(env)
    made = await invite(env, owner, "audited@a.test")
    assert (await accept(env, token_of(made["url"]))).status_code == 200
    await http(env).patch(f"/api/v1/agents/{site.agent_id}", json={"active": False}, headers=owner)
    items = (await http(env).get("/api/v1/audit", headers=owner)).json()["items"]
    actions = [i["action"] for i in items]
    assert actions[:4] == [
        "agent_deactivated",
        "invitation_accepted",
        "invitation_created",
        "login",
    ]
    assert "login_failed" in actions
    failed = next(i for i in items if i["action"] == "login_failed")
    assert failed["address"] == "127.0.0.1" and failed["actor"]["id"] == site.agent_id
    only = await http(env).get(
        "/api/v1/audit", params={"action": "login", "actor": site.owner_id}, headers=owner
    )
    assert {i["action"] for i in only.json()["items"]} == {"login"}
    none = await http(env).get("/api/v1/audit", params={"from": "2999-01-01"}, headers=owner)
    assert none.json()["items"] == []
    exported = await http(env).get("/api/v1/audit.csv", headers=owner)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0][:4] == ["at", "actor_id", "actor_name", "action"]
    assert len(rows) == len(items) + 1
    # Another site's log shows none of it.
    b_items = (await http(env).get("/api/v1/audit", headers=await owner_headers(env, "b"))).json()
    assert {i["action"] for i in b_items["items"]} == {"login"}

    assert (await http(env).get("/api/v1/audit/settings", headers=owner)).json() == {
        "retention_days": 365
    }
    for bad in (5, 10_000, "90", True):
        response = await http(env).put(
            "/api/v1/audit/settings", json={"retention_days": bad}, headers=owner
        )
        assert response.status_code == 400, bad
    env.sql("UPDATE audit_log SET at = '2001-01-01T00:00:00.000Z' WHERE action = 'login_failed'")
    kept = await http(env).put("/api/v1/audit/settings", json={"retention_days": 90}, headers=owner)
    assert kept.json() == {"retention_days": 90}
    after = [
        i["action"] for i in (await http(env).get("/api/v1/audit", headers=owner)).json()["items"]
    ]
    assert after[0] == "settings_changed" and "login_failed" not in after


async def test_the_cli_invites_and_prints_the_link(env: Env) -> None:
    site = env.sites["a"]
    done = sapa(
        env,
        "agent",
        "invite",
        "--site",
        site.creds.site_id,
        "--email",
        "cli@a.test",
        "--role",
        "owner",
        "--base-url",
        env.url,
    )
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip().splitlines()[-1]
    assert url.startswith(env.url + "/console/invite/")
    joined = await accept(env, token_of(url), "From CLI")
    assert joined.status_code == 200 and joined.json()["agent"]["role"] == "owner"
    taken = sapa(
        env,
        "agent",
        "invite",
        "--site",
        site.creds.site_id,
        "--email",
        site.agent_email,
        "--base-url",
        env.url,
    )
    assert taken.returncode != 0 and "already exists" in taken.stderr


def run_node(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", "-e", code], capture_output=True, text=True, timeout=timeout(30), env=os.environ
    )


async def test_owners_rotate_the_api_token_and_identity_secret_once_shown(env: Env) -> None:
    site = env.sites["a"]
    owner = await owner_headers(env)
    agent = await agent_headers(env, site.agent_email)
    for path in ("/api/v1/site/api-token/rotate", "/api/v1/site/identity-secret/rotate"):
        assert (await http(env).post(path, headers=agent)).status_code == 403
        assert (await http(env).post(path, headers={**owner, "origin": EVIL})).status_code == 403
    old = {"authorization": f"Bearer {site.creds.api_token}"}
    assert (await http(env).get("/api/v1/agents", headers=old)).status_code == 200
    rotated = await http(env).post("/api/v1/site/api-token/rotate", headers=owner)
    token = rotated.json()["api_token"]
    assert (await http(env).get("/api/v1/agents", headers=old)).status_code == 401
    new = {"authorization": f"Bearer {token}"}
    assert (await http(env).get("/api/v1/agents", headers=new)).status_code == 200
    assert token not in str(env.sql("SELECT * FROM sites"))

    secret = (await http(env).post("/api/v1/site/identity-secret/rotate", headers=owner)).json()[
        "identity_secret"
    ]
    install = (await http(env).get("/api/v1/site/install", headers=owner)).json()
    assert secret not in str(install)
    snippets = install["user_hash_snippets"]
    # Each snippet computes the same user_hash as the server checks.
    expected = user_hash(secret, "cus-42")
    scope: dict[str, Any] = {"customer_id": "cus-42"}
    os.environ["SAPA_IDENTITY_SECRET"] = secret
    try:
        exec(snippets["python"], scope)
        node = run_node(f"const customerId = 'cus-42';\n{snippets['node']}\nconsole.log(userHash)")
    finally:
        del os.environ["SAPA_IDENTITY_SECRET"]
    assert scope["user_hash"] == expected
    assert node.stdout.strip() == expected, node.stderr
    assert "hash_hmac('sha256'" in snippets["php"]
    widget_token = (await env.widget_session("a"))["token"]
    identified = await http(env).post(
        "/api/widget/identify",
        json={"external_id": "cus-42", "user_hash": expected},
        headers={"authorization": f"Bearer {widget_token}", "origin": site.origin},
    )
    assert identified.status_code == 200, identified.text
    actions = [r["action"] for r in env.sql("SELECT action FROM audit_log ORDER BY seq")]
    assert actions[-2:] == ["api_token_rotated", "identity_secret_rotated"]


async def test_the_audit_log_records_changes_made_elsewhere_in_the_console(env: Env) -> None:
    owner = await owner_headers(env)
    assert (
        await http(env).put("/api/v1/site", json={"greeting": "Halo!"}, headers=owner)
    ).status_code == 200
    faq = await http(env).post(
        "/api/v1/faq", json={"question": "Ongkir?", "answer": "Gratis."}, headers=owner
    )
    faq_id = faq.json()["id"]
    assert (await http(env).delete(f"/api/v1/faq/{faq_id}", headers=owner)).status_code == 200
    bearer = {"authorization": f"Bearer {env.sites['a'].creds.api_token}"}
    customer = await http(env).put(
        "/api/v1/customers/by-external-id/u-audit", json={"name": "Budi"}, headers=bearer
    )
    customer_id = customer.json()["id"]
    exported = await http(env).get(f"/api/v1/customers/{customer_id}/export", headers=owner)
    assert exported.status_code == 200
    erased = await http(env).delete(f"/api/v1/customers/{customer_id}", headers=owner)
    assert erased.status_code in (200, 204)
    room = await http(env).post("/api/v1/rooms", json={"name": "Promo"}, headers=owner)
    room_id = room.json()["id"]
    archived = await http(env).patch(
        f"/api/v1/rooms/{room_id}", json={"archived": True}, headers=owner
    )
    assert archived.status_code == 200
    items = (await http(env).get("/api/v1/audit", headers=owner)).json()["items"]
    found = [(i["action"], i["target"]) for i in reversed(items) if i["action"] != "login"]
    assert found == [
        ("settings_changed", "site"),
        ("faq_published", faq_id),
        ("faq_deleted", faq_id),
        ("customer_exported", customer_id),
        ("customer_erased", customer_id),
        ("room_archived", room_id),
    ]
    assert items[-1]["detail"] == {} and items[0]["actor"]["id"] == env.sites["a"].owner_id
