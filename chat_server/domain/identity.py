"""Identity verification: a shop's server proves who a logged-in shopper is."""

from __future__ import annotations

import hashlib
import hmac


def user_hash(identity_secret: str, external_id: str) -> str:
    return hmac.new(identity_secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


def verify(identity_secret: str, external_id: str, given: str) -> bool:
    """Constant-time; a site without a secret verifies nobody."""
    if not identity_secret or not external_id or not given:
        return False
    expected = user_hash(identity_secret, external_id)
    return hmac.compare_digest(expected, given.strip().lower())
