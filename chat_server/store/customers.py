"""Customers (shoppers) and the widget tokens that identify their browsers."""

from __future__ import annotations

import sqlite3

from chat_server.domain.models import Customer
from chat_server.ids import hash_token, new_id, new_secret, now_iso
from chat_server.store.database import Database


def row_to_customer(row: sqlite3.Row) -> Customer:
    return Customer(
        row["id"], row["site_id"], row["name"], row["email"], row["external_id"], row["created_at"]
    )


def insert_anonymous(conn: sqlite3.Connection, site_id: str) -> tuple[str, str]:
    """A new anonymous customer and the bearer token that stands for them; (customer_id, token)."""
    customer_id, token, now = new_id("cus"), new_secret(32), now_iso()
    conn.execute(
        "INSERT INTO customers (id, site_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
        (customer_id, site_id, now, now),
    )
    conn.execute(
        "INSERT INTO widget_tokens (token_hash, site_id, customer_id, created_at)"
        " VALUES (?, ?, ?, ?)",
        (hash_token(token), site_id, customer_id, now),
    )
    return customer_id, token


def touch(conn: sqlite3.Connection, customer_id: str) -> None:
    conn.execute("UPDATE customers SET last_seen_at = ? WHERE id = ?", (now_iso(), customer_id))


async def customer_for_token(db: Database, site_id: str, token: str) -> Customer | None:
    row = await db.fetch_one(
        "SELECT c.* FROM widget_tokens t JOIN customers c ON c.id = t.customer_id"
        " WHERE t.token_hash = ? AND t.site_id = ?",
        (hash_token(token), site_id),
    )
    return row_to_customer(row) if row else None


async def site_and_customer_for_token(db: Database, token: str) -> Customer | None:
    row = await db.fetch_one(
        "SELECT c.* FROM widget_tokens t JOIN customers c ON c.id = t.customer_id"
        " WHERE t.token_hash = ?",
        (hash_token(token),),
    )
    return row_to_customer(row) if row else None


async def get_customer(db: Database, site_id: str, customer_id: str) -> Customer | None:
    row = await db.fetch_one(
        "SELECT * FROM customers WHERE id = ? AND site_id = ?", (customer_id, site_id)
    )
    return row_to_customer(row) if row else None
