"""Unsend and edit: the sender's own messages only, edits within 15 minutes; the other side
sees the change live and in `sync`; search follows; owners read the original; erase clears it."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import Env, WsClient
from tests.server.test_crm import identify
from tests.server.test_erase import erase
from tests.server.test_public_rooms import default_room, post, visitor
from tests.server.test_search import bodies, search
from tests.server.test_team import http, owner_headers

LONG_AGO = "2001-01-01T00:00:00.000Z"


async def conversation(env: Env) -> tuple[WsClient, WsClient, dict[str, Any], str]:
    """A shopper who wrote once, and an agent; (widget, agent, the message, customer id)."""
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    widget, welcome = await env.widget("a")
    sent = await widget.request("send", client_msg_id="c1", body="ukuran Kelabang salah")
    assert sent["type"] == "ack", sent
    return widget, agent, sent["message"], welcome["customer_id"]


def error(frame: dict[str, Any]) -> str:
    assert frame["type"] == "error", frame
    return str(frame["code"])


async def audit_items(env: Env) -> list[dict[str, Any]]:
    owner = await owner_headers(env)
    response = await http(env).get("/api/v1/audit", headers=owner)
    assert response.status_code == 200, response.text
    return [i for i in response.json()["items"] if i["action"].startswith("message_")]


async def test_the_sender_edits_and_unsends_and_the_other_side_sees_it_live_and_in_sync(
    env: Env,
) -> None:
    widget, agent, message, _ = await conversation(env)
    await agent.event("message", where=lambda f: f["message"]["id"] == message["id"])

    edited = await widget.request("edit", message_id=message["id"], body="ukuran Merpati salah")
    assert edited["type"] == "ack", edited
    assert edited["message"]["body"] == "ukuran Merpati salah"
    assert edited["message"]["edited_at"] >= message["created_at"]
    update = await agent.event("message_update")
    assert update["message"]["id"] == message["id"]
    assert update["message"]["body"] == "ukuran Merpati salah"
    assert "deleted" not in update["message"]

    # The agent's own reply, unsent: the shopper sees a tombstone.
    reply = await agent.request(
        "send", room_id=message["room_id"], client_msg_id="a1", body="sebentar ya"
    )
    await widget.event("message", where=lambda f: f["message"]["id"] == reply["message"]["id"])
    gone = await agent.request("unsend", message_id=reply["message"]["id"])
    assert gone["message"]["deleted"] is True and gone["message"]["body"] == ""
    tomb = await widget.event(
        "message_update", where=lambda f: f["message"]["id"] == reply["message"]["id"]
    )
    assert tomb["message"]["id"] == reply["message"]["id"]
    assert tomb["message"]["deleted"] is True and tomb["message"]["body"] == ""
    # It was the room's last message: lists learn that it was unsent, not an empty text.
    listed = await agent.event(
        "room", where=lambda f: (f["room"].get("last_message") or {}).get("deleted") is True
    )
    assert listed["room"]["last_message"]["body"] == ""
    # Twice is a no-op; a deleted message is not edited.
    again = await agent.request("unsend", message_id=reply["message"]["id"])
    assert again["type"] == "ack" and again["message"]["deleted"] is True
    late = await agent.request("edit", message_id=reply["message"]["id"], body="lagi")
    assert error(late) == "conflict"

    # A client that reconnects sees the same state.
    synced = await widget.request("sync", room_id=message["room_id"], after_seq=0)
    by_id = {m["id"]: m for m in synced["messages"]}
    assert by_id[message["id"]]["body"] == "ukuran Merpati salah"
    assert by_id[message["id"]]["edited_at"] == edited["message"]["edited_at"]
    assert by_id[reply["message"]["id"]]["deleted"] is True
    assert by_id[reply["message"]["id"]]["body"] == ""


async def test_only_the_sender_within_fifteen_minutes_and_bad_input_is_refused(env: Env) -> None:
    widget, agent, message, _ = await conversation(env)
    # Another's message: forbidden; a system line is nobody's own.
    assert error(await agent.request("unsend", message_id=message["id"])) == "forbidden"
    assert error(await agent.request("edit", message_id=message["id"], body="x")) == "forbidden"
    # Another site's message, or an id that is nobody's: not found.
    widget_b, _ = await env.widget("b")
    other = await widget_b.request("send", client_msg_id="b1", body="halo")
    for frame in ("unsend", "edit"):
        fields: dict[str, Any] = {"body": "x"} if frame == "edit" else {}
        refused = await widget.request(frame, message_id=other["message"]["id"], **fields)
        assert error(refused) == "not_found"
        assert error(await widget.request(frame, message_id="msg_nope", **fields)) == "not_found"
    # A note is not even there for a shopper.
    note = await agent.request(
        "send", room_id=message["room_id"], client_msg_id="n1", body="rahasia", kind="note"
    )
    assert error(await widget.request("unsend", message_id=note["message"]["id"])) == "not_found"
    # Body rules as for send.
    assert error(await widget.request("edit", message_id=message["id"], body="  ")) == (
        "bad_request"
    )
    assert error(await widget.request("edit", message_id=message["id"])) == "bad_request"
    assert error(await widget.request("edit", message_id=message["id"], body="x" * 4001)) == (
        "too_large"
    )
    assert error(await widget.request("unsend", message_id=7)) == "bad_request"
    # Past the window: too late to edit, still fine to unsend.
    env.sql("UPDATE messages SET created_at = ? WHERE id = ?", (LONG_AGO, message["id"]))
    assert error(await widget.request("edit", message_id=message["id"], body="baru")) == (
        "too_late"
    )
    assert (await widget.request("unsend", message_id=message["id"]))["type"] == "ack"
    stored = env.sql("SELECT body FROM messages WHERE id = ?", (other["message"]["id"],))
    assert stored[0][0] == "halo"


async def test_search_follows_and_owners_read_the_original_until_an_erase(env: Env) -> None:
    widget, _, message, customer_id = await conversation(env)
    second = await widget.request("send", client_msg_id="c2", body="tolong Gajahmada")
    assert bodies(await search(env, q="Kelabang")) == ["ukuran Kelabang salah"]

    await widget.request("edit", message_id=message["id"], body="ukuran Rajawali benar")
    assert bodies(await search(env, q="Kelabang")) == []
    assert bodies(await search(env, q="Rajawali")) == ["ukuran Rajawali benar"]
    await widget.request("unsend", message_id=second["message"]["id"])
    assert bodies(await search(env, q="Gajahmada")) == []

    items = await audit_items(env)
    originals = {(i["action"], i["target"]): i["detail"] for i in items}
    assert originals[("message_edited", message["id"])]["body"] == "ukuran Kelabang salah"
    assert originals[("message_deleted", second["message"]["id"])]["body"] == "tolong Gajahmada"
    assert all(i["actor"]["id"] == customer_id for i in items)

    await erase(env, customer_id)
    after = await audit_items(env)
    assert len(after) == 2
    for item in after:
        assert item["detail"] == {"erased": True}
        assert item["actor"]["name"] in ("Pelanggan dihapus", "Deleted customer")
    words = " ".join(str(r[0]) for r in env.sql("SELECT detail FROM audit_log"))
    assert "Kelabang" not in words and "Gajahmada" not in words


async def test_a_public_post_unsent_is_a_tombstone_for_every_reader_and_leaves_the_pin(
    env: Env,
) -> None:
    room = await default_room(env)
    ani = await visitor(env, "Ani", join=room)
    budi = await visitor(env, "Budi", join=room)
    agent, *_ = await env.agent(env.sites["a"].owner_email)
    sent = (await post(ani, room, "p1", "jual murah Cendana"))["message"]
    pinned = await agent.request("room_settings", room_id=room, pinned_message_id=sent["id"])
    assert pinned["room"]["pinned"]["id"] == sent["id"]
    # Another visitor cannot touch it; its author can.
    assert error(await budi.request("unsend", message_id=sent["id"])) == "forbidden"
    assert (await ani.request("unsend", message_id=sent["id"]))["type"] == "ack"
    tomb = await budi.event("message_update", where=lambda f: f["message"]["id"] == sent["id"])
    assert tomb["message"]["deleted"] is True and tomb["message"]["body"] == ""
    unpinned = await agent.event(
        "room", where=lambda f: f["room"]["id"] == room and not f["room"].get("pinned")
    )
    assert unpinned["room"]["id"] == room
    history = await budi.request("history", room_id=room)
    mine = [m for m in history["messages"] if m["id"] == sent["id"]]
    assert mine and mine[0]["deleted"] is True and mine[0]["body"] == ""


async def test_a_client_that_was_away_catches_up_on_edits_with_its_rev(env: Env) -> None:
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    widget, session = await env.widget("a")
    room_id = (await widget.request("send", client_msg_id="c1", body="halo"))["message"]["room_id"]
    replies = []
    for n in (1, 2):
        sent = await agent.request("send", room_id=room_id, client_msg_id=f"a{n}", body=f"r{n}")
        replies.append(sent["message"])
    note = await agent.request("send", room_id=room_id, client_msg_id="n1", body="x", kind="note")
    held = replies[-1]["seq"]
    first = await widget.request("sync", room_id=room_id, after_seq=0, since_rev=0)
    assert first["updates"] == [] and first["rev"] == 0
    token = (await env.widget_session("a"))["token"]  # another shopper, to see nothing leak
    await widget.close()

    # While the shopper is away: an edit, an unsend, and a note's edit they never see.
    await agent.request("edit", message_id=replies[0]["id"], body="r1, diperbaiki")
    await agent.request("unsend", message_id=replies[1]["id"])
    await agent.request("edit", message_id=note["message"]["id"], body="rahasia")

    widget, welcome = await env.widget("a", token=session["token"])
    room = next(r for r in welcome["rooms"] if r["id"] == room_id)
    assert room["last_rev"] == 3
    # A v1 client: what it always got (nothing after its seq), and nothing more.
    plain = await widget.request("sync", room_id=room_id, after_seq=held)
    assert set(plain) == {"type", "ref", "messages", "has_more"}
    assert plain["messages"] == [] and plain["has_more"] is False
    caught = await widget.request("sync", room_id=room_id, after_seq=held, since_rev=0)
    assert caught["messages"] == [] and caught["has_more"] is False and caught["rev"] == 3
    assert "withdrawn" not in caught  # nothing in a conversation is ever hidden
    updates = {m["id"]: m for m in caught["updates"]}
    assert set(updates) == {replies[0]["id"], replies[1]["id"]}
    assert updates[replies[0]["id"]]["body"] == "r1, diperbaiki"
    assert updates[replies[1]["id"]]["deleted"] is True
    # From the rev it now holds: nothing new; a page of one says where to go on from.
    again = await widget.request("sync", room_id=room_id, after_seq=held, since_rev=3)
    assert again["updates"] == [] and again["rev"] == 3
    paged = await widget.request("sync", room_id=room_id, after_seq=held, since_rev=0, limit=1)
    assert [m["id"] for m in paged["updates"]] == [replies[0]["id"]]
    assert paged["rev"] == 1 and paged["has_more"] is True
    # Staff see the note's change too; another shopper may not read the room at all.
    staff = await agent.request("sync", room_id=room_id, after_seq=held + 1, since_rev=1)
    assert {m["id"] for m in staff["updates"]} == {replies[1]["id"], note["message"]["id"]}
    stranger, _ = await env.widget("a", token=token)
    refused = await stranger.request("sync", room_id=room_id, after_seq=0, since_rev=0)
    assert error(refused) == "not_found"
    assert error(await widget.request("sync", room_id=room_id, after_seq=0, since_rev=-1)) == (
        "bad_request"
    )


async def test_members_of_a_public_room_edit_and_unsend_their_own_posts(env: Env) -> None:
    room = await default_room(env)
    budi = await visitor(env, "Budi", join=room)
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    # A visitor posts, then proves who they are from another device: the post is the known
    # customer's now, and still theirs to change.
    first, first_session = await env.widget("a")
    assert (await identify(env, "a", first_session["token"], "member-7")).status_code == 200
    second, second_session = await env.widget("a")
    await second.request("join", room_id=room)
    sent = (await post(second, room, "p1", "ada ukuran XL?"))["message"]
    assert (await identify(env, "a", second_session["token"], "member-7")).status_code == 200
    member, _ = await env.widget("a", token=second_session["token"])
    await member.request("join", room_id=room)
    edited = await member.request("edit", message_id=sent["id"], body="ada ukuran XXL?")
    assert edited["type"] == "ack", edited
    update = await budi.event("message_update", where=lambda f: f["message"]["id"] == sent["id"])
    assert update["message"]["body"] == "ada ukuran XXL?" and update["message"]["edited_at"]
    assert error(await budi.request("edit", message_id=sent["id"], body="x")) == "forbidden"

    # Staff answer in the room and change their answer the same way; readers see it live.
    answer = (await post(agent, room, "s1", "ada, kak", reply_to=sent["id"]))["message"]
    fixed = await agent.request("edit", message_id=answer["id"], body="ada, kak: XXL")
    assert fixed["type"] == "ack", fixed
    seen = await member.event("message_update", where=lambda f: f["message"]["id"] == answer["id"])
    assert seen["message"]["body"] == "ada, kak: XXL"
    assert (await agent.request("unsend", message_id=answer["id"]))["type"] == "ack"
    tomb = await budi.event(
        "message_update",
        where=lambda f: f["message"]["id"] == answer["id"] and f["message"].get("deleted"),
    )
    assert tomb["message"]["body"] == ""
    assert error(await agent.request("unsend", message_id=sent["id"])) == "forbidden"
    await first.close()
