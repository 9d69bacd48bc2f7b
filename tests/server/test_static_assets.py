"""Static files: hashed URLs cached for a year, gzip and brotli, ETags, the widget loader."""

from __future__ import annotations

import gzip
import json
import re

import brotli
import httpx

from chat_server.web.static_assets import IMMUTABLE, accepted_encoding
from tests.server.conftest import Env

RAW = {"accept-encoding": "identity"}


async def raw_get(env: Env, path: str, **headers: str) -> httpx.Response:
    """The bytes as sent (httpx would otherwise decode them)."""
    assert env.http is not None
    request = env.http.build_request("GET", path, headers=headers)
    response = await env.http.send(request, stream=True)
    body = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    response._content = body
    return response


async def test_loader_is_compressed_revalidated_and_names_the_hashed_app(env: Env) -> None:
    plain = await raw_get(env, "/widget.js", **RAW)
    assert plain.status_code == 200
    assert plain.headers["cache-control"] == "public, max-age=300"
    assert "content-encoding" not in plain.headers
    app_path = re.search(rb"/widget/app\.[0-9a-f]{10}\.js", plain.content)
    assert app_path is not None, "the loader carries the app's hashed URL"
    assert b"__SAPA_APP_URL__" not in plain.content

    br = await raw_get(env, "/widget.js", **{"accept-encoding": "gzip, br"})
    assert br.headers["content-encoding"] == "br"
    assert brotli.decompress(br.content) == plain.content
    assert len(br.content) < len(plain.content) / 2
    gz = await raw_get(env, "/widget.js", **{"accept-encoding": "gzip"})
    assert gz.headers["content-encoding"] == "gzip"
    assert gzip.decompress(gz.content) == plain.content
    assert "accept-encoding" in br.headers["vary"].lower()

    for response in (plain, br, gz):
        again = await raw_get(env, "/widget.js", **{"if-none-match": response.headers["etag"]})
        assert again.status_code == 304 and again.content == b""

    app = await raw_get(env, app_path.group().decode(), **{"accept-encoding": "br"})
    assert app.status_code == 200
    assert app.headers["cache-control"] == IMMUTABLE
    assert app.headers["content-type"].startswith("application/javascript")
    assert b"attachShadow" not in brotli.decompress(app.content)  # the loader makes the root


async def test_console_pages_use_hashed_urls_and_an_import_map(env: Env) -> None:
    assert env.http is not None
    page = await env.http.get("/console/login")
    css = re.findall(r'href="(/console/static/[^"]+\.css)"', page.text)
    scripts = re.findall(r'<script type="module" src="(/console/static/[^"]+)"', page.text)
    assert css and scripts
    imports = json.loads(page.text.split('<script type="importmap">', 1)[1].split("</script>")[0])
    assert imports["imports"]["/console/static/i18n.js"].startswith("/console/static/i18n.")
    for url in [*css, *scripts, *imports["imports"].values()]:
        assert re.search(r"\.[0-9a-f]{10}\.(js|css)$", url), url
        response = await raw_get(env, url, **{"accept-encoding": "gzip"})
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == IMMUTABLE
        assert response.headers["content-encoding"] == "gzip"
        assert (
            await raw_get(env, url, **{"if-none-match": response.headers["etag"]})
        ).status_code == 304


async def test_plain_stale_and_unknown_names(env: Env) -> None:
    plain = await raw_get(env, "/console/static/console.css", **RAW)
    assert plain.status_code == 200 and plain.headers["cache-control"] == "no-cache"
    assert plain.headers["etag"]
    stale = await raw_get(env, "/console/static/console.0123456789.css", **RAW)
    assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"
    assert stale.content == plain.content
    head = await env.http.head("/console/static/console.css") if env.http else None
    assert head is not None and head.status_code == 200 and head.content == b""
    for path in (
        "/console/static/nothing.js",
        "/console/static/..%2F..%2Fchat_server%2Fconfig.py",
        "/widget/demo.html",
        "/widget/__init__.py",
        "/widget/widget.js",
    ):
        assert (await raw_get(env, path)).status_code == 404, path


def test_accept_encoding_rules() -> None:
    assert accepted_encoding("gzip, deflate, br") == "br"
    assert accepted_encoding("gzip;q=1.0, br;q=0") == "gzip"
    assert accepted_encoding("*") == "br"
    assert accepted_encoding("*;q=0, identity") == "identity"
    assert accepted_encoding("") == "identity"
    assert accepted_encoding(None) == "identity"
    assert accepted_encoding("br;q=abc, gzip") == "gzip"
