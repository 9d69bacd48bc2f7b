"""The room a shopper's text leaves behind is built, not selected again: no field is lost."""

from __future__ import annotations

from dataclasses import fields, replace

from chat_server.domain.models import Author, Message, Room
from chat_server.store import rooms as room_store


def test_a_room_after_an_append_keeps_every_other_field() -> None:
    pin = Message(
        "msg_p", "site_1", "room_1", 3, "text", "hi", Author("agent", "a1", "Rina"), None, "t0"
    )
    values = {
        "id": "room_1",
        "site_id": "site_1",
        "kind": "private",
        "status": "assigned",
        "last_seq": 7,
        "created_at": "t1",
        "updated_at": "t2",
        "name": "a name",
        "customer_id": "cus_1",
        "assignee_id": "a1",
        "assignee_name": "Rina",
        "extra": {"customer": {"id": "cus_1"}, "last_message": {}, "team": {"id": "tm_1"}},
        "position": 4,
        "archived": True,
        "slow_mode_seconds": 30,
        "pinned": pin,
        "visitor_images": True,
        "snoozed_until": "t3",
        "superseded_at": "t4",
        "last_rev": 9,
    }
    # Every field set, none to its default: a field added to Room must be added here.
    assert set(values) == {f.name for f in fields(Room)}
    room = Room(**values)
    preview = {"body": "new", "kind": "text", "author_kind": "customer", "created_at": "t5"}
    after = room_store._appended(room, 8, "t5", preview)
    extra = {"customer": {"id": "cus_1"}, "last_message": preview, "team": {"id": "tm_1"}}
    assert after == replace(room, last_seq=8, updated_at="t5", extra=extra)
    assert list(after.extra) == ["customer", "last_message", "team"]
    # Without a latest message (`look_for_send`'s room) it takes row_to_room's place.
    lean = replace(room, extra={"customer": {"id": "cus_1"}, "team": {"id": "tm_1"}})
    assert list(room_store._appended(lean, 8, "t5", preview).extra) == list(after.extra)
