"""Inbound mail webhooks in each provider's own shape, verified as the provider documents
it, and turned into one `EmailMessage` for `EmailChannel.receive_message`:

- Mailgun-style (`/api/v1/mail/inbound`): form fields, HMAC-SHA256 of timestamp + token.
- SendGrid Inbound Parse (`/api/v1/mail/inbound/sendgrid`): multipart form, either the raw
  MIME (`email`, "POST the raw, full MIME message") or parsed fields (`headers`, `from`,
  `to`, `subject`, `text`, `html`), signed by a security policy: ECDSA over the timestamp
  header and the raw body.
- Postmark (`/api/v1/mail/inbound/postmark`): JSON (`FromFull`, `ToFull`, `Headers`,
  `TextBody`, `HtmlBody`, optionally `RawEmail`), authenticated by the Basic credentials
  written into its webhook URL.

Only the headers the channel reads are kept; attachments are never read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from chat_server import errors
from chat_server.domain import json_input
from chat_server.domain import mail as rules

KEPT_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "subject",
        "message-id",
        "auto-submitted",
        "precedence",
        "return-path",
        "in-reply-to",
        "x-autoreply",
        "x-autorespond",
        "x-auto-response-suppress",
        "delivered-to",
        "x-original-to",
    }
)


def assemble(headers: Iterable[tuple[str, str]], text: str, html: str = "") -> EmailMessage:
    """A message from a provider's parsed fields: kept headers on one line each, the plain
    text (or, without one, the HTML) as its body."""
    msg = EmailMessage()
    for name, value in headers:
        if name.lower() in KEPT_HEADERS and name not in msg:
            with contextlib.suppress(ValueError, TypeError):
                msg[name] = rules.header_text(value, 998)
    if text or not html:
        msg.set_content(text[: rules.MAX_INBOUND_BYTES])
    else:
        msg.set_content(html[: rules.MAX_INBOUND_BYTES], subtype="html")
    return msg


def parse_raw(raw: bytes) -> EmailMessage:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    return msg


def _header_block(block: str) -> list[tuple[str, str]]:
    """SendGrid's `headers` field: the mail's header block as received."""
    parsed = BytesParser(policy=policy.default).parsebytes(
        block.encode("utf-8", "replace") + b"\r\n\r\n", headersonly=True
    )
    return [(k, str(v)) for k, v in parsed.items()]


def _mailgun_headers(field: str) -> list[tuple[str, str]]:
    try:
        pairs = json_input.decode(field or "[]")
    except json_input.BadJson:
        return []
    return [
        (p[0], p[1])
        for p in (pairs if isinstance(pairs, list) else [])
        if isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) for x in p)
    ]


@dataclass(frozen=True, slots=True)
class Inbound:
    """One provider's post as a message, and the bytes it came as (for too-large checks and
    a key when it has no Message-ID)."""

    message: EmailMessage | None
    raw: bytes


@dataclass(frozen=True, slots=True)
class InboundWebhooks:
    """The installation's webhook credentials; a provider without one answers 404."""

    mailgun_key: str | None = None
    sendgrid_key: ec.EllipticCurvePublicKey | None = None
    postmark_auth: str | None = None

    @classmethod
    def configured(
        cls, mailgun: str | None, sendgrid: str | None, postmark: str | None
    ) -> InboundWebhooks:
        """From the settings; a SendGrid key that does not load stops the start-up."""
        key = rules.ecdsa_key(sendgrid) if sendgrid else None
        return cls(mailgun, key, postmark)

    def enabled(self) -> dict[str, bool]:
        return {
            "mailgun": self.mailgun_key is not None,
            "sendgrid": self.sendgrid_key is not None,
            "postmark": self.postmark_auth is not None,
        }

    def mailgun(self, form: Mapping[str, str], now: float) -> Inbound:
        if not self.mailgun_key:
            raise errors.not_found("page")
        signed = rules.verify_webhook(
            self.mailgun_key,
            form.get("timestamp", ""),
            form.get("token", ""),
            form.get("signature", ""),
            now,
        )
        if not signed:
            raise errors.forbidden("the webhook's signature does not verify")
        headers = _mailgun_headers(form.get("message-headers", ""))
        headers += [("To", form.get("recipient", "")), ("From", form.get("sender", ""))]
        body = form.get("body-plain", "")
        return Inbound(
            assemble([h for h in headers if h[1]], body, form.get("body-html", "")),
            body.encode(),
        )

    def sendgrid(
        self, form: Mapping[str, str], body: bytes, headers: Mapping[str, str], now: float
    ) -> Inbound:
        if self.sendgrid_key is None:
            raise errors.not_found("page")
        signed = rules.verify_ecdsa(
            self.sendgrid_key,
            headers.get("x-twilio-email-event-webhook-timestamp", ""),
            body,
            headers.get("x-twilio-email-event-webhook-signature", ""),
            now,
        )
        if not signed:
            raise errors.forbidden("the webhook's signature does not verify")
        raw = form.get("email")
        if raw is not None:  # "POST the raw, full MIME message"
            data = raw.encode("utf-8", "surrogateescape")
            too_large = len(data) > rules.MAX_INBOUND_BYTES
            return Inbound(None if too_large else parse_raw(data), data)
        fields = _header_block(form.get("headers", ""))
        fields += [(n.capitalize(), form.get(n, "")) for n in ("from", "to", "subject")]
        text = form.get("text", "")
        return Inbound(
            assemble([f for f in fields if f[1]], text, form.get("html", "")), text.encode()
        )

    def check_postmark(self, authorization: str) -> None:
        """Before the body is read: Postmark posts with its URL's Basic credentials."""
        if not self.postmark_auth:
            raise errors.not_found("page")
        if not rules.basic_auth_ok(self.postmark_auth, authorization):
            raise errors.SapaError(
                errors.ErrorCode.UNAUTHORIZED, "the webhook's credentials do not match"
            )

    def postmark(self, data: Any) -> Inbound:
        if not isinstance(data, dict):
            raise errors.bad_request("Postmark posts a JSON object")
        raw_email = data.get("RawEmail")
        if isinstance(raw_email, str) and raw_email:
            raw = raw_email.encode("utf-8", "surrogateescape")
            too_large = len(raw) > rules.MAX_INBOUND_BYTES
            return Inbound(None if too_large else parse_raw(raw), raw)
        fields = [
            (str(h.get("Name", "")), str(h.get("Value", "")))
            for h in data.get("Headers") or []
            if isinstance(h, dict)
        ]
        if not any(name.lower() == "message-id" for name, _ in fields) and data.get("MessageID"):
            fields.append(("Message-ID", f"<{data['MessageID']}@postmark>"))
        for name, key in (("From", "From"), ("To", "To"), ("Cc", "Cc"), ("Subject", "Subject")):
            if isinstance(data.get(key), str):
                fields.append((name, data[key]))
        text, html = (
            v if isinstance(v := data.get(k), str) else "" for k in ("TextBody", "HtmlBody")
        )
        return Inbound(assemble([f for f in fields if f[1]], text, html), (text or html).encode())
