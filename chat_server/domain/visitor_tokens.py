"""Widget tokens a page view makes without writing anything.

A new visitor's token names its site, its customer id and when it was made, with a random
part and a signature over all four (HMAC-SHA256 under a key derived from the installation's
secret). So the session call that hands it out needs no row, and neither does the hello
that resumes it: a page view costs the store nothing (bench/README.md, "Session 11").

The rule that keeps this as safe as a stored token: **a signed token with no row stands
only for a visitor who has no record yet.** Such a visitor has nothing to read: no
conversation, no profile. Before their first action makes a record, the token gets its row
(`store/customers.bind`), and from then on the row alone decides, as for every token made
before this module: erase, a merge or a retired token (`customers.identify`) act on rows.
So even with the signing key, a forger reaches only empty visitors: the random part of a
real customer's token is in no database, only its hash.

Tokens made before (random, with a row from the start) keep working unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from chat_server.ids import hash_token, iso_of_ns

_PARTS = 5  # site id, customer id, made (ms since the epoch, hex), random part, signature
_KEY_LABEL = b"sapa widget token v1"  # one key per purpose out of the one secret


@dataclass(frozen=True, slots=True)
class Signed:
    """What a valid signature vouches for."""

    site_id: str
    customer_id: str
    made_at: str  # ISO time, as the store writes times


@dataclass(frozen=True, slots=True)
class Presented:
    """A token as a request brought it: its hash (the key of its row, if it has one) and
    what its signature says (None: a token of the old kind, or not one of ours)."""

    hash: str
    signed: Signed | None


class VisitorTokens:
    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()

    def issue(self, site_id: str, customer_id: str, now_ns: int) -> str:
        """A new visitor's token; `now_ns` is the wall clock (time.time_ns())."""
        body = f"{site_id}.{customer_id}.{now_ns // 1_000_000:x}.{secrets.token_urlsafe(18)}"
        return f"{body}.{self._sign(body)}"

    def present(self, token: str) -> Presented:
        return Presented(hash_token(token), self._read(token))

    def _read(self, token: str) -> Signed | None:
        parts = token.split(".")
        if len(parts) != _PARTS or not token.isascii():
            return None  # compare_digest refuses text that is not ASCII
        site_id, customer_id, made, _, signature = parts
        body = token[: -len(signature) - 1]
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            made_ms = int(made, 16)
        except ValueError:  # signed by us, so never; but a bad key must not become a 500
            return None
        return Signed(site_id, customer_id, iso_of_ns(made_ms * 1_000_000))

    def _sign(self, body: str) -> str:
        digest = hmac.digest(self._key, body.encode(), "sha256")
        # 192 bits: as hard to guess as the stored tokens' 256, and shorter in every request.
        return base64.urlsafe_b64encode(digest[:24]).decode()
