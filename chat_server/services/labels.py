"""Labels: the site's list with colours (any staff member adds one, also on the fly by
naming it on a conversation; owners rename, recolour and delete), and the labels on each
conversation. A change is a `room` event to agents, never to the shopper."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chat_server import errors
from chat_server.domain import workgroups
from chat_server.domain.access import Viewer, check_can_read
from chat_server.domain.models import Room
from chat_server.errors import ErrorCode, SapaError
from chat_server.services import audit
from chat_server.services.chat import ChatService, with_labels
from chat_server.services.public_rooms import require_owner
from chat_server.store import labels as label_store
from chat_server.store import rooms as room_store
from chat_server.store.database import Database
from chat_server.store.labels import Label
from chat_server.store.sql import Tx


def _taken(name: str) -> SapaError:
    return SapaError(ErrorCode.CONFLICT, f"a label named '{name}' already exists")


def _room_full(conn: Tx, site_id: str) -> None:
    if label_store.count(conn, site_id) >= workgroups.MAX_LABELS:
        raise errors.bad_request(f"at most {workgroups.MAX_LABELS} labels")


def _audit(conn: Tx, viewer: Viewer, action: str, label: Label, **detail: Any) -> None:
    shown = {"name": label.name, "color": label.color, **detail}
    audit.record(conn, viewer.site_id, audit.Actor.of(viewer), action, label.id, shown)


def _insert(conn: Tx, viewer: Viewer, name: str, key: str, color: str) -> Label | None:
    """A new label of the site (None: the name is taken), in the audit log with who made it."""
    made = label_store.insert(conn, viewer.site_id, name, key, color)
    if made is not None:
        _audit(conn, viewer, workgroups.LABEL_CREATED, made)
    return made


class LabelService:
    def __init__(self, db: Database, chat: ChatService) -> None:
        self.db = db
        self.chat = chat

    async def all(self, viewer: Viewer) -> list[Label]:
        return await label_store.list_labels(self.db, viewer.site_id)

    async def create(self, viewer: Viewer, data: Mapping[str, Any]) -> Label:
        name = workgroups.name(data.get("name"))
        color = (
            workgroups.color(data["color"]) if "color" in data else workgroups.default_color(name)
        )

        def job(conn: Tx) -> Label | None:
            _room_full(conn, viewer.site_id)
            return _insert(conn, viewer, name, workgroups.name_key(name), color)

        made = await self.db.write(job)
        if made is None:
            raise _taken(name)
        return made

    async def update(self, viewer: Viewer, label_id: str, data: Mapping[str, Any]) -> Label:
        require_owner(viewer, "change labels")
        unknown = set(data) - {"name", "color"}
        if unknown:
            raise errors.bad_request(f"unknown fields: {', '.join(sorted(unknown))}")
        name = workgroups.name(data["name"]) if "name" in data else None
        color = workgroups.color(data["color"]) if "color" in data else None

        def job(conn: Tx) -> Label:
            current = label_store.load(conn, viewer.site_id, label_id)
            if current is None:
                raise errors.not_found("label")
            new_name = name or current.name
            changed = label_store.update(
                conn,
                viewer.site_id,
                label_id,
                new_name,
                workgroups.name_key(new_name),
                color or current.color,
            )
            if changed is None:
                raise _taken(new_name)
            if (changed.name, changed.color) != (current.name, current.color):
                was = {"name": current.name, "color": current.color}
                _audit(conn, viewer, workgroups.LABEL_UPDATED, changed, was=was)
            return changed

        return await self.db.write(job)

    async def delete(self, viewer: Viewer, label_id: str) -> None:
        require_owner(viewer, "delete labels")

        def job(conn: Tx) -> list[str]:
            label = label_store.load(conn, viewer.site_id, label_id)
            if label is None:
                raise errors.not_found("label")
            _audit(conn, viewer, workgroups.LABEL_DELETED, label)
            return label_store.delete(conn, viewer.site_id, label_id)

        rooms = await self.db.write(job)
        for room_id in rooms:
            room = await room_store.get_room(self.db, viewer.site_id, room_id)
            if room is not None and room.status != "resolved":
                await self._publish(room)

    async def set_room_labels(
        self, viewer: Viewer, room_id: str, data: Mapping[str, Any]
    ) -> list[Label]:
        """The conversation's labels become exactly those named (`label_ids` of this site's
        labels; `names`, made on the fly when the site has none of that name)."""
        if not viewer.is_agent:
            raise errors.not_found("room")
        choice = workgroups.label_choice(data)

        def job(conn: Tx) -> list[Label]:
            room = check_can_read(viewer, room_store.load_room(conn, viewer.site_id, room_id))
            if room.kind != "private":
                raise errors.bad_request("labels belong on conversations")
            if label_store.of_site(conn, viewer.site_id, choice.label_ids) != set(choice.label_ids):
                raise errors.not_found("label")
            wanted = list(choice.label_ids)
            keys: dict[str, str] = {}
            for name in choice.names:
                keys.setdefault(workgroups.name_key(name), name)  # the first spelling wins
            known = label_store.by_keys(conn, viewer.site_id, keys)
            for key, name in keys.items():
                label = known.get(key)
                if label is None:
                    _room_full(conn, viewer.site_id)
                    label = _insert(conn, viewer, name, key, workgroups.default_color(name))
                    assert label is not None  # not there a moment ago, in this transaction
                wanted.append(label.id)
            label_store.set_room_labels(conn, room.id, list(dict.fromkeys(wanted)))
            return label_store.room_labels(conn, room.id)

        labels = await self.db.write(job)
        room = await room_store.get_room(self.db, viewer.site_id, room_id)
        if room is not None:
            await self._publish(room)
        return labels

    async def room_view(self, viewer: Viewer, room_id: str) -> Room:
        """A room as `GET /api/v1/rooms/{id}` answers it: staff see its labels."""
        room = await self.chat.room_for(viewer, room_id)
        return (await with_labels(self.db, [room]))[0] if viewer.is_agent else room

    async def _publish(self, room: Room) -> None:
        await self.chat.publish_staff_room((await with_labels(self.db, [room]))[0])
