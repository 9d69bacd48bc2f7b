"""Labels: the site's list (name, colour) and the labels on each conversation."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from chat_server.ids import new_id, now_iso
from chat_server.store.database import Database
from chat_server.store.sql import Row, Tx


@dataclass(frozen=True, slots=True)
class Label:
    id: str
    name: str
    color: str
    created_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "color": self.color}


def _label(row: Row) -> Label:
    return Label(row["id"], row["name"], row["color"], row["created_at"])


_ORDER = " ORDER BY l.name_key, l.id"


async def list_labels(db: Database, site_id: str) -> list[Label]:
    rows = await db.fetch_all("SELECT l.* FROM labels l WHERE l.site_id = ?" + _ORDER, (site_id,))
    return [_label(r) for r in rows]


def load(conn: Tx, site_id: str, label_id: str) -> Label | None:
    row = conn.execute(
        "SELECT * FROM labels WHERE id = ? AND site_id = ?", (label_id, site_id)
    ).fetchone()
    return _label(row) if row else None


def count(conn: Tx, site_id: str) -> int:
    return int(
        conn.execute("SELECT count(*) FROM labels WHERE site_id = ?", (site_id,)).fetchone()[0]
    )


def insert(conn: Tx, site_id: str, name: str, key: str, color: str) -> Label | None:
    """None when the site has a label of that name."""
    row = conn.execute(
        "INSERT INTO labels (id, site_id, name, name_key, color, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (site_id, name_key) DO NOTHING RETURNING *",
        (new_id("lbl"), site_id, name, key, color, now_iso()),
    ).fetchone()
    return _label(row) if row else None


def by_keys(conn: Tx, site_id: str, keys: Collection[str]) -> dict[str, Label]:
    """The site's labels with these folded names, by folded name."""
    if not keys:
        return {}
    ordered = sorted(keys)
    rows = conn.execute(
        "SELECT * FROM labels WHERE site_id = ?"
        f" AND name_key IN ({', '.join('?' for _ in ordered)})",
        (site_id, *ordered),
    ).fetchall()
    return {r["name_key"]: _label(r) for r in rows}


def of_site(conn: Tx, site_id: str, label_ids: Collection[str]) -> set[str]:
    """Those of `label_ids` that are this site's."""
    if not label_ids:
        return set()
    ordered = sorted(label_ids)
    rows = conn.execute(
        f"SELECT id FROM labels WHERE site_id = ? AND id IN ({', '.join('?' for _ in ordered)})",
        (site_id, *ordered),
    ).fetchall()
    return {r["id"] for r in rows}


def update(conn: Tx, site_id: str, label_id: str, name: str, key: str, color: str) -> Label | None:
    """None when another label of the site has that name."""
    taken = conn.execute(
        "SELECT 1 FROM labels WHERE site_id = ? AND name_key = ? AND id != ?",
        (site_id, key, label_id),
    ).fetchone()
    if taken:
        return None
    conn.execute(
        "UPDATE labels SET name = ?, name_key = ?, color = ? WHERE id = ? AND site_id = ?",
        (name, key, color, label_id, site_id),
    )
    return load(conn, site_id, label_id)


def delete(conn: Tx, site_id: str, label_id: str) -> list[str]:
    """Delete the label from the site and every conversation; answers those rooms' ids."""
    rooms = conn.execute(
        "DELETE FROM room_labels WHERE label_id = ? AND label_id IN"
        " (SELECT id FROM labels WHERE site_id = ?) RETURNING room_id",
        (label_id, site_id),
    ).fetchall()
    conn.execute("DELETE FROM labels WHERE id = ? AND site_id = ?", (label_id, site_id))
    return [r["room_id"] for r in rooms]


def set_room_labels(conn: Tx, room_id: str, label_ids: Sequence[str]) -> None:
    """The room's labels become exactly these (kept ones keep when they were added)."""
    current = {
        r["label_id"]
        for r in conn.execute(
            "SELECT label_id FROM room_labels WHERE room_id = ?", (room_id,)
        ).fetchall()
    }
    wanted = set(label_ids)
    for gone in sorted(current - wanted):
        conn.execute("DELETE FROM room_labels WHERE room_id = ? AND label_id = ?", (room_id, gone))
    now = now_iso()
    for added in sorted(wanted - current):
        conn.execute(
            "INSERT INTO room_labels (room_id, label_id, added_at) VALUES (?, ?, ?)",
            (room_id, added, now),
        )


_OF_ROOMS = (
    "SELECT rl.room_id, l.id, l.name, l.color, l.created_at FROM room_labels rl"
    " JOIN labels l ON l.id = rl.label_id WHERE rl.room_id IN ({marks})" + _ORDER
)


def _grouped(rows: Sequence[Row]) -> dict[str, list[Label]]:
    out: dict[str, list[Label]] = {}
    for r in rows:
        out.setdefault(r["room_id"], []).append(_label(r))
    return out


def room_labels(conn: Tx, room_id: str) -> list[Label]:
    rows = conn.execute(_OF_ROOMS.format(marks="?"), (room_id,)).fetchall()
    return _grouped(rows).get(room_id, [])


async def labels_of_rooms(db: Database, room_ids: Sequence[str]) -> dict[str, list[Label]]:
    """Each room's labels, by name (rooms without any are left out)."""
    out: dict[str, list[Label]] = {}
    ids = list(dict.fromkeys(room_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = await db.fetch_all(
            _OF_ROOMS.format(marks=", ".join("?" for _ in chunk)), tuple(chunk)
        )
        out.update(_grouped(rows))
    return out


def move_room(conn: Tx, from_room: str, to_room: str) -> None:
    """A merged-away conversation's labels go to the one it joins."""
    conn.execute(
        "INSERT INTO room_labels (room_id, label_id, added_at)"
        " SELECT ?, label_id, added_at FROM room_labels WHERE room_id = ?"
        " ON CONFLICT (room_id, label_id) DO NOTHING",
        (to_room, from_room),
    )
    conn.execute("DELETE FROM room_labels WHERE room_id = ?", (from_room,))


def forget_rooms(conn: Tx, room_ids: Sequence[str]) -> None:
    """An erased customer's conversations lose their labels (what staff said about them)."""
    if room_ids:
        conn.execute(
            f"DELETE FROM room_labels WHERE room_id IN ({', '.join('?' for _ in room_ids)})",
            tuple(room_ids),
        )
