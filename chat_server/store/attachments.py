"""Uploads and the messages that carry them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from chat_server.domain.attachments import Attachment
from chat_server.store.authored import posted_or_in
from chat_server.store.database import Database
from chat_server.store.sql import Row, Tx


@dataclass(frozen=True, slots=True)
class StoredFile:
    """An upload as the server keeps it: where its bytes are and who may reach it."""

    attachment: Attachment
    site_id: str
    uploader_kind: str
    uploader_id: str
    blob_key: str
    thumb_key: str | None
    message_id: str | None
    room_id: str | None
    room_kind: str | None
    hidden: bool
    created_at: str


@dataclass(frozen=True, slots=True)
class Blob:
    """A blob a deletion released: no other upload of its site names it any more."""

    site_id: str
    key: str


_SELECT = """
SELECT a.*, r.kind AS room_kind, m.hidden AS message_hidden
FROM attachments a
LEFT JOIN messages m ON m.id = a.message_id
LEFT JOIN rooms r ON r.id = a.room_id
"""


def _attachment(row: Row) -> Attachment:
    return Attachment(
        row["id"],
        row["name"],
        row["content_type"],
        row["size"],
        row["link_key"],
        row["width"],
        row["height"],
        row["thumb_key"] is not None,
    )


def _stored(row: Row) -> StoredFile:
    return StoredFile(
        _attachment(row),
        row["site_id"],
        row["uploader_kind"],
        row["uploader_id"],
        row["blob_key"],
        row["thumb_key"],
        row["message_id"],
        row["room_id"],
        row["room_kind"],
        bool(row["message_hidden"]),
        row["created_at"],
    )


def insert(
    conn: Tx,
    site_id: str,
    uploader_kind: str,
    uploader_id: str,
    attachment: Attachment,
    blob_key: str,
    thumb_key: str | None,
    now: str,
) -> None:
    conn.execute(
        "INSERT INTO attachments (id, site_id, uploader_kind, uploader_id, customer_id, name,"
        " content_type, size, width, height, blob_key, thumb_key, link_key, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            attachment.id,
            site_id,
            uploader_kind,
            uploader_id,
            uploader_id if uploader_kind == "customer" else None,
            attachment.name,
            attachment.type,
            attachment.size,
            attachment.width,
            attachment.height,
            blob_key,
            thumb_key,
            attachment.key,
            now,
        ),
    )


def unsent_of(
    conn: Tx, site_id: str, uploader_kind: str, uploader_id: str, ids: Sequence[str]
) -> list[Attachment]:
    """The uploader's own uploads not yet in a message, in the order asked (missing: left out)."""
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"SELECT * FROM attachments WHERE id IN ({marks}) AND site_id = ? AND uploader_kind = ?"
        " AND uploader_id = ? AND message_id IS NULL",
        (*ids, site_id, uploader_kind, uploader_id),
    ).fetchall()
    found = {row["id"]: _attachment(row) for row in rows}
    return [found[i] for i in ids if i in found]


def claim(conn: Tx, ids: Sequence[str], message_id: str, room_id: str) -> None:
    marks = ",".join("?" * len(ids))
    conn.execute(
        f"UPDATE attachments SET message_id = ?, room_id = ? WHERE id IN ({marks})",
        (message_id, room_id, *ids),
    )


def message_column(attachments: Sequence[Attachment]) -> str | None:
    return json.dumps([a.stored() for a in attachments]) if attachments else None


def from_column(text: str | None) -> tuple[Attachment, ...]:
    return tuple(Attachment.from_stored(d) for d in json.loads(text)) if text else ()


async def get(db: Database, attachment_id: str) -> StoredFile | None:
    row = await db.fetch_one(_SELECT + " WHERE a.id = ?", (attachment_id,))
    return _stored(row) if row else None


async def of_customer(db: Database, site_id: str, customer_ids: Sequence[str]) -> list[StoredFile]:
    """Every file in the customers' messages and conversations (an export's files)."""
    marks = ",".join("?" * len(customer_ids))
    rows = await db.fetch_all(
        _SELECT + f" WHERE a.site_id = ? AND (a.customer_id IN ({marks}) OR a.room_id IN"
        f" (SELECT id FROM rooms WHERE kind = 'private' AND customer_id IN ({marks})))"
        " ORDER BY a.created_at, a.id",
        (site_id, *customer_ids, *customer_ids),
    )
    return [_stored(r) for r in rows]


def _released(conn: Tx, rows: Sequence[Row]) -> list[Blob]:
    """The blobs of deleted rows that no remaining row of their site names."""
    out: list[Blob] = []
    for row in rows:
        for key in (row["blob_key"], row["thumb_key"]):
            if key is None or Blob(row["site_id"], key) in out:
                continue
            still = conn.execute(
                "SELECT 1 FROM attachments WHERE site_id = ? AND (blob_key = ? OR thumb_key = ?)"
                " LIMIT 1",
                (row["site_id"], key, key),
            ).fetchone()
            if still is None:
                out.append(Blob(row["site_id"], key))
    return out


def _delete_rows(conn: Tx, where: str, params: tuple[object, ...]) -> list[Blob]:
    rows = conn.execute(
        f"SELECT id, site_id, blob_key, thumb_key FROM attachments WHERE {where}", params
    ).fetchall()
    if not rows:
        return []
    marks = ",".join("?" * len(rows))
    conn.execute(f"DELETE FROM attachments WHERE id IN ({marks})", tuple(r["id"] for r in rows))
    return _released(conn, rows)


def erase(
    conn: Tx, site_id: str, customer_ids: Sequence[str], room_ids: Sequence[str]
) -> list[Blob]:
    """Delete the customers' uploads and every file of their conversations; the blobs freed."""
    marks = ",".join("?" * len(customer_ids))
    room_marks = ",".join("?" * len(room_ids)) or "NULL"
    touched, params = posted_or_in(site_id, customer_ids, room_ids)
    conn.execute(
        "UPDATE messages SET attachments = NULL WHERE attachments IS NOT NULL"
        f" AND id IN ({touched})",
        params,
    )
    return _delete_rows(
        conn,
        f"site_id = ? AND (customer_id IN ({marks}) OR room_id IN ({room_marks}))",
        (site_id, *customer_ids, *room_ids),
    )


def delete_unsent(conn: Tx, before: str, limit: int = 500) -> tuple[list[Blob], int]:
    """Uploads no message took before `before` (ISO time), at most `limit` at a time:
    the blobs freed, and how many uploads went."""
    rows = conn.execute(
        "SELECT id FROM attachments WHERE message_id IS NULL AND created_at < ? LIMIT ?",
        (before, limit),
    ).fetchall()
    if not rows:
        return [], 0
    marks = ",".join("?" * len(rows))
    return _delete_rows(conn, f"id IN ({marks})", tuple(r["id"] for r in rows)), len(rows)


def move_room(conn: Tx, from_room: str, to_room: str) -> None:
    """A merge moved a conversation's messages: their files follow."""
    conn.execute("UPDATE attachments SET room_id = ? WHERE room_id = ?", (to_room, from_room))


async def max_upload(db: Database, site_id: str) -> int:
    row = await db.fetch_one("SELECT max_upload_bytes FROM sites WHERE id = ?", (site_id,))
    return int(row["max_upload_bytes"]) if row else 0


@dataclass(frozen=True, slots=True)
class UploadBlobs:
    """The blobs one upload names (a file copy walks these)."""

    id: str
    blob_key: str
    thumb_key: str | None


async def blobs_after(db: Database, after: str, limit: int = 500) -> list[UploadBlobs]:
    """Uploads by id, the first `limit` after `after` ("" for the first page)."""
    rows = await db.fetch_all(
        "SELECT id, blob_key, thumb_key FROM attachments WHERE id > ? ORDER BY id LIMIT ?",
        (after, limit),
    )
    return [UploadBlobs(r["id"], r["blob_key"], r["thumb_key"]) for r in rows]
