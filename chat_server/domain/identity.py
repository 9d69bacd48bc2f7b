"""Identity verification: a shop's server proves who a logged-in shopper is."""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum


def user_hash(identity_secret: str, external_id: str) -> str:
    return hmac.new(identity_secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


# What a shop's server runs to compute `user_hash` for Sapa.identify (the secret comes from the
# environment, never from the page). Each is the HMAC-SHA256 of `user_hash` above.
USER_HASH_SNIPPETS = {
    "php": "$userHash = hash_hmac('sha256', (string) $customerId, getenv('SAPA_IDENTITY_SECRET'));",
    "node": (
        'const userHash = require("node:crypto")\n'
        '  .createHmac("sha256", process.env.SAPA_IDENTITY_SECRET)\n'
        "  .update(String(customerId))\n"
        '  .digest("hex");'
    ),
    "python": (
        "import hashlib, hmac, os\n\n"
        "user_hash = hmac.new(\n"
        '    os.environ["SAPA_IDENTITY_SECRET"].encode(), str(customer_id).encode(), hashlib.sha256\n'
        ").hexdigest()"
    ),
}


def verify(identity_secret: str, external_id: str, given: str) -> bool:
    """Constant-time; a site without a secret verifies nobody."""
    if not identity_secret or not external_id or not given:
        return False
    expected = user_hash(identity_secret, external_id)
    return hmac.compare_digest(expected, given.strip().lower())


class Plan(StrEnum):
    """What identify does with the visitor behind a token."""

    ADOPT = "adopt"  # an anonymous visitor becomes the (new) known customer
    MERGE = "merge"  # an anonymous visitor is folded into the existing known customer
    SAME = "same"  # the token already stands for this known customer
    FRESH = "fresh"  # the token stands for another known customer: a new token, nothing shared


def plan(bound_external_id: str | None, target_exists: bool, external_id: str) -> Plan:
    """Never merge one known customer into another (a shared device, a shop's logout missed)."""
    if bound_external_id is None:
        return Plan.MERGE if target_exists else Plan.ADOPT
    return Plan.SAME if bound_external_id == external_id else Plan.FRESH
