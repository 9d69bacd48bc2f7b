"""The widget session call's exact answers: status, every header in order, body, log line.

`POST /api/widget/session` (and its preflight) is served past Starlette's middleware and
router (serving.SapaApp, widget_routes.session_app); what a client sees must be what the
generic stack answered, header for header.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.server.conftest import Env

PATH = "/api/widget/session"
CORS = [
    ("access-control-allow-methods", "POST, OPTIONS"),
    ("access-control-allow-headers", "content-type, authorization"),
    ("access-control-max-age", "600"),
    ("vary", "Origin"),
]
NOSNIFF = ("x-content-type-options", "nosniff")


def shape(response: httpx.Response) -> tuple[int, list[tuple[str, str]]]:
    """The status and every header but the date, in the order sent."""
    headers = [
        (name.decode().lower(), value.decode())
        for name, value in response.headers.raw
        if name.lower() != b"date"
    ]
    return response.status_code, headers


def json_headers(body: bytes, origin: str | None) -> list[tuple[str, str]]:
    headers = [
        ("server", "uvicorn"),
        ("content-length", str(len(body))),
        ("content-type", "application/json"),
    ]
    if origin:
        headers += [("access-control-allow-origin", origin), *CORS]
    return [*headers, NOSNIFF]


def error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":")).encode()


async def post(env: Env, body: bytes, origin: str | None = None, **headers: str) -> httpx.Response:
    assert env.http is not None
    if origin:
        headers["origin"] = origin
    return await env.http.post(
        PATH, content=body, headers={"content-type": "application/json", **headers}
    )


async def test_a_session_and_its_preflight_answer_as_before(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    assert env.http is not None
    caplog.set_level(logging.INFO, logger="sapa.access")
    origin = env.sites["a"].origin
    key = env.sites["a"].creds.site_key
    for sent_origin in (origin, None):
        answer = await post(env, json.dumps({"site_key": key}).encode(), sent_origin)
        assert shape(answer) == (200, json_headers(answer.content, sent_origin))
        session = answer.json()
        assert list(session) == ["token", "customer_id", "config"]
        assert list(session["config"]) == [
            "site_name",
            "greeting",
            "locale",
            "color",
            "agents_online",
            "rooms",
            "prechat",
            "hours",
            "away_message",
            "email_capture",
        ]
        # Compact, unescaped UTF-8, as Starlette's JSONResponse writes it.
        assert (
            answer.content
            == json.dumps(session, ensure_ascii=False, separators=(",", ":")).encode()
        )
    # A returning visitor keeps their token and customer.
    again = await post(env, json.dumps({"site_key": key, "token": session["token"]}).encode())
    assert again.status_code == 200
    assert again.json()["token"] == session["token"]
    assert again.json()["customer_id"] == session["customer_id"]

    preflight = await env.http.options(
        PATH, headers={"origin": origin, "access-control-request-method": "POST"}
    )
    assert shape(preflight) == (
        204,
        [("server", "uvicorn"), ("access-control-allow-origin", origin), *CORS, NOSNIFF],
    )
    assert preflight.content == b""
    bare = await env.http.options(PATH)
    assert shape(bare) == (204, [("server", "uvicorn"), NOSNIFF])

    lines = [
        (r.method, r.path, r.status)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "sapa.access"
    ]
    assert lines == [(m, PATH, s) for m, s in [("POST", 200)] * 3 + [("OPTIONS", 204)] * 2]
    assert all(r.getMessage().startswith(f"{r.method} {PATH} ") for r in caplog.records)  # type: ignore[attr-defined]


async def test_refusals_keep_their_shapes(env: Env) -> None:
    origin = env.sites["a"].origin
    key = env.sites["a"].creds.site_key
    cases: list[tuple[bytes, str | None, int, bytes]] = [
        (
            b"{not json",
            origin,
            400,
            error(
                "bad_request",
                "not valid JSON: Expecting property name enclosed in double quotes (line 1)",
            ),
        ),
        (b"[1]", origin, 400, error("bad_request", "'site_key' is required")),
        (b'{"site_key": 7}', None, 400, error("bad_request", "'site_key' is required")),
        (
            json.dumps({"site_key": key, "token": 5}).encode(),
            origin,
            400,
            error("bad_request", "'token' must be a string"),
        ),
        (
            json.dumps({"site_key": key, "token": "x" * 257}).encode(),
            origin,
            400,
            error("bad_request", "'token' must be a string"),
        ),
        (b'{"site_key": "nope"}', origin, 404, error("not_found", "site not found")),
        (
            json.dumps({"site_key": key}).encode(),
            "https://elsewhere.test",
            403,
            error("forbidden", "origin not allowed for this site"),
        ),
    ]
    for body, sent_origin, status, expected in cases:
        answer = await post(env, body, sent_origin)
        assert (answer.status_code, answer.content) == (status, expected), body
        assert shape(answer) == (status, json_headers(expected, sent_origin)), body


async def _chunks(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // 8192 + 1):
        yield b" " * 8192


async def test_bodies_over_the_limit_are_refused_before_and_while_read(env: Env) -> None:
    assert env.http is not None
    limit = env.app_settings.max_body_bytes
    expected = json.dumps(
        {"error": {"code": "too_large", "message": f"body over {limit} bytes"}}
    ).encode()
    refused = [
        ("content-type", "application/json"),
        ("connection", "close"),
        NOSNIFF,
    ]
    declared = await post(env, b" " * (limit + 1), env.sites["a"].origin)
    assert declared.content == expected
    assert shape(declared) == (
        413,
        [("server", "uvicorn"), *refused, ("transfer-encoding", "chunked")],
    )
    streamed = await env.http.post(PATH, content=_chunks(limit), headers={"origin": "x"})
    assert streamed.content == expected
    assert shape(streamed)[0] == 413 and shape(streamed)[1][:4] == [("server", "uvicorn"), *refused]


async def test_other_methods_are_not_allowed(env: Env) -> None:
    assert env.http is not None
    answer = await env.http.get(PATH)
    assert answer.status_code == 405
    assert answer.json() == {"error": {"code": "bad_request", "message": "Method Not Allowed"}}
    assert shape(answer) == (405, json_headers(answer.content, None))


@pytest.mark.settings(session_rate_per_address=1)
async def test_too_many_sessions_answer_429_with_cors(env: Env) -> None:
    origin = env.sites["a"].origin
    body: dict[str, Any] = {"site_key": env.sites["a"].creds.site_key}
    assert (await post(env, json.dumps(body).encode(), origin)).status_code == 200
    answer = await post(env, json.dumps(body).encode(), origin)
    expected = error(
        "rate_limited",
        "too many new chat sessions from this address (at most 1 a minute);"
        " keep the token you were given",
    )
    assert (answer.status_code, answer.content) == (429, expected)
    assert shape(answer) == (429, json_headers(expected, origin))
