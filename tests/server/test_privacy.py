"""Privacy between shoppers: a shared device, concurrent identifies, anonymous sessions."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from chat_server.config import Settings
from tests.conftest import free_port, timeout
from tests.server.conftest import Env, SiteFixture, run_server
from tests.server.test_crm import api, identify


async def customers_listed(env: Env, site: str = "a", **params: str) -> dict[str, Any]:
    assert env.http is not None
    response = await env.http.get("/api/v1/customers", params=params, headers=api(env, site))
    assert response.status_code == 200, response.text
    listed: dict[str, Any] = response.json()
    return listed


async def record(env: Env, customer_id: str) -> dict[str, Any]:
    assert env.http is not None
    response = await env.http.get(f"/api/v1/customers/{customer_id}", headers=api(env))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def hello_refused(env: Env, token: str) -> int:
    """The close code a widget gets for `token` at hello."""
    async with websockets.connect(
        env.ws_url + "/ws/widget",
        origin=env.sites["a"].origin,  # type: ignore[arg-type]
    ) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout(5))
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


def private_rooms(welcome: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in welcome["rooms"] if r["kind"] == "private"]


# -- a shared device ---------------------------------------------------------------------


async def test_a_shared_device_never_hands_one_known_customer_to_another(env: Env) -> None:
    assert env.http is not None
    widget, welcome = await env.widget("a")
    token = welcome["token"]
    secret = "Kirim ke Jl. Mawar 12, kartu 4111 1111"
    assert (await widget.request("send", client_msg_id="x1", body=secret))["type"] == "ack"
    as_x = await identify(env, "a", token, "shopper-x", name="Xaverius")
    assert as_x.status_code == 200
    assert as_x.json()["token"] == token and as_x.json()["fresh"] is False
    x_id = as_x.json()["customer_id"]
    order = {
        "order_id": "X-1",
        "total": 10,
        "currency": "IDR",
        "items": [],
        "placed_at": "2026-01-01T00:00:00Z",
    }
    await env.http.post(
        "/api/v1/customers/by-external-id/shopper-x/orders", json=order, headers=api(env)
    )

    # X logs out of the shop without the shop telling Sapa; Y logs in on the same browser.
    as_y = await identify(env, "a", token, "shopper-y", name="Yohana")
    assert as_y.status_code == 200
    y = as_y.json()
    assert y["fresh"] is True and y["token"] != token and y["customer_id"] != x_id
    assert await hello_refused(env, token) == 4401  # the old token is retired
    y_widget, y_welcome = await env.widget("a", token=y["token"])
    assert y_welcome["customer_id"] == y["customer_id"]
    assert private_rooms(y_welcome) == []
    y_record = await record(env, y["customer_id"])
    assert y_record["external_id"] == "shopper-y" and y_record["orders_count"] == 0

    # X's record is whole and his own, and his next device sees his history.
    x_record = await record(env, x_id)
    assert x_record["external_id"] == "shopper-x" and x_record["merged_into"] is None
    assert x_record["name"] == "Xaverius" and x_record["orders_count"] == 1
    x_session = await env.widget_session("a")
    again = await identify(env, "a", x_session["token"], "shopper-x")
    assert again.json()["customer_id"] == x_id and again.json()["fresh"] is False
    x_widget, x_welcome = await env.widget("a", token=x_session["token"])
    [room] = private_rooms(x_welcome)
    synced = await x_widget.request("sync", room_id=room["id"], after_seq=0)
    assert secret in [m["body"] for m in synced["messages"]]
    # And Y, chatting now, never reaches X's conversation.
    sent = await y_widget.request("send", client_msg_id="y1", body="halo dari Y")
    assert sent["message"]["room_id"] != room["id"]
    for client in (widget, y_widget, x_widget):
        await client.close()


async def test_identifying_again_as_the_same_customer_keeps_the_token(env: Env) -> None:
    session = await env.widget_session("a")
    first = await identify(env, "a", session["token"], "same-1")
    second = await identify(env, "a", session["token"], "same-1", name="Sama")
    assert first.json()["customer_id"] == second.json()["customer_id"]
    assert second.json() == {**first.json(), "fresh": False}
    assert (await record(env, second.json()["customer_id"]))["name"] == "Sama"


async def test_concurrent_identifies_of_one_token_never_destroy_a_known_customer(
    env: Env,
) -> None:
    """One token identifying as X and as Y at once, many times: both stay whole."""
    assert env.http is not None
    trials = 12
    for trial in range(trials):
        x, y = f"race-x-{trial}", f"race-y-{trial}"
        if trial % 3 == 1:  # sometimes X is already known to the shop
            await env.http.put(
                f"/api/v1/customers/by-external-id/{x}", json={"name": "X"}, headers=api(env)
            )
        widget, welcome = await env.widget("a")
        if trial % 2:  # sometimes the visitor has a conversation already
            await widget.request("send", client_msg_id="m", body=f"pesan {trial}")
        async with (
            httpx.AsyncClient(base_url=env.url) as one,
            httpx.AsyncClient(base_url=env.url) as two,
        ):
            answers = await asyncio.gather(
                *(
                    client.post(
                        "/api/widget/identify",
                        json=body,
                        headers={"authorization": f"Bearer {welcome['token']}"},
                    )
                    for client, body in (
                        (one, identify_body(env, x)),
                        (two, identify_body(env, y)),
                    )
                )
            )
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        ids = {a.json()["customer_id"] for a in answers}
        assert len(ids) == 2
        for external_id in (x, y):
            [found] = (await customers_listed(env, q=external_id))["items"]
            assert found["external_id"] == external_id and found["merged_into"] is None
            assert found["id"] in ids
        # Exactly one of the two kept the token; the other started afresh.
        assert sorted(a.json()["fresh"] for a in answers) == [False, True]
        await widget.close()


def identify_body(env: Env, external_id: str) -> dict[str, str]:
    from chat_server.domain.identity import user_hash

    return {
        "external_id": external_id,
        "user_hash": user_hash(env.sites["a"].creds.identity_secret, external_id),
    }


# -- anonymous sessions --------------------------------------------------------------------


async def test_sessions_make_no_customer_until_the_shopper_acts(env: Env) -> None:
    assert env.http is not None
    before = (await customers_listed(env))["total"]
    sessions = []
    for _ in range(10):
        sessions += await asyncio.gather(*(env.widget_session("a") for _ in range(20)))
    assert len({s["customer_id"] for s in sessions}) == 200
    assert (await customers_listed(env))["total"] == before
    # A page view (hello, welcome, sync of nothing) is not an action either.
    widget, welcome = await env.widget("a", token=sessions[0]["token"])
    assert welcome["customer_id"] == sessions[0]["customer_id"]
    again = await env.widget_session("a", token=sessions[0]["token"])
    assert again["customer_id"] == sessions[0]["customer_id"]
    missing = await env.http.get(f"/api/v1/customers/{welcome['customer_id']}", headers=api(env))
    assert missing.status_code == 404
    assert (await customers_listed(env))["total"] == before
    # The first message makes the record, under the id the session announced.
    ack = await widget.request("send", client_msg_id="c1", body="halo")
    assert ack["type"] == "ack"
    listed = await customers_listed(env)
    assert listed["total"] == before + 1
    assert welcome["customer_id"] in [c["id"] for c in listed["items"]]
    # Joining a public room counts too.
    other, other_welcome = await env.widget("a", token=sessions[1]["token"])
    public = next(r for r in other_welcome["rooms"] if r["kind"] == "public")
    assert (await other.request("join", room_id=public["id"]))["type"] == "ack"
    assert (await customers_listed(env))["total"] == before + 2
    await widget.close()
    await other.close()


@pytest.fixture
async def limited(
    tmp_path: Path, seeded_db: tuple[Path, dict[str, SiteFixture]]
) -> AsyncIterator[Env]:
    """A server with the default session limits, and one whose site limit is tiny."""
    db_path = str(tmp_path / "sapa.db")
    shutil.copyfile(seeded_db[0], db_path)
    settings = Settings(db_path=db_path, port=free_port(), session_rate_per_site=0)
    async for url in run_server(settings):
        async with httpx.AsyncClient(base_url=url) as http:
            yield Env(url, settings, seeded_db[1], http)


async def session_post(env: Env, site: str = "a", **extra: Any) -> httpx.Response:
    assert env.http is not None
    return await env.http.post(
        "/api/widget/session",
        json={"site_key": env.sites[site].creds.site_key, **extra},
        headers={"origin": env.sites[site].origin},
    )


async def test_a_flood_of_sessions_from_one_address_is_refused(limited: Env) -> None:
    allowed = Settings().session_rate_per_address
    answers = [await session_post(limited) for _ in range(allowed + 40)]
    codes = [a.status_code for a in answers]
    assert codes[:allowed] == [200] * allowed
    # The bucket refills one session a second: a few may pass while the flood goes on.
    assert set(codes[allowed:]) <= {200, 429} and codes[allowed:].count(429) >= 20
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "address" in refused.json()["error"]["message"]
    assert refused.headers["access-control-allow-origin"] == limited.sites["a"].origin
    # A visitor who already has a token is not a new session: never refused.
    kept = await session_post(limited, token=answers[0].json()["token"])
    assert kept.status_code == 200
    assert kept.json()["customer_id"] == answers[0].json()["customer_id"]


async def test_a_flood_of_sessions_for_one_site_is_refused(
    tmp_path: Path, seeded_db: tuple[Path, dict[str, SiteFixture]]
) -> None:
    db_path = str(tmp_path / "sapa.db")
    shutil.copyfile(seeded_db[0], db_path)
    settings = Settings(
        db_path=db_path, port=free_port(), session_rate_per_address=0, session_rate_per_site=5
    )
    async for url in run_server(settings):
        async with httpx.AsyncClient(base_url=url) as http:
            env = Env(url, settings, seeded_db[1], http)
            codes = [(await session_post(env)).status_code for _ in range(8)]
            assert codes == [200] * 5 + [429] * 3
            # Another shop is not held back by this one's flood.
            assert (await session_post(env, "b")).status_code == 200
