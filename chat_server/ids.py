"""Identifiers, secrets and timestamps."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime


def new_id(prefix: str) -> str:
    # Prefixed ids make logs and support tickets readable; 12 random bytes avoid collisions.
    return f"{prefix}_{secrets.token_urlsafe(12)}"


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    # Tokens are high-entropy, so a fast hash is enough; only the hash is stored.
    return hashlib.sha256(token.encode()).hexdigest()


def now_iso() -> str:
    return format_time(datetime.now(UTC))


def format_time(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )
