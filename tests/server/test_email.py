"""Email as a channel against real mail servers: aiosmtpd on 127.0.0.1 receives what the
outbox sends (including while it refuses), replies come back through a signed webhook and
through IMAP (dovecot), reopen and unsubscribe links are signed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from chat_server.bus import MemoryBus
from chat_server.domain.mail import MailServer, reply_address
from chat_server.ids import format_time
from chat_server.services import storage
from chat_server.services.chat import ChatService
from chat_server.services.email_channel import EmailChannel, Links, MailboxPoller
from chat_server.services.mailer import Mailer
from chat_server.store import mail as mail_store
from chat_server.store.mail import NewMail
from tests.conftest import free_port, timeout
from tests.mail_servers import Dovecot, SmtpSink, text_of
from tests.server.conftest import Env, Seed, WsClient, env_with

SHOPPER = "budi@example.id"
WEBHOOK_KEY = "key-webhook-test"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
async def mail_env(tmp_path: Path, seeded: Seed, sink: SmtpSink) -> AsyncIterator[Env]:
    """A server that sends mail to the sink, polling quickly, retrying after 50 ms."""
    async for environment in env_with(
        tmp_path,
        seeded,
        smtp_url=sink.url,
        mail_from="support@shop-a.test",
        mail_poll=0.05,
        mail_retry_base=0.05,
        mail_webhook_key=WEBHOOK_KEY,
    ):
        yield environment


async def owner_put(env: Env, site: str, body: dict[str, Any]) -> Any:
    assert env.http is not None
    return await env.http.put(
        "/api/v1/site",
        json=body,
        headers={"authorization": f"Bearer {env.sites[site].creds.api_token}"},
    )


async def shopper_with_email(
    env: Env, email: str = SHOPPER
) -> tuple[WsClient, dict[str, Any], str]:
    """A shopper who wrote once and left their address: (socket, welcome, room id)."""
    widget, welcome = await env.widget("a")
    sent = await widget.request("send", client_msg_id="m1", body="Apakah stok ada?")
    assert sent["type"] == "ack", sent
    contact = await widget.request("contact", email=email)
    assert contact["type"] == "ack", contact
    return widget, welcome, sent["message"]["room_id"]


async def outbox_rows(env: Env, done: int = 1) -> list[Any]:
    """The outbox once `done` mails left the queue (sent or given up)."""
    for _ in range(int(timeout(10) / 0.02)):
        rows = env.sql("SELECT status, attempts, last_error FROM mail_outbox ORDER BY created_at")
        if sum(r["status"] != "queued" for r in rows) >= done:
            return rows
        await asyncio.sleep(0.02)
    raise TimeoutError("the outbox did not drain")


async def agent_reply(env: Env, room_id: str, body: str, msg_id: str = "a1") -> dict[str, Any]:
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    ack = await agent.request("send", room_id=room_id, client_msg_id=msg_id, body=body)
    assert ack["type"] == "ack", ack
    await agent.close()
    return ack


# -- outgoing mail ---------------------------------------------------------------------


async def test_agent_reply_is_emailed_with_both_bodies_and_links(
    mail_env: Env, sink: SmtpSink
) -> None:
    env = mail_env
    assert (await owner_put(env, "a", {"email": {"reply_delay_seconds": 0}})).status_code == 200
    widget, welcome, room_id = await shopper_with_email(env)
    await widget.close()
    await agent_reply(env, room_id, "Ada, Kak! Stok masih 3.")
    [mail] = await sink.wait_for(1)
    assert mail["To"].addresses[0].addr_spec == SHOPPER
    assert mail["From"].addresses[0].addr_spec == "support@shop-a.test"
    assert mail["Subject"] == "Balasan dari Shop A"
    assert mail["Message-ID"].endswith("@shop-a.test>")
    reply_to = mail["Reply-To"].addresses[0].addr_spec
    assert reply_to.startswith(f"support+{room_id}.") and reply_to.endswith("@shop-a.test")
    assert mail["List-Unsubscribe"].startswith(f"<{env.url}/mail/unsubscribe/")
    plain, html = text_of(mail)
    for body in (plain, html):
        assert "Ada, Kak! Stok masih 3." in body
        assert "Apakah stok ada?" in body  # the last messages, the shopper's own included
        assert f"{env.url}/mail/open/" in body
    # The timeline shows the email; the outbox says it was sent once.
    rows = await outbox_rows(env)
    assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 1)]
    customer_id = welcome["customer_id"]
    assert env.http is not None
    timeline = await env.http.get(
        f"/api/v1/customers/{customer_id}/timeline",
        headers={"authorization": f"Bearer {env.sites['a'].creds.api_token}"},
    )
    emails = [i for i in timeline.json()["items"] if i["kind"] == "email"]
    assert [(e["email"]["direction"], e["email"]["status"]) for e in emails] == [("out", "sent")]


async def test_replies_close_together_go_in_one_email(mail_env: Env, sink: SmtpSink) -> None:
    env = mail_env
    # A long delay: both replies are in before it ends; the test then makes it due.
    await owner_put(env, "a", {"email": {"reply_delay_seconds": 3600}})
    widget, _, room_id = await shopper_with_email(env)
    await widget.close()
    await agent_reply(env, room_id, "Balasan pertama", "a1")
    await agent_reply(env, room_id, "Balasan kedua", "a2")
    [due] = env.sql("SELECT due_at FROM mail_threads WHERE room_id = ?", (room_id,))
    env.sql(
        "UPDATE mail_threads SET due_at = ? WHERE room_id = ?",
        (format_time(datetime.now(UTC) - timedelta(seconds=1)), room_id),
    )
    [mail] = await sink.wait_for(1)
    plain, _ = text_of(mail)
    assert "Balasan pertama" in plain and "Balasan kedua" in plain
    assert due["due_at"] > format_time(datetime.now(UTC) + timedelta(seconds=3000))


async def test_refusing_server_is_retried_and_the_mail_sent_once(
    mail_env: Env, sink: SmtpSink
) -> None:
    env = mail_env
    sink.refuse = 3  # 451 three times, then accepted
    await owner_put(env, "a", {"email": {"reply_delay_seconds": 0}})
    widget, _, room_id = await shopper_with_email(env)
    await widget.close()
    await agent_reply(env, room_id, "Sudah kami kirim.")
    await sink.wait_for(1)
    await asyncio.sleep(0.3)  # more polls: nothing is sent again
    assert len(sink.messages) == 1 and sink.refused == 3
    [row] = await outbox_rows(env)
    assert (row["status"], row["attempts"]) == ("sent", 4)


async def test_5xx_gives_up_with_a_visible_reason(mail_env: Env, sink: SmtpSink) -> None:
    env = mail_env
    sink.reject.add("nobody@example.id")
    await owner_put(env, "a", {"email": {"reply_delay_seconds": 0}})
    widget, _, room_id = await shopper_with_email(env, "nobody@example.id")
    await widget.close()
    await agent_reply(env, room_id, "Halo?")
    assert env.http is not None
    headers = {"authorization": f"Bearer {env.sites['a'].creds.api_token}"}
    for _ in range(400):
        items = (await env.http.get("/api/v1/mail/outbox", headers=headers)).json()["items"]
        if items and items[0]["email"]["status"] != "queued":
            break
        await asyncio.sleep(0.05)
    [item] = items
    assert item["email"]["status"] == "failed"
    assert item["email"]["error"].startswith("550")
    assert item["email"]["attempts"] == 1
    assert sink.messages == []
    # Another site's owner sees none of it.
    other = {"authorization": f"Bearer {env.sites['b'].creds.api_token}"}
    assert (await env.http.get("/api/v1/mail/outbox", headers=other)).json()["items"] == []


async def test_header_injection_stays_in_one_header(mail_env: Env, sink: SmtpSink) -> None:
    env = mail_env
    evil = "Shop A\r\nBcc: thief@evil.test\r\nX-Injected: yes"
    response = await owner_put(env, "a", {"name": evil, "email": {"reply_delay_seconds": 0}})
    assert response.status_code == 200
    widget, _, room_id = await shopper_with_email(env)
    await widget.close()
    await agent_reply(env, room_id, "Halo")
    [mail] = await sink.wait_for(1)
    assert mail["Bcc"] is None and mail["X-Injected"] is None
    assert mail["Subject"] == "Balasan dari Shop A Bcc: thief@evil.test X-Injected: yes"
    assert [a.addr_spec for a in mail["To"].addresses] == [SHOPPER]


async def test_bad_addresses_are_refused(env: Env) -> None:
    widget, _ = await env.widget("a")
    for bad in (
        "not-an-address",
        "a@b",
        "budi@example.id\r\nBcc: x@evil.test",
        "Budi <budi@example.id>",
        "x" * 250 + "@example.id",
        42,
    ):
        answer = await widget.request("contact", email=bad)
        assert answer["type"] == "error" and answer["code"] == "bad_request", (bad, answer)
    session = await env.widget_session("a")
    response = await env.widget_call(
        "a", session["token"], "/api/widget/contact", {"email": "nope"}
    )
    assert response.status_code == 400


async def test_contact_records_address_and_consent(env: Env) -> None:
    widget, welcome = await env.widget("a")
    answer = await widget.request("contact", email="Sari@Example.ID", consent=True)
    assert answer["type"] == "ack" and answer["email"] == "Sari@example.id"
    [row] = env.sql("SELECT email FROM customers WHERE id = ?", (welcome["customer_id"],))
    assert row["email"] == "Sari@example.id"
    [consent] = env.sql(
        "SELECT granted, source FROM consents WHERE customer_id = ? AND kind = 'email'",
        (welcome["customer_id"],),
    )
    assert (consent["granted"], consent["source"]) == (1, "widget_capture")


# -- the outbox's guarantees, with two senders on one store ----------------------------


@pytest.fixture
async def store(env: Env) -> AsyncIterator[storage.Store]:
    db = await storage.open_store(env.app_settings.db_path, pool=2)
    yield db
    await db.close()


def _mail(site_id: str, key: str) -> NewMail:
    return NewMail(site_id, key, "test", SHOPPER, "Subjek", "teks", "<p>teks</p>")


async def test_two_senders_never_send_one_mail_twice(
    env: Env, store: storage.Store, sink: SmtpSink
) -> None:
    site_id = env.sites["a"].creds.site_id
    created = [
        await store.write(lambda conn, k=k: mail_store.enqueue(conn, _mail(site_id, k)))
        for k in ("k1", "k2", "k3", "k1")
    ]
    assert created == [True, True, True, False]  # the repeated key stores nothing
    server = MailServer.parse(sink.url, "smtp")
    senders = [Mailer(store, server, "support@shop-a.test") for _ in range(3)]
    sent = await asyncio.gather(*(m.run_once() for m in senders))
    assert sum(sent) == 3
    await sink.wait_for(3)
    assert sorted(m["Subject"] for m in sink.messages) == ["Subjek"] * 3
    assert len({m["Message-ID"] for m in sink.messages}) == 3
    assert sum(await asyncio.gather(*(m.run_once() for m in senders))) == 0


async def test_a_crashed_sender_leaves_its_mail_to_another(
    env: Env, store: storage.Store, sink: SmtpSink
) -> None:
    site_id = env.sites["a"].creds.site_id
    await store.write(lambda conn: mail_store.enqueue(conn, _mail(site_id, "crash")))
    now = datetime.now(UTC)
    # A process claims the mail, then dies before sending: its lease runs out.
    held = await store.write(
        lambda conn: mail_store.claim_due(
            conn, format_time(now), format_time(now + timedelta(hours=1)), 10
        )
    )
    assert len(held) == 1
    other = Mailer(store, MailServer.parse(sink.url, "smtp"), "support@shop-a.test")
    assert await other.run_once() == 0  # still leased
    env.sql("UPDATE mail_outbox SET lease_until = ?", (format_time(now - timedelta(seconds=1)),))
    assert await other.run_once() == 1
    assert len(await sink.wait_for(1)) == 1
    [row] = env.sql("SELECT status, attempts FROM mail_outbox")
    assert (row["status"], row["attempts"]) == ("sent", 1)


async def test_an_unsendable_address_is_given_up(
    env: Env, store: storage.Store, sink: SmtpSink
) -> None:
    site_id = env.sites["a"].creds.site_id
    broken = NewMail(
        site_id, "broken", "test", "a@c.test\r\nBcc: x@evil.test", "s", "t", "<p>t</p>"
    )
    await store.write(lambda conn: mail_store.enqueue(conn, broken))
    mailer = Mailer(store, MailServer.parse(sink.url, "smtp"), "s@shop-a.test")
    assert await mailer.run_once() == 0
    [row] = env.sql("SELECT status, last_error FROM mail_outbox")
    assert row["status"] == "failed" and row["last_error"].startswith("not sendable")
    assert sink.messages == []


async def test_smtp_down_keeps_the_mail_queued(env: Env, store: storage.Store) -> None:
    site_id = env.sites["a"].creds.site_id
    await store.write(lambda conn: mail_store.enqueue(conn, _mail(site_id, "down")))
    nobody = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    mailer = Mailer(store, MailServer.parse(nobody, "smtp"), "s@shop-a.test", retry_base=60)
    assert await mailer.run_once() == 0
    [row] = env.sql("SELECT status, attempts, last_error, next_attempt_at FROM mail_outbox")
    assert (row["status"], row["attempts"]) == ("queued", 1)
    assert row["last_error"].startswith("connection:")
    assert row["next_attempt_at"] > format_time(datetime.now(UTC) + timedelta(seconds=50))


# -- replies in the widget first, unsubscribes, links ------------------------------------


def _channel(env: Env, db: storage.Store) -> EmailChannel:
    return EmailChannel(
        db,
        ChatService(db, MemoryBus()),
        Links(env.app_settings.secret_key or _secret(env), env.url),
        reply_to="support@shop-a.test",
        reply_secret=_secret(env),
        webhook_key=WEBHOOK_KEY,
    )


def _secret(env: Env) -> str:
    [row] = env.sql("SELECT value FROM meta WHERE key = 'secret_key'")
    return str(row["value"])


async def test_a_reply_read_in_the_widget_is_not_emailed(env: Env, store: storage.Store) -> None:
    widget, _, room_id = await shopper_with_email(env)
    ack = await agent_reply(env, room_id, "Dibaca di widget")
    await widget.request("read", room_id=room_id, seq=ack["message"]["seq"])
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert await _channel(env, store).send_due(later) == 0
    assert env.sql("SELECT id FROM mail_outbox") == []


async def test_replies_before_the_address_are_emailed_once_it_is_given(
    env: Env, store: storage.Store
) -> None:
    widget, welcome = await env.widget("a")
    sent = await widget.request("send", client_msg_id="m1", body="Ada ukuran XL?")
    room_id = sent["message"]["room_id"]
    await widget.close()
    await agent_reply(env, room_id, "Ada, Kak.")
    await agent_reply(env, room_id, "Warna hitam juga.", msg_id="a2")
    channel, later = _channel(env, store), datetime.now(UTC) + timedelta(minutes=5)
    assert await channel.send_due(later) == 0  # no address: the replies wait for one
    # The shopper comes back and leaves an address without opening the replies.
    again, _ = await env.widget("a", token=welcome["token"])
    assert (await again.request("contact", email=SHOPPER))["type"] == "ack"
    await again.close()
    assert await channel.send_due(later) == 1
    assert await channel.send_due(later + timedelta(minutes=5)) == 0  # never twice
    [mail] = env.sql("SELECT to_addr, text_body FROM mail_outbox")
    assert mail["to_addr"] == SHOPPER
    assert "Ada, Kak." in mail["text_body"] and "Warna hitam juga." in mail["text_body"]
    # Past the wait for an address, replies are no longer held for one.
    widget2, welcome2 = await env.widget("a")
    sent2 = await widget2.request("send", client_msg_id="m1", body="Halo?")
    await widget2.close()
    await agent_reply(env, sent2["message"]["room_id"], "Halo juga.")
    env.sql(
        "UPDATE customers SET email = 'late@example.id' WHERE id = ?", (welcome2["customer_id"],)
    )
    assert await channel.send_due(later + timedelta(days=8)) == 0


async def test_unsubscribed_shoppers_get_no_reply_mail(env: Env, store: storage.Store) -> None:
    widget, welcome, room_id = await shopper_with_email(env)
    await widget.close()
    channel = _channel(env, store)
    link = channel.links.unsubscribe_url(env.sites["a"].creds.site_id, welcome["customer_id"])
    assert env.http is not None
    page = await env.http.get(link.removeprefix(env.url))
    assert page.status_code == 200 and "<form" in page.text
    done = await env.http.post(link.removeprefix(env.url), data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    tampered = await env.http.post(link.removeprefix(env.url)[:-3] + "AAA")
    assert tampered.status_code == 403
    await agent_reply(env, room_id, "Tidak diemail")
    assert await channel.send_due(datetime.now(UTC) + timedelta(minutes=5)) == 0
    [consent] = env.sql(
        "SELECT granted, source FROM consents WHERE customer_id = ? AND kind = 'email'",
        (welcome["customer_id"],),
    )
    assert (consent["granted"], consent["source"]) == (0, "unsubscribe")


async def test_reopen_link_gives_the_widget_that_conversation(
    env: Env, store: storage.Store
) -> None:
    widget, welcome, room_id = await shopper_with_email(env)
    await widget.close()
    site = env.sites["a"]
    link = _channel(env, store).links.open_url(site.creds.site_id, welcome["customer_id"], room_id)
    token = link.rsplit("/", 1)[1]
    assert env.http is not None
    opened = await env.http.get(link.removeprefix(env.url))
    assert opened.status_code == 302
    assert opened.headers["location"] == f"https://shop-a.test/#sapa_open={token}"
    reopened = await env.http.post(
        "/api/widget/reopen",
        json={"site_key": site.creds.site_key, "link": token},
        headers={"origin": site.origin},
    )
    assert reopened.status_code == 200
    again, hello = await env.widget("a", token=reopened.json()["token"])
    assert hello["customer_id"] == welcome["customer_id"]
    assert [r["id"] for r in hello["rooms"] if r["kind"] == "private"] == [room_id]
    await again.close()
    # The owner may name the page the links open (on the shop's own domains only).
    page = "https://www.shop-a.test/toko?ref=email"
    assert (await owner_put(env, "a", {"email": {"open_url": page}})).status_code == 200
    moved = await env.http.get(link.removeprefix(env.url))
    assert moved.headers["location"] == f"{page}#sapa_open={token}"
    for foreign in ("https://evil.test/", "javascript:alert(1)", "https://shop-a.test.evil.test/"):
        refused_page = await owner_put(env, "a", {"email": {"open_url": foreign}})
        assert refused_page.status_code == 400, foreign
    # Tampered, or used on another site's widget: refused.
    bad = await env.http.get(link.removeprefix(env.url)[:-4] + "AAAA")
    assert bad.status_code == 403
    for body in (
        {"site_key": site.creds.site_key, "link": token[:-4] + "AAAA"},
        {"site_key": env.sites["b"].creds.site_key, "link": token},
    ):
        refused = await env.http.post(
            "/api/widget/reopen", json=body, headers={"origin": site.origin}
        )
        assert refused.status_code == 403


# -- replies coming back ------------------------------------------------------------------


def _signed(fields: dict[str, str], key: str = WEBHOOK_KEY) -> dict[str, str]:
    stamp, token = str(int(time.time())), "tok" + str(time.monotonic_ns())
    signature = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    return {**fields, "timestamp": stamp, "token": token, "signature": signature}


def _provider_post(
    sender: str, to: str, body: str, message_id: str, extra: list[list[str]] | None = None
) -> dict[str, str]:
    headers = [["From", sender], ["To", to], ["Subject", "Re: Balasan"], ["Message-Id", message_id]]
    return {
        "sender": sender,
        "recipient": to,
        "subject": "Re: Balasan",
        "body-plain": body,
        "message-headers": json.dumps(headers + (extra or [])),
    }


async def test_inbound_webhook_posts_the_reply_as_the_customer(mail_env: Env) -> None:
    env = mail_env
    widget, welcome, room_id = await shopper_with_email(env)
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    address = reply_address("support@shop-a.test", _secret(env), room_id)
    body = "Oke, saya pesan 2.\n\nPada Sen, 7 Des 2026 Shop A menulis:\n> Ada, Kak!"
    assert env.http is not None
    post = _provider_post(SHOPPER, address, body, "<r1@example.id>")
    answer = await env.http.post("/api/v1/mail/inbound", data=_signed(post))
    assert answer.json() == {"outcome": "posted"}
    event = await agent.event("message", where=lambda f: f["message"]["room_id"] == room_id)
    message = event["message"]
    assert message["body"] == "Oke, saya pesan 2."
    assert (message["author"]["kind"], message["author"]["id"]) == (
        "customer",
        welcome["customer_id"],
    )
    # The same mail again (a provider's retry) posts nothing more.
    again = await env.http.post("/api/v1/mail/inbound", data=_signed(post))
    assert again.json() == {"outcome": "posted"}
    rows = env.sql(
        "SELECT body FROM messages WHERE room_id = ? AND author_kind = 'customer'", (room_id,)
    )
    assert [r["body"] for r in rows] == ["Apakah stok ada?", "Oke, saya pesan 2."]
    await widget.close()


async def test_inbound_webhook_bad_input(mail_env: Env) -> None:
    env = mail_env
    widget, _, room_id = await shopper_with_email(env)
    await widget.close()
    secret = _secret(env)
    address = reply_address("support@shop-a.test", secret, room_id)
    assert env.http is not None

    async def outcome(post: dict[str, str]) -> Any:
        response = await env.http.post("/api/v1/mail/inbound", data=post)  # type: ignore[union-attr]
        return response.status_code, response.json()

    good = _provider_post(SHOPPER, address, "halo", "<x0@example.id>")
    unsigned = {**_signed(good), "signature": "0" * 64}
    assert (await outcome(unsigned))[0] == 403
    assert (await outcome(_signed(good, key="another-key")))[0] == 403
    stale = _signed(good)
    stale["timestamp"] = str(int(time.time()) - 3600)
    stale["signature"] = hmac.new(
        WEBHOOK_KEY.encode(), (stale["timestamp"] + stale["token"]).encode(), hashlib.sha256
    ).hexdigest()
    assert (await outcome(stale))[0] == 403
    cases = {
        "sender": _provider_post("mallory@evil.test", address, "saya Budi", "<x1@e>"),
        "loop": _provider_post(
            SHOPPER, address, "Out of office", "<x2@e>", [["Auto-Submitted", "auto-replied"]]
        ),
        "loop ": _provider_post(SHOPPER, address, "bulk", "<x3@e>", [["Precedence", "bulk"]]),
        "loop  ": _provider_post(SHOPPER, address, "bounce", "<x4@e>", [["Return-Path", "<>"]]),
        "unknown": _provider_post(SHOPPER, address.replace(".", "x", 1), "tampered tag", "<x5@e>"),
        "empty": _provider_post(SHOPPER, address, "> only quoted", "<x6@e>"),
    }
    for expected, post in cases.items():
        assert await outcome(_signed(post)) == (200, {"outcome": expected.strip()}), expected
    rows = env.sql(
        "SELECT body FROM messages WHERE room_id = ? AND author_kind = 'customer'", (room_id,)
    )
    assert [r["body"] for r in rows] == ["Apakah stok ada?"]
    logged = env.sql("SELECT outcome FROM mail_inbound ORDER BY outcome")
    assert sorted(r["outcome"] for r in logged) == [
        "empty",
        "loop",
        "loop",
        "loop",
        "sender",
        "unknown",
    ]


async def test_huge_inbound_mail_is_dropped(env: Env, store: storage.Store) -> None:
    widget, _, room_id = await shopper_with_email(env)
    await widget.close()
    address = reply_address("support@shop-a.test", _secret(env), room_id)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = SHOPPER, address, "big"
    msg.set_content("kata " * 300_000)
    channel = _channel(env, store)
    assert await channel.receive(msg.as_bytes()) == "too_large"
    [row] = env.sql("SELECT outcome FROM mail_inbound")
    assert row["outcome"] == "too_large"
    # A reply with an attachment: its words are posted, the attachment is not kept.
    reply = EmailMessage()
    reply["From"], reply["To"], reply["Subject"] = SHOPPER, address, "foto"
    reply["Message-ID"] = "<attach@example.id>"
    reply.set_content("Ini fotonya, Kak.")
    reply.add_attachment(
        b"\x89PNG" + b"0" * 50_000, maintype="image", subtype="png", filename="a.png"
    )
    assert await channel.receive(reply.as_bytes()) == "posted"
    rows = env.sql(
        "SELECT body FROM messages WHERE room_id = ? AND author_kind = 'customer'", (room_id,)
    )
    assert [r["body"] for r in rows] == ["Apakah stok ada?", "Ini fotonya, Kak."]


async def test_imap_replies_come_back_once(env: Env, store: storage.Store, tmp_path: Path) -> None:
    widget, _, room_id = await shopper_with_email(env)
    address = reply_address("support@shop-a.test", _secret(env), room_id)
    imap = Dovecot(tmp_path / "dovecot").start()
    try:
        for n, (sender, text) in enumerate(
            [(SHOPPER, "Dari email, terima kasih!"), ("mallory@evil.test", "palsu")]
        ):
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = sender, address, "Re: Balasan"
            msg["Message-ID"] = f"<imap{n}@example.id>"
            msg.set_content(text)
            imap.deliver(msg.as_bytes(), f"{n}.mail")
        poller = MailboxPoller(_channel(env, store), MailServer.parse(imap.url, "imap"), 1.0)
        assert await poller.run_once() == 2
        assert await poller.run_once() == 0  # flagged seen: not fetched again
    finally:
        imap.stop()
    rows = env.sql(
        "SELECT body FROM messages WHERE room_id = ? AND author_kind = 'customer'", (room_id,)
    )
    assert [r["body"] for r in rows] == ["Apakah stok ada?", "Dari email, terima kasih!"]
    synced = await widget.request("sync", room_id=room_id, after_seq=0)
    assert synced["messages"][-1]["body"] == "Dari email, terima kasih!"


async def test_transcripts_by_shopper_and_agent(mail_env: Env, sink: SmtpSink) -> None:
    env = mail_env
    widget, welcome, room_id = await shopper_with_email(env)
    await agent_reply(env, room_id, "Terima kasih sudah menunggu")
    assert env.http is not None
    session_token = (await env.widget_session("a", welcome["token"]))["token"]
    asked = await env.http.post(
        "/api/widget/transcript",
        headers={"authorization": f"Bearer {session_token}", "origin": env.sites["a"].origin},
    )
    assert asked.json() == {"queued": True}
    headers = {"authorization": f"Bearer {env.sites['a'].creds.api_token}"}
    sent = await env.http.post(f"/api/v1/rooms/{room_id}/transcript", headers=headers)
    assert sent.json() == {"queued": True}
    other = {"authorization": f"Bearer {env.sites['b'].creds.api_token}"}
    assert (
        await env.http.post(f"/api/v1/rooms/{room_id}/transcript", headers=other)
    ).status_code == 404
    mails = await sink.wait_for(2, where=lambda m: "Transkrip" in str(m["Subject"]))
    plain, _ = text_of(mails[0])
    assert "Apakah stok ada?" in plain and "Terima kasih sudah menunggu" in plain
    await widget.close()


# -- business hours and the away message ---------------------------------------------


async def test_business_hours_reach_the_widget(env: Env) -> None:
    hours = {
        "timezone": "Asia/Jakarta",
        "days": {},  # never open: out of hours whenever the test runs
        "holidays": ["2026-12-25"],
        "reply_minutes": 120,
    }
    away = {"id": "Kami sedang tutup.", "en": "We are closed right now."}
    response = await owner_put(
        env,
        "a",
        {"business_hours": hours, "away_message": away, "email": {"capture_after_minutes": 5}},
    )
    assert response.status_code == 200, response.text
    site = response.json()
    assert site["business_hours"]["timezone"] == "Asia/Jakarta"
    assert site["business_hours"]["holidays"] == ["2026-12-25"]
    assert site["away_message"] == away
    # Setting one email setting keeps the other.
    assert site["email"] == {
        "reply_delay_seconds": 30,
        "capture_after_minutes": 5,
        "open_url": None,
    }
    again = await owner_put(env, "a", {"email": {"reply_delay_seconds": 10}})
    assert again.json()["email"]["capture_after_minutes"] == 5
    config = (await env.widget_session("a"))["config"]
    assert config["hours"]["open"] is False and config["hours"]["reply_minutes"] == 120
    assert config["away_message"] == away
    assert config["email_capture"] == {"after_minutes": 5}
    # Open around the clock.
    always = {
        "days": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    }
    widget, welcome = await env.widget("a")
    assert welcome["hours"]["open"] is False and welcome["hours"]["timezone"] == "Asia/Jakarta"
    await widget.close()
    await owner_put(env, "a", {"business_hours": always})
    assert (await env.widget_session("a"))["config"]["hours"]["open"] is True
    # A long session reads the hours again: in each welcome, and when a boundary passes.
    widget, again = await env.widget("a", token=welcome["token"])
    assert again["hours"]["open"] is True and again["hours"]["closes_at"]
    await widget.close()
    assert env.http is not None
    refreshed = await env.http.post(
        "/api/widget/hours",
        headers={"authorization": f"Bearer {welcome['token']}", "origin": env.sites["a"].origin},
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["hours"]["open"] is True
    assert refreshed.json()["away_message"] == away
    assert refreshed.headers["access-control-allow-origin"] == env.sites["a"].origin
    anonymous = await env.http.post("/api/widget/hours")
    assert anonymous.status_code == 401
    # Site B is untouched.
    assert (await env.widget_session("b"))["config"]["hours"]["open"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"business_hours": {"timezone": "Nowhere/City"}},
        {"business_hours": {"days": {"mon": [["09:00", "08:00"]]}}},
        {"business_hours": "always"},
        {"away_message": {"fr": "Fermé"}},
        {"away_message": {"id": "x" * 501}},
        {"email": {"reply_delay_seconds": -1}},
        {"email": {"capture_after_minutes": "5"}},
        {"email": {"bcc": "me@shop.test"}},
    ],
)
async def test_bad_site_email_settings(env: Env, body: dict[str, Any]) -> None:
    response = await owner_put(env, "a", body)
    assert response.status_code == 400, body
    assert response.json()["error"]["code"] == "bad_request"


async def test_agents_may_not_change_hours(env: Env) -> None:
    _, _, headers, csrf = await env.agent(env.sites["a"].agent_email)
    assert env.http is not None
    response = await env.http.put(
        "/api/v1/site",
        json={"business_hours": {"days": {}}},
        headers={**headers, "x-csrf-token": csrf, "origin": env.url},
    )
    assert response.status_code == 403


# -- agents told about conversations that wait -------------------------------------------


async def test_agents_choose_waiting_notifications(env: Env, store: storage.Store) -> None:
    site = env.sites["a"]
    assert env.http is not None
    _, _, owner_headers, owner_csrf = await env.agent(site.owner_email)
    _, _, agent_headers, agent_csrf = await env.agent(site.agent_email)
    put = {**owner_headers, "x-csrf-token": owner_csrf, "origin": env.url}
    assert (await env.http.get("/api/v1/me/notifications", headers=owner_headers)).json() == {
        "waiting_minutes": 0
    }
    for bad in (-1, 1441, "5", True, None):
        response = await env.http.put(
            "/api/v1/me/notifications", json={"waiting_minutes": bad}, headers=put
        )
        assert response.status_code == 400, bad
    chosen = await env.http.put(
        "/api/v1/me/notifications", json={"waiting_minutes": 10}, headers=put
    )
    assert chosen.json() == {"waiting_minutes": 10}
    api = {"authorization": f"Bearer {site.creds.api_token}"}
    assert (await env.http.get("/api/v1/me/notifications", headers=api)).status_code == 403

    widget, _ = await env.widget("a")
    await widget.request("send", client_msg_id="w1", body="Halo, ada orang?")
    await widget.close()
    channel = _channel(env, store)
    soon = datetime.now(UTC) + timedelta(minutes=5)
    assert await channel.notify_waiting(soon) == 0  # not ten minutes yet
    later = datetime.now(UTC) + timedelta(minutes=11)
    connected = {site.owner_id}

    async def online(site_id: str) -> set[str]:
        return connected

    channel.online = online
    assert await channel.notify_waiting(later) == 0  # the owner is online
    connected.clear()
    assert await channel.notify_waiting(later) == 1
    assert await channel.notify_waiting(later) == 0  # once per wait
    [row] = env.sql("SELECT kind, to_addr, subject, text_body FROM mail_outbox")
    assert (row["kind"], row["to_addr"]) == ("notify", site.owner_email)
    assert "Halo, ada orang?" in row["text_body"]
    # The agent (not an owner) with the same wish is not told of unassigned conversations.
    agent_put = {**agent_headers, "x-csrf-token": agent_csrf, "origin": env.url}
    await env.http.put("/api/v1/me/notifications", json={"waiting_minutes": 1}, headers=agent_put)
    assert await channel.notify_waiting(later) == 0
