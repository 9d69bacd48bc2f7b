"""A page view writes nothing: a new visitor's token is signed and gets its row at the
visitor's first action (domain/visitor_tokens.py). Real sockets, both backends."""

from __future__ import annotations

import time
from typing import Any

from chat_server.domain.visitor_tokens import VisitorTokens
from chat_server.ids import hash_token
from tests.server.conftest import Env
from tests.server.test_crm import identify
from tests.server.test_erase import erase
from tests.server.test_privacy import hello_refused, private_rooms, record
from tests.server.test_public_rooms import default_room


def rows(env: Env, customer_id: str) -> tuple[list[str], int]:
    """The hashes of the customer's token rows, and whether they have a record."""
    tokens = env.sql("SELECT token_hash FROM widget_tokens WHERE customer_id = ?", (customer_id,))
    record_rows = env.sql("SELECT id FROM customers WHERE id = ?", (customer_id,))
    return [str(r["token_hash"]) for r in tokens], len(record_rows)


def installation_tokens(env: Env) -> VisitorTokens:
    """The server's own signer, as someone holding its secret would have it."""
    secret = env.app_settings.secret_key
    if secret is None:
        [row] = env.sql("SELECT value FROM meta WHERE key = 'secret_key'")
        secret = str(row["value"])
    return VisitorTokens(secret)


async def test_a_page_view_writes_nothing_and_the_first_message_gives_the_token_its_row(
    env: Env,
) -> None:
    session = await env.widget_session("a")
    token, customer_id = session["token"], session["customer_id"]
    assert rows(env, customer_id) == ([], 0)
    widget, welcome = await env.widget("a", token=token)
    assert welcome["customer_id"] == customer_id and private_rooms(welcome) == []
    again = await env.widget_session("a", token=token)  # the same visitor, another page
    assert (again["token"], again["customer_id"]) == (token, customer_id)
    assert rows(env, customer_id) == ([], 0)

    sent = await widget.request("send", client_msg_id="m1", body="halo kak, ongkir ke medan?")
    assert sent["type"] == "ack"
    assert rows(env, customer_id) == ([hash_token(token)], 1)
    await widget.close()
    back, welcome = await env.widget("a", token=token)
    [room] = private_rooms(welcome)
    assert room["id"] == sent["message"]["room_id"]
    synced = await back.request("sync", room_id=room["id"], after_seq=0)
    assert [m["body"] for m in synced["messages"]] == ["halo kak, ongkir ke medan?"]
    await back.close()


async def test_a_signed_token_stands_only_for_a_visitor_with_no_record(env: Env) -> None:
    widget, welcome = await env.widget("a")
    customer_id = welcome["customer_id"]
    sent = await widget.request("send", client_msg_id="m1", body="pesanan saya belum sampai")
    assert sent["type"] == "ack"
    await widget.close()
    # Someone with the installation's secret signs a token for this customer: it names a
    # customer with a record and has no row, so it stands for nobody.
    forged = installation_tokens(env).issue(
        env.sites["a"].creds.site_id, customer_id, time.time_ns()
    )
    assert installation_tokens(env).present(forged).signed is not None
    assert await hello_refused(env, forged) == 4401
    fresh = await env.widget_session("a", token=forged)
    assert fresh["token"] != forged and fresh["customer_id"] != customer_id
    # A signed token naming a customer nobody has yet is an empty visitor, nothing more.
    empty = installation_tokens(env).issue(
        env.sites["a"].creds.site_id, "cus_nobody", time.time_ns()
    )
    _, nobody = await env.widget("a", token=empty)
    assert nobody["customer_id"] == "cus_nobody" and private_rooms(nobody) == []


async def test_an_erased_visitors_signed_token_is_refused(env: Env) -> None:
    widget, welcome = await env.widget("a")
    token, customer_id = welcome["token"], welcome["customer_id"]
    sent = await widget.request("send", client_msg_id="m1", body="hapus data saya")
    assert sent["type"] == "ack"
    await widget.close()
    await erase(env, customer_id)
    assert rows(env, customer_id)[0] == []
    assert await hello_refused(env, token) == 4401
    fresh = await env.widget_session("a", token=token)
    assert fresh["customer_id"] != customer_id


async def _resumes(env: Env, token: str, customer_id: str) -> dict[str, Any]:
    widget, welcome = await env.widget("a", token=token)
    await widget.close()
    assert welcome["customer_id"] == customer_id
    return welcome


async def test_every_kind_of_first_action_gives_the_token_its_row(env: Env) -> None:
    # Over HTTP: the pre-chat form.
    session = await env.widget_session("a")
    answer = await env.widget_call("a", session["token"], "/api/widget/prechat", {"name": "Sari"})
    assert answer.status_code == 200, answer.text
    assert rows(env, session["customer_id"]) == ([hash_token(session["token"])], 1)
    await _resumes(env, session["token"], session["customer_id"])
    assert (await record(env, session["customer_id"]))["name"] == "Sari"

    # On the socket: joining a public room.
    widget, welcome = await env.widget("a")
    joined = await widget.request("join", room_id=await default_room(env))
    assert joined["type"] == "ack"
    await widget.close()
    assert rows(env, welcome["customer_id"]) == ([hash_token(welcome["token"])], 1)
    await _resumes(env, welcome["token"], welcome["customer_id"])

    # The shop names the visitor: the token now stands for the known customer.
    session = await env.widget_session("a")
    known = await identify(env, "a", session["token"], "member-77", name="Budi")
    assert known.status_code == 200, known.text
    assert known.json()["token"] == session["token"] and known.json()["fresh"] is False
    await _resumes(env, session["token"], known.json()["customer_id"])
    assert (await record(env, known.json()["customer_id"]))["external_id"] == "member-77"


async def test_a_token_of_another_site_or_altered_starts_afresh(env: Env) -> None:
    session = await env.widget_session("a")
    elsewhere = await env.widget_session("b", token=session["token"])
    assert elsewhere["token"] != session["token"]
    assert elsewhere["customer_id"] != session["customer_id"]
    altered = session["token"][:-2] + ("AA" if not session["token"].endswith("AA") else "BB")
    assert await hello_refused(env, altered) == 4401
    assert (await env.widget_session("a", token=altered))["customer_id"] != session["customer_id"]
