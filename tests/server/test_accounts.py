"""Console accounts under attack: login CSRF, session lifetimes, throttling under concurrency,
and departed agents locked out (sessions ended, sockets closed) from another process."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from chat_server.bus import Event, MemoryBus
from chat_server.errors import ErrorCode, SapaError
from chat_server.ids import format_time
from chat_server.services.console_auth import CLIENT_LIMIT, EMAIL_LIMIT, ConsoleAuth
from chat_server.store import open_database
from chat_server.web.gateway import CLOSE_RESTART, CLOSE_SESSION_ENDED
from tests.conftest import timeout
from tests.server.conftest import PASSWORD, Env, SiteFixture
from tests.server.test_widget_gateway import closed_with

EVIL = "https://evil.test"


@asynccontextmanager
async def client_from(env: Env, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose connections come from another loopback address (another "machine")."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(
        base_url=env.url, transport=transport, limits=limits, timeout=timeout(60)
    ) as http:
        yield http


def login_body(email: str, password: str = PASSWORD) -> dict[str, str]:
    return {"email": email, "password": password}


def query(env: Env, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    return env.sql(sql, params)


def sapa(env: Env, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The operator's CLI, in its own process, on the running server's database."""
    return subprocess.run(
        [sys.executable, "-m", "chat_server", *args, "--db", env.app_settings.db_path],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout(60),
    )


# -- login CSRF -------------------------------------------------------------------------


async def test_a_cross_site_form_post_never_logs_the_browser_in(env: Env) -> None:
    assert env.http is not None
    form = login_body(env.sites["a"].agent_email)
    attacks = [
        {"origin": EVIL},
        {"origin": "null"},  # a sandboxed iframe or a no-referrer page
        {"referer": EVIL + "/promo"},
        {},  # an old browser that sent neither: a form is never trusted without them
        {"origin": EVIL, "referer": env.url + "/console/login"},
    ]
    for headers in attacks:
        response = await env.http.post("/api/v1/auth/login", data=form, headers=headers)
        assert response.status_code == 403, headers
        assert "set-cookie" not in response.headers, headers
    assert query(env, "SELECT count(*) AS n FROM console_sessions")[0]["n"] == 0
    # The console's own login page posts from its own origin.
    own = await env.http.post("/api/v1/auth/login", data=form, headers={"origin": env.url})
    assert own.status_code == 303 and "sapa_session" in own.headers["set-cookie"]
    env.http.cookies.clear()
    by_referer = await env.http.post(
        "/api/v1/auth/login", data=form, headers={"referer": env.url + "/console/login"}
    )
    assert by_referer.status_code == 303
    env.http.cookies.clear()


async def test_login_without_origin_is_only_for_json_api_clients_without_cookies(
    env: Env,
) -> None:
    assert env.http is not None
    body = login_body(env.sites["a"].agent_email)
    api_client = await env.http.post("/api/v1/auth/login", json=body)
    assert api_client.status_code == 200
    env.http.cookies.clear()
    with_cookie = await env.http.post(
        "/api/v1/auth/login", json=body, headers={"cookie": "theme=dark"}
    )
    assert with_cookie.status_code == 403


async def test_cookie_authenticated_writes_check_origin_and_bearer_tokens_do_not(
    env: Env,
) -> None:
    assert env.http is not None
    _, _, session, csrf = await env.agent(env.sites["a"].owner_email)
    cookie_auth = {**session, "x-csrf-token": csrf}
    refused = await env.http.post(
        "/api/v1/rooms", json={"name": "Evil"}, headers={**cookie_auth, "origin": EVIL}
    )
    assert refused.status_code == 403
    refused = await env.http.post(
        "/api/v1/rooms", json={"name": "Evil"}, headers={**cookie_auth, "referer": EVIL + "/"}
    )
    assert refused.status_code == 403
    own = await env.http.post(
        "/api/v1/rooms", json={"name": "Promo"}, headers={**cookie_auth, "origin": env.url}
    )
    assert own.status_code in (200, 201), own.text
    # Reads are not writes: a cross-site GET changes nothing and is not refused here.
    assert (await env.http.get("/api/v1/rooms", headers={**session, "origin": EVIL})).is_success
    bearer = {"authorization": f"Bearer {env.sites['a'].creds.api_token}", "origin": EVIL}
    by_token = await env.http.post("/api/v1/rooms", json={"name": "Sale"}, headers=bearer)
    assert by_token.status_code in (200, 201), by_token.text
    names = {r["name"] for r in query(env, "SELECT name FROM rooms WHERE kind = 'public'")}
    assert "Evil" not in names and {"Promo", "Sale"} <= names


async def test_a_cross_site_logout_is_refused(env: Env) -> None:
    assert env.http is not None
    _, _, session, csrf = await env.agent(env.sites["a"].agent_email)
    refused = await env.http.post(
        "/api/v1/auth/logout", headers={**session, "x-csrf-token": csrf, "origin": EVIL}
    )
    assert refused.status_code == 403
    assert (await env.http.get("/api/v1/rooms", headers=session)).status_code == 200


# -- session lifetimes ------------------------------------------------------------------


def _session_id(env: Env) -> str:
    rows = query(env, "SELECT id FROM console_sessions ORDER BY created_at DESC LIMIT 1")
    return str(rows[0]["id"])


async def test_a_26_year_old_session_is_refused_and_deleted(env: Env) -> None:
    assert env.http is not None
    _, _, session, _ = await env.agent(env.sites["a"].agent_email)
    sid = _session_id(env)
    # Used a minute ago, but begun in 2000: the absolute lifetime (30 days) ended it.
    recent = format_time(datetime.now(UTC) - timedelta(minutes=1))
    query(
        env,
        "UPDATE console_sessions SET created_at = ?, last_used_at = ? WHERE id = ?",
        ("2000-01-01T00:00:00.000Z", recent, sid),
    )
    assert (await env.http.get("/api/v1/rooms", headers=session)).status_code == 401
    assert query(env, "SELECT id FROM console_sessions WHERE id = ?", (sid,)) == []
    page = await env.http.get("/console", headers=session)
    assert page.status_code == 303 and page.headers["location"] == "/console/login"


async def test_an_idle_session_ends_and_use_keeps_one_alive_with_few_writes(env: Env) -> None:
    assert env.http is not None
    _, _, session, _ = await env.agent(env.sites["a"].agent_email)
    sid = _session_id(env)
    now = datetime.now(UTC)
    # Used 11 hours ago (idle limit 12 h): still alive, and this use is recorded.
    eleven = format_time(now - timedelta(hours=11))
    query(env, "UPDATE console_sessions SET last_used_at = ? WHERE id = ?", (eleven, sid))
    assert (await env.http.get("/api/v1/rooms", headers=session)).status_code == 200
    touched = query(env, "SELECT last_used_at FROM console_sessions WHERE id = ?", (sid,))
    stamp = touched[0]["last_used_at"]
    assert stamp > format_time(now - timedelta(minutes=1))
    # Requests right after do not write the time again (at most one write a minute).
    for _ in range(5):
        assert (await env.http.get("/api/v1/rooms", headers=session)).status_code == 200
    again = query(env, "SELECT last_used_at FROM console_sessions WHERE id = ?", (sid,))
    assert again[0]["last_used_at"] == stamp
    seen = query(
        env, "SELECT last_seen_at FROM agents WHERE email = ?", (env.sites["a"].agent_email,)
    )
    assert seen[0]["last_seen_at"] == stamp
    # Unused for 13 hours: over.
    thirteen = format_time(now - timedelta(hours=13))
    query(env, "UPDATE console_sessions SET last_used_at = ? WHERE id = ?", (thirteen, sid))
    assert (await env.http.get("/api/v1/rooms", headers=session)).status_code == 401


async def test_every_login_makes_a_new_session_and_ends_the_one_presented(env: Env) -> None:
    assert env.http is not None
    _, _, first, _ = await env.agent(env.sites["a"].agent_email)
    # The browser logs in again while it still holds the first cookie (e.g. a fixated one).
    again = await env.http.post(
        "/api/v1/auth/login",
        json=login_body(env.sites["a"].agent_email),
        headers={**first, "origin": env.url},
    )
    env.http.cookies.clear()
    assert again.status_code == 200
    second = {"cookie": f"sapa_session={again.cookies['sapa_session']}"}
    assert second != first
    assert (await env.http.get("/api/v1/rooms", headers=first)).status_code == 401
    assert (await env.http.get("/api/v1/rooms", headers=second)).status_code == 200
    assert query(env, "SELECT count(*) AS n FROM console_sessions")[0]["n"] == 1


# -- throttling under concurrency -------------------------------------------------------


async def test_forty_concurrent_guesses_check_at_most_the_limit(env: Env) -> None:
    email = env.sites["a"].agent_email
    guesses = [f"wrong guess {i:02d}" for i in range(39)] + [PASSWORD]
    async with client_from(env, "127.0.0.2") as attacker:
        burst = await asyncio.gather(
            *(attacker.post("/api/v1/auth/login", json=login_body(email, p)) for p in guesses)
        )
        statuses = Counter(r.status_code for r in burst)
        # 401 and 200 are answers after a password check; 429 is answered without one.
        assert set(statuses) <= {200, 401, 429}, statuses
        assert statuses[401] + statuses[200] <= EMAIL_LIMIT, statuses
        assert statuses[429] >= len(guesses) - EMAIL_LIMIT
        # Keep guessing one at a time: the limit holds, and then the right password is refused.
        checked = statuses[401]
        while True:
            response = await attacker.post(
                "/api/v1/auth/login", json=login_body(email, "yet another guess")
            )
            if response.status_code == 429:
                break
            assert response.status_code == 401
            checked += 1
        assert checked <= EMAIL_LIMIT
        right = await attacker.post("/api/v1/auth/login", json=login_body(email))
        assert right.status_code == 429


async def test_a_flood_from_one_address_never_starves_a_login_from_another(env: Env) -> None:
    async with (
        client_from(env, "127.0.0.2") as attacker,
        client_from(env, "127.0.0.3") as agent,
    ):
        flood = [
            attacker.post("/api/v1/auth/login", json=login_body(f"guess{i}@a.test", "x" * 12))
            for i in range(120)
        ]
        legit = agent.post("/api/v1/auth/login", json=login_body(env.sites["a"].agent_email))
        *answers, mine = await asyncio.gather(*flood, legit)
    assert mine.status_code == 200, mine.text
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {401, 429}, statuses
    assert statuses[401] <= CLIENT_LIMIT, statuses


# -- departed agents --------------------------------------------------------------------


async def test_deactivating_from_the_cli_ends_sessions_and_closes_sockets(env: Env) -> None:
    assert env.http is not None
    site = env.sites["a"]
    socket, _, session, _ = await env.agent(site.agent_email)
    owner, *_ = await env.agent(site.owner_email)
    done = sapa(env, "agent", "deactivate", site.agent_email.upper())
    assert done.returncode == 0, done.stderr
    # Another process made the change; this server closes the socket by itself.
    assert await closed_with(socket.ws) == 4000
    assert (await env.http.get("/api/v1/rooms", headers=session)).status_code == 401
    refused = await env.login(site.agent_email)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert (await env.login(site.agent_email, "wrong password")).status_code == 401
    # The owner is untouched, and cannot hand a conversation to the departed agent.
    assert (await owner.request("status", status="online"))["type"] == "ack"
    listed = await env.http.get(
        "/api/v1/agents", headers={"authorization": f"Bearer {site.creds.api_token}"}
    )
    active = {a["email"]: a["active"] for a in listed.json()["items"]}
    assert active == {site.agent_email: False, site.owner_email: True}

    assert sapa(env, "agent", "activate", site.agent_email).returncode == 0
    assert (await env.login(site.agent_email)).status_code == 200


async def test_a_new_password_from_the_cli_ends_every_session(env: Env) -> None:
    assert env.http is not None
    site = env.sites["a"]
    socket, _, session, _ = await env.agent(site.agent_email)
    short = sapa(
        env, "agent", "set-password", site.agent_email, "--password-stdin", stdin="9char\n"
    )
    assert short.returncode == 2 and "at least 10" in short.stderr
    new = "a brand new passphrase"
    done = sapa(env, "agent", "set-password", site.agent_email, "--password-stdin", stdin=new)
    assert done.returncode == 0, done.stderr
    assert await closed_with(socket.ws) == 4000
    assert (await env.http.get("/api/v1/rooms", headers=session)).status_code == 401
    assert (await env.login(site.agent_email)).status_code == 401
    assert (await env.login(site.agent_email, new)).status_code == 200


async def test_service_calls_end_other_sessions_and_tell_every_process(
    tmp_path: Path, seeded_db: tuple[Path, dict[str, SiteFixture]]
) -> None:
    """What the team pages will call: a password change keeps the changer's own session and
    asks the agent's sockets to reconnect (only that session's come back); deactivation
    closes them. Both go out on the bus, which carries them to every process."""
    db_path = tmp_path / "sapa.db"
    shutil.copyfile(seeded_db[0], db_path)
    site = seeded_db[1]["a"]
    db = open_database(str(db_path), readers=1)
    await db.open()
    bus = MemoryBus()
    heard: list[Event] = []

    async def hear(event: Event) -> None:
        heard.append(event)

    bus.subscribe(hear)
    auth = ConsoleAuth(db, bus)
    try:
        mine = await auth.login(site.agent_email, PASSWORD, "10.0.0.1")
        other = await auth.login(site.agent_email, PASSWORD, "10.0.0.2")
        assert await auth.set_password(mine.agent, "a brand new passphrase", keep=mine.id) == 1
        assert await auth.session(mine.id) is not None
        assert await auth.session(other.id) is None
        assert [(e.audiences[0].key, e.control["close"]) for e in heard] == [
            (site.agent_id, CLOSE_RESTART)
        ]
        assert await auth.deactivate(mine.agent) == 1
        assert await auth.session(mine.id) is None
        assert heard[-1].control["close"] == CLOSE_SESSION_ENDED
        with pytest.raises(SapaError) as refused:
            await auth.login(site.agent_email, "a brand new passphrase", "10.0.0.1")
        assert refused.value.code == ErrorCode.FORBIDDEN
    finally:
        await db.close()
