"""Inbound mail through SendGrid Inbound Parse and Postmark's inbound webhook, posted in the
providers' own shapes and verified as they document it: SendGrid's ECDSA signature over
the timestamp and the raw body, Postmark's Basic credentials."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chat_server.domain.mail import reply_address
from tests.server.conftest import Env, Seed, env_with
from tests.server.test_email import SHOPPER, _secret, shopper_with_email

SIGNER = ec.generate_private_key(ec.SECP256R1())
# As SendGrid's security policy answers it: base64 DER (SubjectPublicKeyInfo).
PUBLIC_KEY = base64.b64encode(
    SIGNER.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()
POSTMARK_AUTH = "postmark:s3cret-words"
SIG = "X-Twilio-Email-Event-Webhook-Signature"
STAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


@pytest.fixture
async def hooks_env(tmp_path: Path, seeded: Seed) -> AsyncIterator[Env]:
    async for environment in env_with(
        tmp_path,
        seeded,
        mail_reply_to="support@shop-a.test",
        mail_sendgrid_key=PUBLIC_KEY,
        mail_postmark_auth=POSTMARK_AUTH,
    ):
        yield environment


def sendgrid_parsed(sender: str, to: str, text: str, message_id: str, extra: str = "") -> Any:
    """Inbound Parse's default (parsed) post: multipart fields, attachments as files."""
    headers = (
        f"Received: by mx0047p1mdw1.sendgrid.net\nFrom: Budi <{sender}>\nTo: {to}\n"
        f"Subject: Re: Balasan dari Shop A\nMessage-ID: {message_id}\n{extra}"
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=xyz"
    )
    fields = {
        "headers": headers,
        "dkim": "{@example.id : pass}",
        "to": to,
        "from": f"Budi <{sender}>",
        "subject": "Re: Balasan dari Shop A",
        "text": text,
        "html": f"<div>{text}</div>",
        "sender_ip": "203.0.113.7",
        "envelope": json.dumps({"to": [to], "from": sender}),
        "attachments": "1",
        "attachment-info": json.dumps({"attachment1": {"filename": "foto.jpg"}}),
        "charsets": json.dumps({"to": "UTF-8", "subject": "UTF-8", "text": "UTF-8"}),
        "SPF": "pass",
    }
    files = {"attachment1": ("foto.jpg", b"\xff\xd8\xff" + b"0" * 2000, "image/jpeg")}
    return fields, files


def signed_request(
    env: Env, fields: dict[str, str], files: Any = None, stamp: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """The multipart body as sent, and SendGrid's signature headers over it."""
    request = httpx.Request("POST", env.url, data=fields, files=files or {"_": (None, "")})
    body = request.read()
    stamp = stamp or str(int(time.time()))
    signature = SIGNER.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return body, {
        "content-type": request.headers["content-type"],
        SIG: base64.b64encode(signature).decode(),
        STAMP: stamp,
    }


async def post_sendgrid(env: Env, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    assert env.http is not None
    answer = await env.http.post("/api/v1/mail/inbound/sendgrid", content=body, headers=headers)
    return answer.status_code, answer.json()


def customer_bodies(env: Env, room_id: str) -> list[str]:
    rows = env.sql(
        "SELECT body FROM messages WHERE room_id = ? AND author_kind = 'customer' ORDER BY seq",
        (room_id,),
    )
    return [r["body"] for r in rows]


async def test_sendgrid_inbound_parse(hooks_env: Env) -> None:
    env = hooks_env
    widget, _, room_id = await shopper_with_email(env)
    await widget.close()
    address = reply_address("support@shop-a.test", _secret(env), room_id)
    fields, files = sendgrid_parsed(SHOPPER, address, "Jadi pesan 2 ya.\n\n> kutipan", "<sg1@e>")
    body, headers = signed_request(env, fields, files)
    assert await post_sendgrid(env, body, headers) == (200, {"outcome": "posted"})
    assert await post_sendgrid(env, body, headers) == (200, {"outcome": "posted"})  # retry
    # "POST the raw, full MIME message": the whole mail in the `email` field.
    raw = EmailMessage()
    raw["From"], raw["To"], raw["Subject"] = SHOPPER, address, "Re: Balasan"
    raw["Message-ID"] = "<sg2@example.id>"
    raw.set_content("Dari SendGrid mentah.")
    body, headers = signed_request(env, {"email": raw.as_string(), "to": address})
    assert await post_sendgrid(env, body, headers) == (200, {"outcome": "posted"})
    assert customer_bodies(env, room_id) == [
        "Apakah stok ada?",
        "Jadi pesan 2 ya.",
        "Dari SendGrid mentah.",
    ]
    # Tampered body, another key, an old timestamp, no signature: refused.
    fields, files = sendgrid_parsed(SHOPPER, address, "palsu", "<sg3@e>")
    body, headers = signed_request(env, fields, files)
    assert (await post_sendgrid(env, body.replace(b"palsu", b"PALSU"), headers))[0] == 403
    other = ec.generate_private_key(ec.SECP256R1())
    forged = other.sign(headers[STAMP].encode() + body, ec.ECDSA(hashes.SHA256()))
    assert (await post_sendgrid(env, body, {**headers, SIG: base64.b64encode(forged).decode()}))[
        0
    ] == 403
    body, headers = signed_request(env, fields, files, stamp=str(int(time.time()) - 3600))
    assert (await post_sendgrid(env, body, headers))[0] == 403
    assert (await post_sendgrid(env, body, {"content-type": headers["content-type"]}))[0] == 403
    # Signed but not the customer, or an auto-reply: recorded, never posted.
    for sender, extra, outcome in (
        ("mallory@evil.test", "", "sender"),
        (SHOPPER, "Auto-Submitted: auto-replied\n", "loop"),
    ):
        fields, files = sendgrid_parsed(sender, address, "x", f"<{outcome}@e>", extra)
        body, headers = signed_request(env, fields, files)
        assert await post_sendgrid(env, body, headers) == (200, {"outcome": outcome})
    # A raw mail over the inbound limit is recorded as too large.
    big = EmailMessage()
    big["From"], big["To"], big["Message-ID"] = SHOPPER, address, "<big@e>"
    big.set_content("x" * (1024 * 1024 + 10))
    body, headers = signed_request(env, {"email": big.as_string()})
    assert await post_sendgrid(env, body, headers) == (200, {"outcome": "too_large"})
    assert len(customer_bodies(env, room_id)) == 3


def postmark_payload(sender: str, to: str, text: str, message_id: str) -> dict[str, Any]:
    """Postmark's inbound JSON, as its documentation's example has it."""
    hash_ = to.split("+", 1)[1].split("@", 1)[0]
    return {
        "FromName": "Budi",
        "MessageStream": "inbound",
        "From": sender,
        "FromFull": {"Email": sender, "Name": "Budi", "MailboxHash": ""},
        "To": to,
        "ToFull": [{"Email": to, "Name": "", "MailboxHash": hash_}],
        "Cc": "",
        "CcFull": [],
        "Bcc": "",
        "BccFull": [],
        "OriginalRecipient": to,
        "Subject": "Re: Balasan dari Shop A",
        "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
        "ReplyTo": "",
        "MailboxHash": hash_,
        "Date": "Mon, 7 Dec 2026 09:00:00 +0700",
        "TextBody": text,
        "HtmlBody": f"<p>{text}</p>",
        "StrippedTextReply": text.split("\n\n", 1)[0],
        "Tag": "",
        "Headers": [
            {"Name": "X-Spam-Checker-Version", "Value": "SpamAssassin 3.4.6"},
            {"Name": "X-Spam-Status", "Value": "No"},
            {"Name": "MIME-Version", "Value": "1.0"},
            {"Name": "Message-ID", "Value": message_id},
        ],
        "Attachments": [
            {
                "Name": "foto.jpg",
                "Content": base64.b64encode(b"\xff\xd8\xff0000").decode(),
                "ContentType": "image/jpeg",
                "ContentLength": 7,
            }
        ],
    }


async def test_postmark_inbound(hooks_env: Env) -> None:
    env = hooks_env
    assert env.http is not None
    widget, _, room_id = await shopper_with_email(env)
    await widget.close()
    address = reply_address("support@shop-a.test", _secret(env), room_id)
    basic = "Basic " + base64.b64encode(POSTMARK_AUTH.encode()).decode()

    async def post(payload: Any, auth: str | None = basic) -> httpx.Response:
        headers = {"authorization": auth} if auth else {}
        return await env.http.post(  # type: ignore[union-attr]
            "/api/v1/mail/inbound/postmark", json=payload, headers=headers
        )

    good = postmark_payload(SHOPPER, address, "Oke kak.\n\nOn Mon Shop A wrote:\n> Ada", "<pm1@e>")
    answer = await post(good)
    assert (answer.status_code, answer.json()) == (200, {"outcome": "posted"})
    assert (await post(good)).json() == {"outcome": "posted"}  # Postmark's retry
    for auth in (None, "Basic " + base64.b64encode(b"postmark:wrong").decode(), "Bearer x"):
        refused = await post(good, auth)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic")
    looped = postmark_payload(SHOPPER, address, "I am away", "<pm2@e>")
    looped["Headers"].append({"Name": "Auto-Submitted", "Value": "auto-replied"})
    assert (await post(looped)).json() == {"outcome": "loop"}
    stranger = postmark_payload("mallory@evil.test", address, "saya Budi", "<pm3@e>")
    assert (await post(stranger)).json() == {"outcome": "sender"}
    assert (await post(["not", "an", "object"])).status_code == 400
    assert customer_bodies(env, room_id) == ["Apakah stok ada?", "Oke kak."]


async def test_unconfigured_providers_are_not_found(env: Env) -> None:
    assert env.http is not None
    for path in ("/api/v1/mail/inbound/sendgrid", "/api/v1/mail/inbound/postmark"):
        answer = await env.http.post(path, content=b"{}", headers={"content-type": "x"})
        assert answer.status_code == 404, path


async def test_owners_read_the_mail_settings(hooks_env: Env) -> None:
    env = hooks_env
    assert env.http is not None
    owner = {"authorization": f"Bearer {env.sites['a'].creds.api_token}"}
    status = (await env.http.get("/api/v1/mail/settings", headers=owner)).json()
    assert status["outgoing"] == {"smtp": None, "from": None, "reply_to": "support@shop-a.test"}
    assert status["inbound"]["imap"] is None
    hooks = status["inbound"]["webhooks"]
    assert hooks["mailgun"] is None
    assert hooks["sendgrid"].endswith("/api/v1/mail/inbound/sendgrid")
    assert hooks["postmark"].endswith("/api/v1/mail/inbound/postmark")
    assert "s3cret" not in json.dumps(status)
    agent, _, headers, _ = await env.agent(env.sites["a"].agent_email)
    await agent.close()
    refused = await env.http.get("/api/v1/mail/settings", headers=headers)
    assert refused.status_code == 403
