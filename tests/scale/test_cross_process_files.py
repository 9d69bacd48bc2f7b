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
