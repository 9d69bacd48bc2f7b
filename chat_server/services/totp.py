"""Two-factor pieces shared by the account page and the invitation page: a new secret with
its QR code (rendered here as SVG, never by a third party), and recovery codes."""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from typing import Any

import pyotp
import segno

from chat_server.domain import two_factor
from chat_server.ids import hash_token

ISSUER = "Sapa"
RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


@dataclass(frozen=True, slots=True)
class TwoFactorSetup:
    secret: str
    uri: str
    qr_svg: str

    def to_json(self) -> dict[str, Any]:
        return {"secret": self.secret, "otpauth_uri": self.uri, "qr_svg": self.qr_svg}


def _qr_svg(text: str) -> str:
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=4, xmldecl=False, border=2)
    return out.getvalue().decode()


def new_setup(email: str) -> TwoFactorSetup:
    """A fresh secret to scan; it counts only once a code from it is confirmed."""
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    return TwoFactorSetup(secret, uri, _qr_svg(uri))


def _recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def recovery_codes() -> tuple[list[str], list[str]]:
    """Ten recovery codes to show once, and the hashes that are all the database keeps."""
    codes = [_recovery_code() for _ in range(two_factor.RECOVERY_CODES)]
    return codes, [hash_token(two_factor.normal_recovery_code(c)) for c in codes]
