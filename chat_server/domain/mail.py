"""Rules for email as a channel, with no I/O: addresses, header values, the SMTP URL,
retry decisions, mail loops, signed reply addresses and inbound webhooks (Mailgun's HMAC,
SendGrid's ECDSA signature, Postmark's Basic auth)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chat_server import errors

MAX_ADDRESS = 254
REPLY_DELAY_S = 30  # an agent's reply waits this long for the shopper before it is emailed
# Replies to a shopper who has left no address yet wait this long for one: given within it,
# the unread replies are emailed to it.
ADDRESS_WAIT = timedelta(days=7)
MAX_HEADER = 200
# Inbound mail larger than this is recorded and dropped, never parsed into a message.
MAX_INBOUND_BYTES = 1024 * 1024
MAX_INBOUND_TEXT = 4000

_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def valid_address(value: object) -> str:
    """A plain `local@domain` address (no display name, no spaces, no line breaks)."""
    if not isinstance(value, str) or len(value) > MAX_ADDRESS or not _ADDRESS.fullmatch(value):
        raise errors.bad_request("'email' must be an address like name@shop.example")
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def header_text(value: str, limit: int = MAX_HEADER) -> str:
    """A display name or subject as one line: line breaks and controls become spaces, so a
    value can never start a header of its own."""
    return " ".join(_CONTROL.sub(" ", value).split())[:limit]


@dataclass(frozen=True, slots=True)
class MailServer:
    """Where mail goes out (SAPA_SMTP_URL) or comes in (SAPA_IMAP_URL)."""

    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool  # TLS from the first byte (smtps, imaps)
    starttls: bool
    mailbox: str = "INBOX"

    @classmethod
    def parse(cls, url: str, kind: Literal["smtp", "imap"]) -> MailServer:
        parts = urlsplit(url)
        plain, secure = kind, kind + "s"
        if parts.scheme not in (plain, secure) or not parts.hostname:
            raise ValueError(f"a {kind} URL looks like {plain}://user:pass@host:port")
        query = parse_qs(parts.query)
        tls = parts.scheme == secure
        default_port = {"smtp": 587, "smtps": 465, "imap": 143, "imaps": 993}[parts.scheme]
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            starttls=not tls and query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
            mailbox=query.get("mailbox", ["INBOX"])[0],
        )


Verdict = Literal["retry", "fail"]


def verdict(smtp_code: int | None) -> Verdict:
    """No answer (connection refused, dropped) or 4xx: try later. 5xx: give up."""
    return "fail" if smtp_code is not None and 500 <= smtp_code < 600 else "retry"


def retry_delay(attempts: int, base: float, cap: float = 3600.0) -> float:
    """Seconds before the next attempt after `attempts` failed ones: doubling, capped."""
    return float(min(cap, base * 2 ** max(0, attempts - 1)))


MAX_ATTEMPTS = 12  # then the mail is given up, its last error kept


def is_automatic(headers: Mapping[str, str]) -> bool:
    """Auto-replies, bounces and list mail (RFC 3834): never posted, never answered."""
    lowered = {k.lower(): v.strip().lower() for k, v in headers.items()}
    if lowered.get("auto-submitted", "no") not in ("", "no"):
        return True
    if lowered.get("precedence") in ("bulk", "junk", "list", "auto_reply"):
        return True
    if lowered.get("return-path") == "<>":
        return True
    return any(k in lowered for k in ("x-autoreply", "x-autorespond", "x-auto-response-suppress"))


def _tag_mac(secret: str, room_id: str) -> str:
    mac = hmac.new(secret.encode(), b"sapa-reply:" + room_id.encode(), hashlib.sha256)
    return mac.hexdigest()[:16]


def reply_address(base: str, secret: str, room_id: str) -> str:
    """`support@shop.example` + a room → `support+ROOM.MAC@shop.example` (plus addressing)."""
    local, domain = base.rsplit("@", 1)
    return f"{local}+{room_id}.{_tag_mac(secret, room_id)}@{domain}"


def room_of_address(address: str, secret: str) -> str | None:
    """The room a signed reply address stands for; None when absent or tampered."""
    local = address.rsplit("@", 1)[0]
    if "+" not in local:
        return None
    tag = local.split("+", 1)[1]
    room_id, _, mac = tag.rpartition(".")
    if not room_id or not hmac.compare_digest(mac.lower(), _tag_mac(secret, room_id)):
        return None
    return room_id


def verify_webhook(key: str, timestamp: str, token: str, signature: str, now: float) -> bool:
    """Mailgun's scheme: hex HMAC-SHA256 of timestamp + token, fresh within 15 minutes."""
    try:
        age = abs(now - float(timestamp))
    except ValueError:
        return False
    expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return age <= WEBHOOK_FRESH_S and hmac.compare_digest(expected, signature.lower())


WEBHOOK_FRESH_S = 900  # a signed webhook older (or newer) than this is refused


def ecdsa_key(text: str) -> ec.EllipticCurvePublicKey:
    """SendGrid's verification key: base64 DER (as its API answers it) or PEM."""
    raw = text.strip()
    if raw.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(raw.encode())
    else:
        key = serialization.load_der_public_key(base64.b64decode(raw, validate=True))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("SendGrid's verification key is an elliptic curve public key")
    return key


def verify_ecdsa(
    key: ec.EllipticCurvePublicKey, timestamp: str, body: bytes, signature: str, now: float
) -> bool:
    """SendGrid's signed webhooks (Inbound Parse with a signature policy): a base64 DER ECDSA
    signature, SHA-256, over the timestamp header followed by the raw body; fresh within
    15 minutes."""
    try:
        fresh = abs(now - float(timestamp)) <= WEBHOOK_FRESH_S
        key.verify(
            base64.b64decode(signature, validate=True),
            timestamp.encode() + body,
            ec.ECDSA(hashes.SHA256()),
        )
    except (ValueError, InvalidSignature):
        return False
    return fresh


def basic_auth_ok(expected: str, header: str) -> bool:
    """Postmark's inbound webhook carries the `user:password` of its URL as Basic auth."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        given = base64.b64decode(value.strip(), validate=True)
    except ValueError:
        return False
    return hmac.compare_digest(given, expected.encode())


_QUOTE_START = re.compile(
    r"^(On .{1,200} wrote:|Pada .{1,200} menulis:|-----Original Message-----|"
    r"-+ ?Balas di atas baris ini|-+ ?Reply above this line)",
    re.MULTILINE,
)


def reply_text(body: str) -> str:
    """The new words of an emailed reply: quoted history and signatures left out."""
    match = _QUOTE_START.search(body)
    if match:
        body = body[: match.start()]
    lines = [line for line in body.splitlines() if not line.startswith(">")]
    text = "\n".join(lines)
    if "\n-- \n" in text + "\n":
        text = (text + "\n").split("\n-- \n", 1)[0]
    return text.strip()[:MAX_INBOUND_TEXT]
