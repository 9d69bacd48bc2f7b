"""Delivery guarantees: ack after commit, idempotent resends, exact resync, concurrent senders."""

from __future__ import annotations

import asyncio
import json

from tests.server.conftest import Env, sql_rows


def stored_bodies(db_path: str, room_id: str) -> list[tuple[int, str]]:
    # A separate, plain connection: what is on disk, not what the server caches.
    rows = sql_rows(
        db_path, "SELECT seq, body FROM messages WHERE room_id = ? ORDER BY seq", (room_id,)
    )
    return [(int(seq), str(body)) for seq, body in rows]


async def test_an_ack_means_the_message_is_already_on_disk(env: Env) -> None:
    widget, _ = await env.widget("a")
    for i in range(20):
        ack = await widget.request("send", client_msg_id=f"c{i}", body=f"pesan {i}")
        room_id = ack["message"]["room_id"]
        assert (ack["message"]["seq"], f"pesan {i}") in stored_bodies(
            env.app_settings.db_path, room_id
        )


async def test_sync_returns_exactly_the_missed_messages_in_order(env: Env) -> None:
    widget, welcome = await env.widget("a")
    first = await widget.request("send", client_msg_id="c0", body="sebelum putus")
    room_id = first["message"]["room_id"]
    await widget.close()
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    for i in range(5):
        await agent.request("send", room_id=room_id, client_msg_id=f"a{i}", body=f"balasan {i}")
    again, _ = await env.widget("a", token=welcome["token"])
    synced = await again.request("sync", room_id=room_id, after_seq=first["message"]["seq"])
    bodies = [m["body"] for m in synced["messages"] if m["kind"] == "text"]
    assert bodies == [f"balasan {i}" for i in range(5)]
    seqs = [m["seq"] for m in synced["messages"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert seqs[0] == first["message"]["seq"] + 1 and synced["has_more"] is False


async def test_sync_pages_with_has_more(env: Env) -> None:
    widget, _ = await env.widget("a")
    for i in range(7):
        ack = await widget.request("send", client_msg_id=f"c{i}", body=f"m{i}")
    room_id = ack["message"]["room_id"]
    page1 = await widget.request("sync", room_id=room_id, after_seq=0, limit=3)
    assert [m["body"] for m in page1["messages"]] == ["m0", "m1", "m2"] and page1["has_more"]
    page3 = await widget.request("sync", room_id=room_id, after_seq=6, limit=3)
    assert [m["body"] for m in page3["messages"]] == ["m6"] and not page3["has_more"]


async def test_four_concurrent_senders_are_all_stored_once_in_seq_order(env: Env) -> None:
    widget, welcome = await env.widget("a")
    room_id = (await widget.request("send", client_msg_id="open", body="halo"))["message"][
        "room_id"
    ]
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    owner, *_ = await env.agent(env.sites["a"].owner_email)
    tab2, _ = await env.widget("a", token=welcome["token"])

    async def burst(client, name: str) -> list[dict]:  # type: ignore[no-untyped-def]
        acks = []
        for i in range(25):
            # Every message is sent twice: the resend must not be stored again.
            for _ in range(2):
                ack = await client.request(
                    "send", room_id=room_id, client_msg_id=f"{name}-{i}", body=f"{name} {i}"
                )
                assert ack["type"] == "ack", ack
            acks.append(ack["message"])
        return acks

    results = await asyncio.gather(
        burst(widget, "w1"), burst(tab2, "w2"), burst(agent, "ag"), burst(owner, "ow")
    )
    rows = stored_bodies(env.app_settings.db_path, room_id)
    texts = [body for _, body in rows if body.split(" ")[0] in {"w1", "w2", "ag", "ow"}]
    assert len(texts) == 100 and len(set(texts)) == 100
    assert [seq for seq, _ in rows] == list(range(1, len(rows) + 1))
    for acks in results:
        seqs = [m["seq"] for m in acks]
        assert seqs == sorted(seqs)


async def test_every_live_event_arrives_in_seq_order(env: Env) -> None:
    widget, _ = await env.widget("a")
    room_id = (await widget.request("send", client_msg_id="open", body="halo"))["message"][
        "room_id"
    ]
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    for i in range(30):
        # Pipelined: the agent does not wait for each ack before the next send.
        await agent.send_raw(
            json.dumps(
                {"type": "send", "room_id": room_id, "client_msg_id": f"a{i}", "body": f"x{i}"}
            )
        )
    frames = await widget.drain(0.5)
    seqs = [f["message"]["seq"] for f in frames if f["type"] == "message"]
    assert seqs == sorted(seqs) and len(seqs) >= 30
