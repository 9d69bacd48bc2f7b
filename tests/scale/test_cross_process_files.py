"""Attachments across two processes joined by Redis, sharing one files directory."""

from __future__ import annotations

import io

from PIL import Image

from tests.scale.conftest import Cluster


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (10, 160, 90)).save(out, "PNG")
    return out.getvalue()


async def test_a_photo_uploaded_and_sent_through_one_process_shows_through_the_other(
    cluster: Cluster,
) -> None:
    a, b = cluster.nodes
    site = a.sites["a"]
    agent, _ = await a.agent(await a.agent_cookie(site.agent_email))
    token = await b.widget_token()
    widget, _ = await b.widget(token)
    uploaded = await b.http.post(
        "/api/widget/uploads",
        files={"file": ("parcel.png", png(), "image/png")},
        headers={"authorization": f"Bearer {token}", "origin": site.origin},
    )
    assert uploaded.status_code == 201, uploaded.text
    attachment = uploaded.json()["attachment"]
    ack = await widget.request(
        "send", client_msg_id="x-files-1", body="", attachments=[attachment["id"]]
    )
    assert ack["type"] == "ack", ack
    seen = await agent.event(
        "message", where=lambda f: f["message"].get("client_msg_id") == "x-files-1"
    )
    shown = seen["message"]["attachments"][0]
    assert shown["id"] == attachment["id"] and (shown["width"], shown["height"]) == (800, 600)
    for node in (a, b):
        for key in ("url", "thumb_url"):
            response = await node.http.get(shown[key])
            assert response.status_code == 200, (node.server.url, key)
            assert response.headers["x-content-type-options"] == "nosniff"
    await widget.close()
    await agent.close()


async def test_one_shoppers_uploads_share_one_allowance_across_processes(cluster: Cluster) -> None:
    a = cluster.nodes[0]
    site = a.sites["a"]
    token = await a.widget_token()

    async def upload(n: int) -> int:
        node = cluster.nodes[n % 2]
        answer = await node.http.post(
            "/api/widget/uploads",
            files={"file": (f"note-{n}.txt", b"note %d" % n, "text/plain")},
            headers={"authorization": f"Bearer {token}", "origin": site.origin},
        )
        if answer.status_code == 429:
            assert answer.json()["error"]["retry_after"] >= 1
        return answer.status_code

    # 16 uploads, half through each process: alone, each would let 8 through (bursts of
    # 10); drawing on one allowance in Redis, 10 go (11 if a token comes back meanwhile).
    statuses = [await upload(n) for n in range(16)]
    assert 10 <= statuses.count(201) <= 11 and set(statuses) == {201, 429}, statuses
    assert {statuses[n] for n in range(1, 16, 2)} >= {201}  # both processes served some
