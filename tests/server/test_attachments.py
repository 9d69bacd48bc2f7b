"""Photos and files in conversations: uploads, sending, signed links, access, bad input."""

from __future__ import annotations

import asyncio
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from PIL import Image

from chat_server.services.file_storage import LocalStorage
from chat_server.services.files import FileService
from chat_server.store import open_database
from tests.server.conftest import Env, WsClient
from tests.server.test_crm import api
from tests.server.test_public_rooms import default_room, post, visitor

# -- files to upload -------------------------------------------------------------------


def jpeg_with_gps(width: int = 800, height: int = 600, orientation: int = 6) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = orientation  # rotate 90 degrees on display
    exif[0x010F] = "SecretCam"  # Make
    gps = {1: "S", 2: (6.0, 10.0, 30.0), 3: "E", 4: (106.0, 49.0, 0.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(width: int = 64, height: int = 48, color: tuple[int, int, int] = (0, 128, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (10, 10), 1).save(out, "GIF")
    return out.getvalue()


def png_bomb(side: int = 20_000) -> bytes:
    """A valid PNG header for side x side pixels of grey, compressed to a few KB."""
    raw = zlib.compress(b"\x00" * (side + 1) * 64, 9)  # only a few rows; the header is the lie

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


# -- helpers ---------------------------------------------------------------------------


async def widget_upload(
    env: Env,
    token: str,
    data: bytes,
    name: str = "photo.jpg",
    site: str = "a",
    content_type: str = "image/jpeg",
) -> httpx.Response:
    assert env.http is not None
    return await env.http.post(
        "/api/widget/uploads",
        files={"file": (name, data, content_type)},
        headers={"authorization": f"Bearer {token}", "origin": env.sites[site].origin},
    )


async def uploaded(env: Env, token: str, data: bytes, name: str = "photo.jpg") -> dict[str, Any]:
    response = await widget_upload(env, token, data, name)
    assert response.status_code == 201, response.text
    attachment: dict[str, Any] = response.json()["attachment"]
    return attachment


async def agent_upload(env: Env, data: bytes, name: str, site: str = "a") -> dict[str, Any]:
    assert env.http is not None
    response = await env.http.post(
        "/api/v1/uploads",
        files={"file": (name, data, "application/octet-stream")},
        headers=api(env, site),
    )
    assert response.status_code == 201, response.text
    attachment: dict[str, Any] = response.json()["attachment"]
    return attachment


async def console_upload(
    env: Env, headers: dict[str, str], csrf: str, data: bytes, name: str
) -> dict[str, Any]:
    assert env.http is not None
    response = await env.http.post(
        "/api/v1/uploads",
        files={"file": (name, data, "application/octet-stream")},
        headers={**headers, "x-csrf-token": csrf, "origin": env.url},
    )
    assert response.status_code == 201, response.text
    attachment: dict[str, Any] = response.json()["attachment"]
    return attachment


async def shopper(env: Env, site: str = "a") -> tuple[WsClient, str]:
    client, session = await env.widget(site)
    return client, str(session["token"])


async def send_files(
    client: WsClient, cmid: str, ids: list[str], body: str = "", **extra: Any
) -> Any:
    return await client.request("send", client_msg_id=cmid, body=body, attachments=ids, **extra)


async def fetch(env: Env, url: str) -> httpx.Response:
    assert env.http is not None
    return await env.http.get(url)


def files_on_disk(env: Env) -> list[Path]:
    root = Path(env.app_settings.files_root)
    return [p for p in root.rglob("*") if p.is_file() and ".incoming" not in p.parts]


# -- uploads and messages ------------------------------------------------------------


async def test_a_shopper_sends_a_photo_that_the_agent_sees_cleaned_with_a_thumbnail(
    env: Env,
) -> None:
    agent, *_ = await env.agent(env.sites["a"].agent_email)
    client, token = await shopper(env)
    photo = await uploaded(env, token, jpeg_with_gps(), "parcel.jpg")
    # Orientation applied: 800x600 turned upright is 600x800.
    assert photo["type"] == "image/jpeg" and (photo["width"], photo["height"]) == (600, 800)
    assert photo["name"] == "parcel.jpg" and "url" not in photo
    ack = await send_files(client, "c1", [photo["id"]], "the box arrived crushed")
    assert ack["type"] == "ack", ack
    sent = ack["message"]["attachments"][0]
    assert sent["id"] == photo["id"] and sent["url"].startswith("/files/")
    event = await agent.event("message", where=lambda f: f["message"]["client_msg_id"] == "c1")
    shown = event["message"]["attachments"][0]
    full = await fetch(env, shown["url"])
    assert full.status_code == 200
    assert full.headers["content-type"] == "image/jpeg"
    assert full.headers["x-content-type-options"] == "nosniff"
    assert full.headers["content-security-policy"].startswith("default-src 'none'")
    assert full.headers["content-disposition"].startswith("inline")
    kept = Image.open(io.BytesIO(full.content))
    assert kept.size == (600, 800)
    assert not kept.getexif(), "EXIF (GPS, camera) must be gone"
    assert b"SecretCam" not in full.content
    thumb = await fetch(env, shown["thumb_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 320


async def test_a_file_alone_needs_no_text_and_v1_text_still_needs_a_body(env: Env) -> None:
    client, token = await shopper(env)
    pdf = await uploaded(env, token, PDF, "invoice.pdf")
    assert pdf["type"] == "application/pdf" and "width" not in pdf
    ack = await send_files(client, "p1", [pdf["id"]])
    assert ack["type"] == "ack" and ack["message"]["body"] == ""
    link = await fetch(env, ack["message"]["attachments"][0]["url"])
    assert link.status_code == 200 and link.content == PDF
    assert link.headers["content-disposition"].startswith("attachment;")
    assert 'filename="invoice.pdf"' in link.headers["content-disposition"]
    refused = await client.request("send", client_msg_id="p2", body="")
    assert refused["type"] == "error" and refused["code"] == "bad_request"


async def test_sync_and_rest_carry_fresh_links(env: Env) -> None:
    assert env.http is not None
    client, token = await shopper(env)
    text = await uploaded(env, token, b"catatan pesanan: warna biru\n", "note.txt")
    assert text["type"] == "text/plain"
    ack = await send_files(client, "t1", [text["id"]], "see note")
    room_id = ack["message"]["room_id"]
    synced = await client.request("sync", room_id=room_id, after_seq=0)
    mine = [m for m in synced["messages"] if m.get("attachments")]
    assert mine and mine[0]["attachments"][0]["id"] == text["id"]
    listed = await env.http.get(f"/api/v1/rooms/{room_id}/messages", headers=api(env))
    items = [m for m in listed.json()["items"] if m.get("attachments")]
    got = await fetch(env, items[0]["attachments"][0]["url"])
    assert got.status_code == 200 and got.headers["content-type"] == "text/plain; charset=utf-8"


async def test_an_agent_replies_with_an_image_the_shopper_opens(env: Env) -> None:
    agent, _, headers, csrf = await env.agent(env.sites["a"].agent_email)
    client, _ = await shopper(env)
    first = await client.request("send", client_msg_id="q1", body="size chart?")
    room_id = first["message"]["room_id"]
    assert env.http is not None
    chart = await console_upload(env, headers, csrf, png(640, 480), "chart.png")
    ack = await agent.request(
        "send", room_id=room_id, client_msg_id="a1", body="here", attachments=[chart["id"]]
    )
    assert ack["type"] == "ack", ack
    seen = await client.event("message", where=lambda f: f["message"].get("client_msg_id") == "a1")
    got = await fetch(env, seen["message"]["attachments"][0]["thumb_url"])
    assert got.status_code == 200
    # Cookie sessions need the CSRF token for uploads too.
    no_csrf = await env.http.post(
        "/api/v1/uploads", files={"file": ("c.png", png(), "image/png")}, headers=headers
    )
    assert no_csrf.status_code == 403


# -- access ----------------------------------------------------------------------------


async def test_another_shoppers_or_sites_uploads_cannot_be_sent(env: Env) -> None:
    client, token = await shopper(env)
    other, other_token = await shopper(env)
    foreign, foreign_token = await shopper(env, "b")
    theirs = await uploaded(env, other_token, png())
    response = await widget_upload(env, foreign_token, png(), site="b")
    other_site = response.json()["attachment"]
    for ids in ([theirs["id"]], [other_site["id"]], ["att_nope"]):
        refused = await send_files(client, f"x{ids[0]}", ids)
        assert refused["type"] == "error" and refused["code"] == "not_found", refused
    # The uploader's own attachment is sent once; a second message cannot take it again.
    mine = await uploaded(env, token, png())
    assert (await send_files(client, "m1", [mine["id"]]))["type"] == "ack"
    again = await send_files(client, "m2", [mine["id"]])
    assert again["type"] == "error" and again["code"] == "not_found"
    # The resend of the same client_msg_id is the same message, not an error.
    same = await send_files(client, "m1", [mine["id"]])
    assert same["type"] == "ack" and same["duplicate"] is True
    await other.close()
    await foreign.close()


async def test_links_refuse_tampering_expiry_and_wrong_variants(env: Env) -> None:
    client, token = await shopper(env)
    photo = await uploaded(env, token, png(800, 600))
    ack = await send_files(client, "l1", [photo["id"]])
    url = ack["message"]["attachments"][0]["url"]
    assert (await fetch(env, url)).status_code == 200
    path, query = url.split("?")
    q = {k: v[0] for k, v in parse_qs(query).items()}
    tampered = [
        f"{path}?e={q['e']}&s={q['s']}&sig={'0' * 32}",
        f"{path}?e={int(q['e']) + 600}&s={q['s']}&sig={q['sig']}",  # longer life
        f"{path}?e={q['e']}&s=s&sig={q['sig']}",  # staff scope
        f"{path.replace('/full', '/thumb')}?{query}",  # the signature is for the full file
        f"{path}?e=1&s=v&sig={q['sig']}",
        f"{path}",
        path.replace(photo["id"], "att_other") + "?" + query,
    ]
    for bad in tampered:
        response = await fetch(env, bad)
        assert response.status_code == 404, bad
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.settings(files_link_ttl=-1200)
async def test_an_expired_link_is_refused(env: Env) -> None:
    client, token = await shopper(env)
    photo = await uploaded(env, token, png())
    ack = await send_files(client, "e1", [photo["id"]])
    response = await fetch(env, ack["message"]["attachments"][0]["url"])
    assert response.status_code == 404


async def test_an_unsent_upload_has_no_link_and_is_swept_after_a_day(env: Env) -> None:
    _, token = await shopper(env)
    photo = await uploaded(env, token, png(500, 400))
    assert len(files_on_disk(env)) == 2  # the image and its thumbnail
    env.sql(
        "UPDATE attachments SET created_at = '2000-01-01T00:00:00.000Z' WHERE id = ?",
        (photo["id"],),
    )
    swept = await sweep(env)
    assert swept == 1
    assert files_on_disk(env) == []
    assert env.sql("SELECT count(*) FROM attachments")[0][0] == 0


async def sweep(env: Env) -> int:
    """A sweep as any server process runs it, on the same database and directory."""
    db = open_database(env.app_settings.db_path, readers=1)
    await db.open()
    try:
        return await FileService(db, LocalStorage(Path(env.app_settings.files_root))).sweep()
    finally:
        await db.close()


async def test_the_same_bytes_twice_are_kept_once(env: Env) -> None:
    client, token = await shopper(env)
    first = await uploaded(env, token, PDF, "a.pdf")
    second = await uploaded(env, token, PDF, "b.pdf")
    assert first["id"] != second["id"]
    assert len(files_on_disk(env)) == 1
    env.sql(
        "UPDATE attachments SET created_at = '2000-01-01T00:00:00.000Z' WHERE id = ?",
        (first["id"],),
    )
    await send_files(client, "d1", [second["id"]])
    await sweep(env)
    assert len(files_on_disk(env)) == 1, "the blob another upload names stays"


# -- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "why"),
    [
        ("polyglot.gif", gif() + b"<html><script>alert(1)</script></html>", "HTML"),
        ("gifjs.gif", b"GIF89a/*" + b"\x00" * 10 + b"*/=alert(document.cookie)//;<script>", "HTML"),
        ("page.png", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "JPEG"),
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "JPEG",
        ),
        ("empty.jpg", b"", "empty"),
        ("cut.png", png(300, 300)[:200], "cannot be read"),
        ("cut.jpg", jpeg_with_gps()[:600], "cannot be read"),
        ("bomb.png", png_bomb(), "pixels"),
        ("binary.bin", bytes(range(256)) * 4, "JPEG"),
    ],
)
async def test_bad_files_are_refused_clearly(env: Env, name: str, data: bytes, why: str) -> None:
    _, token = await shopper(env)
    response = await widget_upload(env, token, data, name)
    assert response.status_code == 400, response.text
    assert why in response.json()["error"]["message"]
    assert files_on_disk(env) == []
    # And the server keeps serving.
    assert (await widget_upload(env, token, png(), "fine.png")).status_code == 201


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../../etc/passwd.png", "path"),
        ("a\\b.png", "path"),
        ("nul\x00.png", "control"),
        ("x" * 500 + ".png", "characters"),
        (".htaccess", "path"),
    ],
)
async def test_hostile_names_are_refused(env: Env, name: str, why: str) -> None:
    _, token = await shopper(env)
    assert env.http is not None
    # Built by hand: HTTP clients escape such names, hostile ones do not.
    body = (
        b'--abc\r\nContent-Disposition: form-data; name="file"; filename="'
        + name.encode()
        + b'"\r\nContent-Type: image/png\r\n\r\n'
        + png()
        + b"\r\n--abc--\r\n"
    )
    response = await env.http.post(
        "/api/widget/uploads",
        content=body,
        headers={
            "authorization": f"Bearer {token}",
            "content-type": "multipart/form-data; boundary=abc",
        },
    )
    assert response.status_code == 400, response.text
    assert why in response.json()["error"]["message"]


async def test_a_file_over_the_site_limit_is_refused_while_it_streams(env: Env) -> None:
    _, token = await shopper(env)
    big = b"a" * (50 * 1024 * 1024)
    response = await widget_upload(env, token, big, "big.txt", content_type="text/plain")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    # Without a Content-Length, the count while streaming stops it too.
    assert env.http is not None

    async def chunks() -> Any:
        boundary = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="b.txt"\r\n\r\n'
        yield boundary
        for _ in range(12):
            yield b"b" * (1024 * 1024)
        yield b"\r\n--xyz--\r\n"

    streamed = await env.http.post(
        "/api/widget/uploads",
        content=chunks(),
        headers={
            "authorization": f"Bearer {token}",
            "content-type": "multipart/form-data; boundary=xyz",
        },
    )
    assert streamed.status_code == 413
    assert files_on_disk(env) == []
    assert (await widget_upload(env, token, png(), "fine.png")).status_code == 201


async def test_the_limit_is_per_site_and_its_owner_sets_it(env: Env) -> None:
    assert env.http is not None
    site = await env.http.get("/api/v1/site", headers=api(env))
    assert site.json()["max_upload_bytes"] == 10 * 1024 * 1024
    for wrong in (1023, 50 * 1024 * 1024 + 1, "2000", True, 2000.5):
        refused = await env.http.put(
            "/api/v1/site", json={"max_upload_bytes": wrong}, headers=api(env)
        )
        assert refused.status_code == 400, wrong
    _, _, agent_headers, csrf = await env.agent(env.sites["a"].agent_email)
    not_owner = await env.http.put(
        "/api/v1/site",
        json={"max_upload_bytes": 2048},
        headers={**agent_headers, "x-csrf-token": csrf, "origin": env.url},
    )
    assert not_owner.status_code == 403
    changed = await env.http.put("/api/v1/site", json={"max_upload_bytes": 1024}, headers=api(env))
    assert changed.status_code == 200 and changed.json()["max_upload_bytes"] == 1024
    _, token = await shopper(env)
    assert (await widget_upload(env, token, b"x" * 1024, "a.txt")).status_code == 201
    assert (await widget_upload(env, token, b"x" * 2000, "a.txt")).status_code == 413
    _, token_b = await shopper(env, "b")
    assert (await widget_upload(env, token_b, b"x" * 2000, "a.txt", site="b")).status_code == 201


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"file": "x"}'),
        ("multipart/form-data", b"--x\r\n"),
        ("multipart/form-data; boundary=abc", b"garbage without a boundary"),
        (
            "multipart/form-data; boundary=abc",
            b'--abc\r\nContent-Disposition: form-data; name="other"\r\n\r\nhi\r\n--abc--\r\n',
        ),
        (
            "multipart/form-data; boundary=abc",
            b"--abc\r\nContent-Type: text/plain\r\n\r\nhi\r\n--abc--\r\n",
        ),
        (
            "multipart/form-data; boundary=abc",
            b'--abc\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhi\r\n'
            b'--abc\r\nContent-Disposition: form-data; name="file"; filename="b.txt"\r\n\r\nho\r\n--abc--\r\n',
        ),
        (
            "multipart/form-data; boundary=abc",
            b'--abc\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhi',
        ),
    ],
)
async def test_wrong_multipart_is_a_bad_request(env: Env, content_type: str, body: bytes) -> None:
    assert env.http is not None
    _, token = await shopper(env)
    response = await env.http.post(
        "/api/widget/uploads",
        content=body,
        headers={"authorization": f"Bearer {token}", "content-type": content_type},
    )
    assert response.status_code == 400, response.text
    assert files_on_disk(env) == []


async def test_uploads_need_a_token_of_the_site_from_its_origin(env: Env) -> None:
    _, token = await shopper(env)
    assert (await widget_upload(env, "nope", png())).status_code == 401
    assert env.http is not None
    wrong_origin = await env.http.post(
        "/api/widget/uploads",
        files={"file": ("a.png", png(), "image/png")},
        headers={"authorization": f"Bearer {token}", "origin": "https://evil.test"},
    )
    assert wrong_origin.status_code == 403
    anonymous = await env.http.post(
        "/api/v1/uploads", files={"file": ("a.png", png(), "image/png")}
    )
    assert anonymous.status_code == 401


# A burst of one and a token back every 20 s: however slow the machine, the flood of 40
# cannot outlast the refill (a faster refill made the count depend on the test's speed).
@pytest.mark.settings(uploads_per_minute=3)
async def test_a_flood_of_uploads_from_one_token_is_limited(env: Env) -> None:
    _, token = await shopper(env)
    _, other = await shopper(env)
    codes = await asyncio.gather(
        *(widget_upload(env, token, b"hi %d" % i, "a.txt") for i in range(40))
    )
    statuses = [r.status_code for r in codes]
    assert 1 <= statuses.count(201) <= 2 and statuses.count(429) == 40 - statuses.count(201)
    # Another shopper is not held up by it.
    assert (await widget_upload(env, other, b"hello", "a.txt")).status_code == 201


# One upload per shopper at once, then one every 20 s; the site's shoppers together 2, then
# one every 10 s: no test run is fast or slow enough for a token to come back meanwhile.
@pytest.mark.settings(
    uploads_per_minute=3, uploads_per_minute_per_site=6, agent_uploads_per_minute=30
)
async def test_uploads_are_limited_per_shopper_and_per_site_with_a_retry_time_agents_apart(
    env: Env,
) -> None:
    tokens = [(await shopper(env))[1] for _ in range(3)]
    assert (await widget_upload(env, tokens[0], b"one", "a.txt")).status_code == 201
    again = await widget_upload(env, tokens[0], b"two", "a.txt")
    assert again.status_code == 429
    error = again.json()["error"]
    assert error["code"] == "rate_limited" and 1 <= error["retry_after"] <= 20
    assert again.headers["retry-after"] == str(error["retry_after"])
    assert str(error["retry_after"]) in error["message"]
    # A refused upload took nothing: the second shopper still finds the site's second one.
    assert (await widget_upload(env, tokens[1], b"three", "a.txt")).status_code == 201
    site_full = await widget_upload(env, tokens[2], b"four", "a.txt")
    assert site_full.status_code == 429 and 1 <= site_full.json()["error"]["retry_after"] <= 10
    # The other site's shoppers, and this site's agents, draw on allowances of their own.
    _, elsewhere = await shopper(env, "b")
    assert (await widget_upload(env, elsewhere, b"five", "a.txt", site="b")).status_code == 201
    for n in range(5):
        await agent_upload(env, b"chart %d" % n, "chart.txt")
    # The refusals were answered in full: the server still serves the flooded shopper's
    # messages (and the widget's outbox retries the upload after retry_after).
    client, _ = await env.widget("a", token=tokens[0])
    sent = await client.request("send", client_msg_id="after-flood", body="masih bisa?")
    assert sent["type"] == "ack", sent


# -- public rooms ---------------------------------------------------------------------------


@pytest.mark.settings(room_new_identity_posts=0)
async def test_public_rooms_take_visitors_images_only_when_allowed_and_hiding_hides_them(
    env: Env,
) -> None:
    agent, _, headers, csrf = await env.agent(env.sites["a"].owner_email)
    room_id = await default_room(env)
    reader = await visitor(env, "Reader", join=room_id)
    poster, session = await env.widget("a")
    await poster.request("join", room_id=room_id)
    token = session["token"]
    photo = await uploaded(env, token, png(500, 500))
    refused = await post(poster, room_id, "v1", "look", attachments=[photo["id"]])
    assert refused["type"] == "error" and refused["code"] == "forbidden"
    changed = await agent.request("room_settings", room_id=room_id, visitor_images=True)
    assert changed["type"] == "ack" and changed["room"]["visitor_images"] is True
    pdf = await uploaded(env, token, PDF, "x.pdf")
    no_pdf = await post(poster, room_id, "v2", "doc", attachments=[pdf["id"]])
    assert no_pdf["type"] == "error" and no_pdf["code"] == "forbidden"
    ack = await post(poster, room_id, "v3", "look", attachments=[photo["id"]])
    assert ack["type"] == "ack", ack
    seen = await reader.event("message", where=lambda f: f["message"].get("client_msg_id") == "v3")
    visitor_url = seen["message"]["attachments"][0]["url"]
    assert (await fetch(env, visitor_url)).status_code == 200
    hidden = await agent.request(
        "moderate", room_id=room_id, message_id=ack["message"]["id"], action="hide"
    )
    staff_url = hidden["message"]["attachments"][0]["url"]
    assert (await fetch(env, visitor_url)).status_code == 404
    assert (await fetch(env, staff_url)).status_code == 200
    # Staff post any file in public rooms (their own uploads: not the API token's).
    by_api = await agent_upload(env, PDF, "rules.pdf")
    other = await post(agent, room_id, "s0", "rules", attachments=[by_api["id"]])
    assert other["type"] == "error" and other["code"] == "not_found"
    chart = await console_upload(env, headers, csrf, PDF, "rules.pdf")
    staff = await post(agent, room_id, "s1", "rules", attachments=[chart["id"]])
    assert staff["type"] == "ack", staff


# -- privacy -------------------------------------------------------------------------------


async def test_erase_deletes_the_customers_files_from_disk_and_export_zips_them(env: Env) -> None:
    assert env.http is not None
    agent, _, headers, csrf = await env.agent(env.sites["a"].agent_email)
    client, token = await shopper(env)
    photo = await uploaded(env, token, jpeg_with_gps(), "damaged.jpg")
    pdf = await uploaded(env, token, PDF, "receipt.pdf")
    ack = await send_files(client, "e1", [photo["id"], pdf["id"]], "see")
    room_id, customer_id = ack["message"]["room_id"], ack["message"]["author"]["id"]
    chart = await console_upload(env, headers, csrf, png(900, 700, (9, 9, 9)), "chart.png")
    reply = await agent.request(
        "send", room_id=room_id, client_msg_id="a1", body="ok", attachments=[chart["id"]]
    )
    links = [a["url"] for a in ack["message"]["attachments"]]
    links.append(reply["message"]["attachments"][0]["thumb_url"])
    # Another shopper's copy of the same PDF stays: the blob is theirs too.
    other_client, other_token = await shopper(env)
    theirs = await uploaded(env, other_token, PDF, "mine.pdf")
    kept = await send_files(other_client, "o1", [theirs["id"]])
    before = files_on_disk(env)
    assert len(before) == 5  # photo + thumb, pdf, chart + thumb

    exported = await env.http.get(
        f"/api/v1/customers/{customer_id}/export", params={"format": "zip"}, headers=api(env)
    )
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        names = archive.namelist()
        assert "customer.json" in names
        assert f"files/{pdf['id']}-receipt.pdf" in names
        assert archive.read(f"files/{pdf['id']}-receipt.pdf") == PDF
        assert f"files/{photo['id']}-damaged.jpg" in names
        assert f"files/{chart['id']}-chart.png" in names
        record = json.loads(archive.read("customer.json"))
        assert record["customer"]["id"] == customer_id
    timeline = await env.http.get(f"/api/v1/customers/{customer_id}/timeline", headers=api(env))
    with_files = [
        e
        for e in timeline.json()["items"]
        if e["kind"] == "message" and e["message"].get("attachments")
    ]
    assert len(with_files) == 2

    erased = await env.http.delete(f"/api/v1/customers/{customer_id}", headers=api(env))
    assert erased.status_code == 200, erased.text
    after = files_on_disk(env)
    assert len(after) == 1 and after[0].read_bytes() == PDF
    for link in links:
        assert (await fetch(env, link)).status_code == 404
    assert (await fetch(env, kept["message"]["attachments"][0]["url"])).status_code == 200
    assert (
        env.sql("SELECT count(*) FROM attachments WHERE customer_id = ?", (customer_id,))[0][0] == 0
    )
    rows = env.sql("SELECT attachments FROM messages WHERE room_id = ?", (room_id,))
    assert all(row[0] is None for row in rows)
    await other_client.close()
