"""Team links and two-factor around them: invitations and reset links emailed through the
outbox to a real SMTP server (aiosmtpd), two-factor set up while accepting an invitation
(required or optional), a reset link for an account with two-factor, an owner resetting an
agent's two-factor, and FAQ imports, reorders and the CLI's changes in the audit log."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mail_servers import SmtpSink, text_of
from tests.server.conftest import PASSWORD, Env, Seed, env_with
from tests.server.test_accounts import sapa
from tests.server.test_team import (
    NEW_PASSWORD,
    accept,
    agent_headers,
    http,
    invite,
    owner_headers,
    token_of,
)
from tests.server.test_two_factor import code_at, code_step, turn_on
from tests.server.test_widget_gateway import closed_with


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
async def mail_env(tmp_path: Path, seeded: Seed, sink: SmtpSink) -> AsyncIterator[Env]:
    async for environment in env_with(
        tmp_path, seeded, smtp_url=sink.url, mail_from="support@shop-a.test", mail_poll=0.05
    ):
        yield environment


def to(address: str) -> Any:
    return lambda m: m["To"].addresses[0].addr_spec == address


async def test_invitations_and_reset_links_are_emailed_in_the_sites_language(
    mail_env: Env, sink: SmtpSink
) -> None:
    env, site = mail_env, mail_env.sites["a"]
    owner = await owner_headers(env)
    made = await invite(env, owner, "Mailed@A.test")
    assert made["emailed"] is True
    [mail] = await sink.wait_for(1, to("mailed@a.test"))
    assert mail["Subject"] == "Undangan bergabung dengan tim Shop A di Sapa"
    assert mail["From"].addresses[0].addr_spec == "support@shop-a.test"
    plain, html = text_of(mail)
    for body in (plain, html):
        assert made["url"] in body and "sebagai agen" in body
    # Resending mails the new link (the old one stops working); the mail's link works.
    resent = await http(env).post(
        f"/api/v1/agents/invitations/{made['invitation_id']}/resend", headers=owner
    )
    assert resent.json()["emailed"] is True and resent.json()["url"] != made["url"]
    mails = await sink.wait_for(2, to("mailed@a.test"))
    assert resent.json()["url"] in text_of(mails[1])[0]
    assert (await accept(env, token_of(resent.json()["url"]))).status_code == 200

    # A reset link goes in the agent's own language when they chose one.
    agent = await agent_headers(env, site.agent_email)
    assert (
        await http(env).patch("/api/v1/account", json={"locale": "en"}, headers=agent)
    ).status_code == 200
    reset = await http(env).post(f"/api/v1/agents/{site.agent_id}/password-reset", headers=owner)
    assert reset.status_code == 201 and reset.json()["emailed"] is True
    [mail] = await sink.wait_for(1, to(site.agent_email))
    assert mail["Subject"] == "Reset your Sapa password for Shop A"
    assert reset.json()["url"] in text_of(mail)[0]
    rows = env.sql("SELECT kind, status FROM mail_outbox ORDER BY created_at")
    assert [r["kind"] for r in rows] == ["team"] * 3


async def test_without_mail_the_link_is_only_shown(env: Env) -> None:
    made = await invite(env, await owner_headers(env), "unmailed@a.test")
    assert made["emailed"] is False and made["url"].startswith(env.url)
    assert env.sql("SELECT id FROM mail_outbox") == []


async def setup_on_invitation(env: Env, token: str) -> str:
    response = await http(env).post(
        "/api/v1/invitations/2fa", json={"token": token}, headers={"origin": env.url}
    )
    assert response.status_code == 200, response.text
    assert response.json()["qr_svg"].startswith("<svg")
    return str(response.json()["secret"])


async def accept_with_code(env: Env, token: str, code: str) -> Any:
    response = await http(env).post(
        "/api/v1/invitations/accept",
        json={"token": token, "name": "Careful Agent", "password": NEW_PASSWORD, "code": code},
        headers={"origin": env.url},
    )
    http(env).cookies.clear()
    return response


async def test_a_site_that_requires_two_factor_makes_the_invitee_enrol_first(env: Env) -> None:
    owner = await owner_headers(env)
    await turn_on(env, owner)
    required = await http(env).put(
        "/api/v1/site/two-factor", json={"required": True}, headers=owner
    )
    assert required.status_code == 200
    token = token_of((await invite(env, owner, "careful@a.test"))["url"])
    page = await http(env).get(f"/console/invite/{token}")
    assert 'data-two-factor="required"' in page.text
    # Without a code: no account, and the link still works.
    refused = await accept(env, token)
    assert refused.status_code == 400 and "two-factor" in refused.json()["error"]["message"]
    assert (await accept_with_code(env, token, "123456")).status_code == 409  # no setup yet
    cross = await http(env).post(
        "/api/v1/invitations/2fa", json={"token": token}, headers={"origin": "https://evil.test"}
    )
    assert cross.status_code == 403
    secret = await setup_on_invitation(env, token)
    assert (await accept_with_code(env, token, "000000")).status_code == 400
    # One code for both: computed twice, a 30 s step could pass between and make a new one.
    enrolled_with = code_at(secret)
    joined = await accept_with_code(env, token, enrolled_with)
    assert joined.status_code == 200, joined.text
    codes = joined.json()["recovery_codes"]
    assert len(codes) == 10 and "sapa_session" in joined.cookies
    # The new session is a full one, and the next login asks for a code.
    cookie = {"cookie": f"sapa_session={joined.cookies['sapa_session']}"}
    assert (await http(env).get("/api/v1/rooms", headers=cookie)).status_code == 200
    login = await env.login("careful@a.test", NEW_PASSWORD)
    assert login.json()["two_factor_required"] is True
    replay = await code_step(env, login.json()["challenge"], enrolled_with)
    assert replay.status_code == 401  # the code that enrolled was used
    assert (await code_step(env, login.json()["challenge"], codes[0])).status_code == 200
    actions = [r["action"] for r in env.sql("SELECT action FROM audit_log ORDER BY seq")]
    assert actions[-4:] == ["invitation_accepted", "2fa_enabled", "login_2fa_failed", "login"]
    # Used: the setup endpoint refuses the link.
    again = await http(env).post(
        "/api/v1/invitations/2fa", json={"token": token}, headers={"origin": env.url}
    )
    assert again.status_code == 410


async def test_two_factor_is_optional_on_an_invitation_otherwise(env: Env) -> None:
    owner = await owner_headers(env)
    plain = token_of((await invite(env, owner, "plain@a.test"))["url"])
    page = await http(env).get(f"/console/invite/{plain}")
    assert 'data-two-factor="optional"' in page.text
    joined = await accept(env, plain)
    assert joined.status_code == 200 and "recovery_codes" not in joined.json()
    chosen = token_of((await invite(env, owner, "chosen@a.test"))["url"])
    secret = await setup_on_invitation(env, chosen)
    assert (await accept_with_code(env, chosen, code_at(secret))).status_code == 200
    team = (await http(env).get("/api/v1/team", headers=owner)).json()
    on = {a["email"]: a["two_factor"] for a in team["agents"]}
    assert on["plain@a.test"] is False and on["chosen@a.test"] is True


async def test_a_reset_link_does_not_skip_the_second_factor(env: Env) -> None:
    site = env.sites["a"]
    secret, _ = await turn_on(env, await agent_headers(env, site.agent_email))
    owner = await owner_headers(env)
    made = await http(env).post(f"/api/v1/agents/{site.agent_id}/password-reset", headers=owner)
    done = await http(env).post(
        "/api/v1/auth/reset",
        json={"token": token_of(made.json()["url"]), "password": NEW_PASSWORD},
        headers={"origin": env.url},
    )
    assert done.status_code == 200 and "sapa_session" not in done.cookies
    assert done.json()["two_factor_required"] is True
    http(env).cookies.clear()
    signed_in = await code_step(env, done.json()["challenge"], code_at(secret, 1))
    assert signed_in.status_code == 200 and "sapa_session" in signed_in.cookies
    assert (await env.login(site.agent_email, NEW_PASSWORD)).json()["two_factor_required"]


async def test_an_owner_resets_an_agents_two_factor_and_their_sessions_end(env: Env) -> None:
    site = env.sites["a"]
    socket, _, session, csrf = await env.agent(site.agent_email)
    await turn_on(env, {**session, "x-csrf-token": csrf, "origin": env.url})
    owner = await owner_headers(env)
    path = f"/api/v1/agents/{site.agent_id}/2fa/reset"
    # Another origin may not; another site's agent is not found; one's own is the account's.
    cross = await http(env).post(path, headers={**owner, "origin": "https://evil.test"})
    assert cross.status_code == 403
    other = f"/api/v1/agents/{env.sites['b'].agent_id}/2fa/reset"
    assert (await http(env).post(other, headers=owner)).status_code == 404
    mine = f"/api/v1/agents/{site.owner_id}/2fa/reset"
    assert (await http(env).post(mine, headers=owner)).status_code == 409
    done = await http(env).post(path, headers=owner)
    assert done.status_code == 200, done.text
    assert done.json() == {"id": site.agent_id, "two_factor": False, "sessions_ended": 1}
    assert await closed_with(socket.ws) == 4000
    assert (await http(env).get("/api/v1/rooms", headers=session)).status_code == 401
    assert (await http(env).post(path, headers=owner)).status_code == 409  # already off
    # The password alone signs in now.
    assert "csrf_token" in (await env.login(site.agent_email, PASSWORD)).json()
    [entry] = (
        await http(env).get("/api/v1/audit", params={"action": "2fa_reset"}, headers=owner)
    ).json()["items"]
    assert entry["target"] == site.agent_id and entry["actor"]["id"] == site.owner_id
    plain_agent = await agent_headers(env, site.agent_email)
    refused = await http(env).post(f"/api/v1/agents/{site.owner_id}/2fa/reset", headers=plain_agent)
    assert refused.status_code == 403


async def test_faq_imports_and_reorders_are_audited(env: Env) -> None:
    owner = await owner_headers(env)
    rows = [{"question": f"Pertanyaan {n}?", "answer": f"Jawaban {n}."} for n in range(2)]
    imported = await http(env).post(
        "/api/v1/faq/import?format=json",
        content=json.dumps(rows),
        headers={**owner, "content-type": "application/json"},
    )
    assert imported.status_code == 200, imported.text
    ids = [e["id"] for e in (await http(env).get("/api/v1/faq", headers=owner)).json()["items"]]
    moved = await http(env).post(
        "/api/v1/faq/reorder", json={"ids": list(reversed(ids))}, headers=owner
    )
    assert moved.status_code == 200
    unknown = await http(env).post("/api/v1/faq/reorder", json={"ids": ["faq_x"]}, headers=owner)
    assert unknown.status_code == 404
    items = (await http(env).get("/api/v1/audit", headers=owner)).json()["items"]
    assert [(i["action"], i["detail"]) for i in items[:2]] == [
        ("faq_reordered", {}),
        ("faq_imported", {"entries": 2}),
    ]


async def test_changes_made_from_the_cli_are_audited(env: Env) -> None:
    email = env.sites["a"].agent_email
    for args, stdin in (
        (("deactivate", email), None),
        (("activate", email), None),
        (("set-password", email, "--password-stdin"), "a brand new passphrase\n"),
    ):
        done = sapa(env, "agent", *args, stdin=stdin)
        assert done.returncode == 0, done.stderr
    rows = env.sql("SELECT actor_id, actor_name, action, target FROM audit_log ORDER BY seq")
    assert [(r["actor_id"], r["actor_name"], r["action"], r["target"]) for r in rows] == [
        (None, "sapa CLI", action, env.sites["a"].agent_id)
        for action in ("agent_deactivated", "agent_activated", "password_changed")
    ]
