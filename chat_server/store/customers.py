"""Customers (shoppers) and the widget tokens that identify their browsers.

A widget session allocates a customer id and a token at once, but the customer's row
is made only when the shopper does something (`activate`): a page view is not a
customer, and a flood of sessions fills no customer list.
"""

from __future__ import annotations

from dataclasses import dataclass

from chat_server import errors
from chat_server.domain import identity
from chat_server.domain.crm_rules import ProfileFields
from chat_server.domain.models import Customer
from chat_server.domain.visitor_tokens import Presented
from chat_server.ids import hash_token, new_id, new_secret, now_iso
from chat_server.store import crm as crm_store
from chat_server.store.database import Database
from chat_server.store.sql import Row, Tx, check_later

_TOKEN_CUSTOMER = (
    "SELECT t.site_id AS t_site_id, t.customer_id AS t_customer_id, t.created_at AS t_created_at,"
    " c.* FROM widget_tokens t LEFT JOIN customers c ON c.id = t.customer_id"
    " WHERE t.token_hash = ?"
)
# The same for a signed token, one row always: the token's row if it has one, and whether
# the customer it names has a record (one statement: on PostgreSQL a round trip each).
_SIGNED_CUSTOMER = (
    "SELECT t.site_id AS t_site_id, t.customer_id AS t_customer_id, t.created_at AS t_created_at,"
    " c.*, (SELECT 1 FROM customers WHERE id = ?) AS named_has_record"
    " FROM (SELECT 1 AS one) AS one LEFT JOIN widget_tokens t ON t.token_hash = ?"
    " LEFT JOIN customers c ON c.id = t.customer_id"
)


def row_to_customer(row: Row) -> Customer:
    return Customer(
        row["id"], row["site_id"], row["name"], row["email"], row["external_id"], row["created_at"]
    )


def _token_row_to_customer(row: Row) -> Customer | None:
    if row["id"] is None:
        # Not activated yet: an anonymous visitor who has done nothing.
        return Customer(
            row["t_customer_id"], row["t_site_id"], None, None, None, row["t_created_at"]
        )
    if row["erased_at"] is not None:
        return None
    return row_to_customer(row)


def _insert_token(conn: Tx, site_id: str, customer_id: str, now: str) -> str:
    token = new_secret(32)
    conn.execute(
        "INSERT INTO widget_tokens (token_hash, site_id, customer_id, created_at)"
        " VALUES (?, ?, ?, ?)",
        (hash_token(token), site_id, customer_id, now),
    )
    return token


def new_token(conn: Tx, site_id: str, customer_id: str) -> str | None:
    """Another bearer token for an existing customer (a reopen link); None when erased."""
    row = conn.execute(
        "SELECT erased_at, merged_into FROM customers WHERE id = ? AND site_id = ?",
        (customer_id, site_id),
    ).fetchone()
    if row is None or row["erased_at"] is not None:
        return None
    return _insert_token(conn, site_id, row["merged_into"] or customer_id, now_iso())


def insert_anonymous(conn: Tx, site_id: str) -> tuple[str, str]:
    """A visitor's id and a token with its row from the start; (customer_id, token).

    The kind of token sessions made before signed ones (domain/visitor_tokens.py), which
    still work: tests and tools make them so. No customer record yet: `activate` makes it.
    """
    customer_id = new_id("cus")
    return customer_id, _insert_token(conn, site_id, customer_id, now_iso())


def activate(conn: Tx, site_id: str, customer_id: str) -> None:
    """Make the customer's row if it is not there yet; refuse an erased customer.

    Runs inside the write that acts for the customer, so an erase committed before it
    is seen, and one committed after it erases what it wrote. The refusal may come at the
    job's next read rather than here (`check_later`): the job is undone all the same.
    """
    now = now_iso()
    conn.execute(
        "INSERT INTO customers (id, site_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (id) DO NOTHING",
        (customer_id, site_id, now, now),
    )
    found = conn.execute("SELECT site_id, erased_at FROM customers WHERE id = ?", (customer_id,))

    def check(row: Row) -> None:
        if row["site_id"] != site_id or row["erased_at"] is not None:
            raise errors.SapaError(errors.ErrorCode.UNAUTHORIZED, "this customer was erased")

    # On PostgreSQL the answer comes with the job's next read (the room a message goes to).
    check_later(conn, found, check)


def touch(conn: Tx, customer_id: str) -> None:
    conn.execute("UPDATE customers SET last_seen_at = ? WHERE id = ?", (now_iso(), customer_id))


@dataclass(frozen=True, slots=True)
class Identified:
    customer_id: str
    token: str
    fresh: bool  # a new token: nothing of the previous customer goes with it
    previous_id: str  # whom the token stood for before


def identify(
    conn: Tx,
    site_id: str,
    token: str,
    external_id: str,
    profile: ProfileFields,
) -> Identified:
    """Attach the visitor behind `token` to the customer with `external_id`.

    Everything is read again inside the write transaction, so two identifies of one
    token (even on two processes) are applied one after the other, each seeing the
    other's outcome: a known customer is never merged into another, nor renamed.
    """
    row = conn.execute(_TOKEN_CUSTOMER, (hash_token(token),)).fetchone()
    if row is None or row["t_site_id"] != site_id or row["erased_at"] is not None:
        raise errors.SapaError(errors.ErrorCode.UNAUTHORIZED, "a widget token is required")
    bound = row["t_customer_id"]
    target = crm_store.customer_by_external(conn, site_id, external_id)
    step = identity.plan(row["external_id"], target is not None, external_id)
    if step is identity.Plan.ADOPT:
        activate(conn, site_id, bound)
        conn.execute("UPDATE customers SET external_id = ? WHERE id = ?", (external_id, bound))
        crm_store.apply_profile(conn, bound, profile)
        return Identified(bound, token, False, bound)
    if step is identity.Plan.SAME:
        crm_store.apply_profile(conn, bound, profile)
        return Identified(bound, token, False, bound)
    if step is identity.Plan.MERGE:
        assert target is not None
        crm_store.apply_profile(conn, target, profile)
        if row["id"] is None:
            # A visitor who never did anything has nothing to merge: the token just moves.
            conn.execute(
                "UPDATE widget_tokens SET customer_id = ? WHERE customer_id = ?", (target, bound)
            )
            touch(conn, target)
        else:
            crm_store.merge(conn, site_id, bound, target)
        return Identified(target, token, False, bound)
    # Another known customer on this browser: this token is retired, and the shopper
    # starts afresh with a token of their own that carries nothing of the previous one.
    conn.execute("DELETE FROM widget_tokens WHERE token_hash = ?", (hash_token(token),))
    known = crm_store.ensure_by_external(conn, site_id, external_id)
    crm_store.apply_profile(conn, known, profile)
    touch(conn, known)
    return Identified(known, _insert_token(conn, site_id, known, now_iso()), True, bound)


@dataclass(frozen=True, slots=True)
class Holder:
    """Whom a widget token stands for."""

    customer: Customer
    acted: bool  # has a record (`activate`): one who has not has no conversation
    bound: bool  # the token has its row; a signed token without one is `bind`'s to give


def load_holder(conn: Tx, token: Presented) -> Holder | None:
    """None for a token nobody holds (or an erased customer's). See domain/visitor_tokens.py:
    a signed token with no row stands only for a visitor who has no record yet."""
    signed = token.signed
    if signed is None:
        row = conn.execute(_TOKEN_CUSTOMER, (token.hash,)).fetchone()
    else:
        row = conn.execute(_SIGNED_CUSTOMER, (signed.customer_id, token.hash)).fetchone()
    if row is not None and row["t_site_id"] is not None:
        customer = _token_row_to_customer(row)
        return Holder(customer, row["id"] is not None, True) if customer is not None else None
    if signed is None or row["named_has_record"] is not None:
        # A record exists: only a row may stand for it (erased, merged, or this token retired).
        return None
    return Holder(
        Customer(signed.customer_id, signed.site_id, None, None, None, signed.made_at), False, False
    )


async def holder_for_token(db: Database, site_id: str, token: Presented) -> Holder | None:
    """`load_holder`, for a token of this site only."""
    found = await db.read_now(lambda conn: load_holder(conn, token))
    return found if found is not None and found.customer.site_id == site_id else None


def bind(conn: Tx, token_hash: str, customer: Customer) -> None:
    """Give a signed token its row, before its visitor's first record (see `load_holder`)."""
    conn.execute(
        "INSERT INTO widget_tokens (token_hash, site_id, customer_id, created_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (token_hash) DO NOTHING",
        (token_hash, customer.site_id, customer.id, customer.created_at),
    )


async def get_customer(db: Database, site_id: str, customer_id: str) -> Customer | None:
    row = await db.fetch_one(
        "SELECT * FROM customers WHERE id = ? AND site_id = ?", (customer_id, site_id)
    )
    return row_to_customer(row) if row else None
