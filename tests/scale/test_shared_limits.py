"""Public-room post allowances are shared by the processes through Redis."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.scale.conftest import Cluster, Node
from tests.server.conftest import WsClient


async def _default_room(node: Node) -> str:
    token = node.sites["a"].creds.api_token
    listed = await node.http.get(
        "/api/v1/rooms?kind=public", headers={"authorization": f"Bearer {token}"}
    )
    assert listed.status_code == 200, listed.text
    return str(listed.json()["items"][0]["id"])


async def _post_once(node: Node, room_id: str, tag: str) -> dict[str, Any]:
    client: WsClient
    client, _ = await node.widget(await node.widget_token())
    return await client.request("send", room_id=room_id, client_msg_id=tag, body=f"spam from {tag}")


async def test_throwaway_identities_share_one_allowance_across_processes(
    cluster: Cluster,
) -> None:
    room_id = await _default_room(cluster.nodes[0])
    # 16 fresh identities from one address, half on each process: each process alone would
    # let its 8 through (10 per address and minute); together they get 10.
    answers = await asyncio.gather(
        *(_post_once(cluster.nodes[i % 2], room_id, f"shared-{i}") for i in range(16))
    )
    acked = [a for a in answers if a["type"] == "ack"]
    assert 10 <= len(acked) <= 11, answers
    assert all(a["code"] == "rate_limited" for a in answers if a["type"] == "error")
    stored = cluster.query(
        "SELECT count(*) AS n FROM messages WHERE room_id = ? AND client_msg_id LIKE 'shared-%'",
        (room_id,),
    )
    assert stored[0]["n"] == len(acked)
