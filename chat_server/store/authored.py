"""The messages some customers wrote, as one subquery (erase, merge, the customer record).

The author index holds only posts in public rooms (schema 0022): a shopper's words in
their own conversation are found through the conversation, so the writer does not keep an
author entry per private message. Every conversation a customer has is theirs by
`rooms.customer_id` (a merge moves the anonymous record's conversations and its messages'
author together), so "what they wrote" is their public posts plus their own words in
their own rooms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def authored(
    site_id: str, customer_ids: Sequence[str], room_ids: Sequence[str]
) -> tuple[str, tuple[Any, ...]]:
    """`SELECT id FROM messages ...` of what these customers wrote, and its parameters.

    `room_ids`: every private conversation of these customers (store/crm.py `erase`)."""
    marks, room_marks = _marks(customer_ids), _marks(room_ids) or "NULL"
    sql = (
        _public_posts(marks) + f" UNION ALL SELECT id FROM messages WHERE room_id IN ({room_marks})"
        f" AND author_kind = 'customer' AND author_id IN ({marks})"
    )
    return sql, (site_id, *customer_ids, *room_ids, *customer_ids)


def posted_or_in(
    site_id: str, customer_ids: Sequence[str], room_ids: Sequence[str]
) -> tuple[str, tuple[Any, ...]]:
    """`SELECT id FROM messages ...` of these customers' public posts and of every message of
    these rooms (theirs and the agents' alike), and its parameters."""
    room_marks = _marks(room_ids) or "NULL"
    sql = _public_posts(_marks(customer_ids)) + (
        f" UNION ALL SELECT id FROM messages WHERE room_id IN ({room_marks})"
    )
    return sql, (site_id, *customer_ids, *room_ids)


def _marks(values: Sequence[str]) -> str:
    return ",".join("?" * len(values))


def _public_posts(marks: str) -> str:
    # `in_public = 1`: the partial author index serves only a query that says so.
    return (
        "SELECT id FROM messages WHERE in_public = 1 AND site_id = ?"
        f" AND author_kind = 'customer' AND author_id IN ({marks})"
    )
