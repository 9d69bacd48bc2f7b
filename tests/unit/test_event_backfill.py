"""Migration 0006 gives system lines stored before it their event data, from their wording."""

from __future__ import annotations

import json

from chat_server.store import migrations
from tests.conftest import sqlite_before


def test_old_system_lines_get_their_data_in_either_language() -> None:
    conn = sqlite_before("_event_data.sql")
    conn.execute(
        "INSERT INTO sites (id, name, site_key, identity_secret, api_token_hash, domains,"
        " created_at) VALUES ('s', 'S', 'k', 'x', 'h', '[]', 't')"
    )
    conn.execute(
        "INSERT INTO rooms (id, site_id, kind, status, created_at, updated_at)"
        " VALUES ('r', 's', 'private', 'queued', 't', 't')"
    )
    bodies = [
        "Ditangani oleh Rina Putri",
        "Assigned to Sari (Owner)",
        "Dikembalikan ke antrean",
        "Diselesaikan oleh Rina",
        "Resolved by Budi",
        "Dibuka kembali oleh pelanggan",
        "Dibuka kembali oleh Rina",
        "Reopened by Budi",
        "Something else",
    ]
    for seq, body in enumerate(bodies, 1):
        conn.execute(
            "INSERT INTO messages (id, site_id, room_id, seq, kind, body, author_kind, author_id,"
            " author_name, created_at) VALUES (?, 's', 'r', ?, 'event', ?, 'system', 'system',"
            " 'Sapa', 't')",
            (f"m{seq}", seq, body),
        )
    migrations.migrate(conn)
    got = [
        json.loads(row[0]) if row[0] else None
        for row in conn.execute("SELECT event FROM messages ORDER BY seq")
    ]
    assert got == [
        {"key": "assigned", "agent": {"id": None, "name": "Rina Putri"}},
        {"key": "assigned", "agent": {"id": None, "name": "Sari (Owner)"}},
        {"key": "unassigned"},
        {"key": "resolved", "agent": {"id": None, "name": "Rina"}},
        {"key": "resolved", "agent": {"id": None, "name": "Budi"}},
        {"key": "reopened_by_customer"},
        {"key": "reopened", "agent": {"id": None, "name": "Rina"}},
        {"key": "reopened", "agent": {"id": None, "name": "Budi"}},
        None,
    ]
