"""Random, nested and invalid-unicode input on every JSON route, every frame type and
the reading routes' query strings.

A real server (uvicorn, SQLite) runs in a thread of its own, so hypothesis can drive
it from plain functions. Whatever arrives, the answer is a 2xx or 4xx, a socket
error is never `internal`, a socket is only closed for a reason the protocol
names, and the server logs no traceback. Bounded: a fixed number of examples.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import timeout
from tests.server.bad_input import JSON_ROUTES, JsonRoute, LogWatch, watch_log
from tests.server.conftest import PASSWORD, SiteFixture, env_with

# Names the server reads somewhere, so random objects reach past the first check.
KEYS = (
    "action active after_seq agent_id answer archived attributes before_seq body category"
    " client_msg_id color comment consent currency customer_id email enabled external_id"
    " faq_id fields for_message_id greeting helpful ids items kind lang limit locale"
    " marketing_consent message_id minutes name order_id password phone phrasings"
    " pinned_message_id placed_at position prechat price q quantity question ref reply_to"
    " room_id score seq site_key sku slow_mode_seconds status tags text token total"
    " type user_hash"
).split()

surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
texts = st.one_of(
    st.text(alphabet=st.one_of(st.characters(), surrogates), max_size=30),
    st.sampled_from(["", " ", "%", "_", "\x00", "#000000\n", "a" * 5000, "😀" * 3000]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
)
keys = st.one_of(st.sampled_from(KEYS), texts)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=20,
)
small_ints = st.integers(-3, 300)
short_texts = st.text(min_size=1, max_size=40)
# Values a handler expects for each name, so that many objects get past the first check
# and reach the services and the store. "$ROOM" is replaced with a real room id.
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "room_id": st.sampled_from(["$ROOM", "r_missing"]),
    "customer_id": st.sampled_from(["$CUSTOMER", "c_missing"]),
    "body": short_texts,
    "text": short_texts,
    "name": short_texts,
    "question": short_texts,
    "answer": short_texts,
    "q": short_texts,
    "comment": short_texts,
    "client_msg_id": st.text(min_size=1, max_size=64),
    "external_id": short_texts,
    "email": st.emails(),
    "after_seq": small_ints,
    "before_seq": small_ints,
    "seq": small_ints,
    "limit": small_ints,
    "score": small_ints,
    "minutes": small_ints,
    "position": small_ints,
    "slow_mode_seconds": small_ints,
    "active": st.booleans(),
    "helpful": st.booleans(),
    "archived": st.booleans(),
    "marketing_consent": st.booleans(),
    "status": st.sampled_from(["online", "away", "offline", "draft", "published"]),
    "action": st.sampled_from(["hide", "unhide"]),
    "kind": st.sampled_from(["text", "note"]),
    "lang": st.sampled_from(["id", "en"]),
    "locale": st.sampled_from(["id", "en"]),
    "color": st.sampled_from(["#123456", "#000000\n", "red"]),
    "tags": st.lists(short_texts, max_size=3),
    "ids": st.lists(short_texts, max_size=3),
    "phrasings": st.lists(short_texts, max_size=3),
    "attributes": st.dictionaries(short_texts, scalars, max_size=3),
    "total": st.one_of(st.integers(), st.floats()),
    "currency": st.sampled_from(["IDR", "USD", "x"]),
    "order_id": short_texts,
    "placed_at": st.sampled_from(["2026-01-02T03:04:05.000Z", "yesterday", ""]),
    "items": st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "sku": short_texts,
                "name": short_texts,
                "quantity": st.integers(),
                "price": st.one_of(st.integers(), st.floats()),
            },
        ),
        max_size=3,
    ),
    "site_key": st.sampled_from(["$SITE_KEY", "pk_missing"]),
    "token": st.sampled_from(["$TOKEN", "nope"]),
}
plausible_objects = st.fixed_dictionaries({}, optional=PLAUSIBLE)
objects = st.one_of(
    plausible_objects,
    plausible_objects,
    st.dictionaries(keys, values, max_size=8),
    st.fixed_dictionaries(
        {}, optional={k: st.one_of(PLAUSIBLE.get(k, values), values) for k in KEYS}
    ),
)


def serialised(value: Any, escape: bool) -> bytes:
    # Escaped, surrogates become \ud800 escapes; raw, they become invalid UTF-8 bytes.
    return json.dumps(value, ensure_ascii=escape).encode("utf-8", "surrogatepass")


json_bodies = st.one_of(
    st.builds(serialised, objects, st.booleans()),
    st.builds(serialised, values, st.booleans()),
    st.binary(max_size=64),
    st.integers(20, 3000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
)


def placed(live: Live, raw: bytes) -> bytes:
    return (
        raw.replace(b"$ROOM", live.room_id.encode())
        .replace(b"$SITE_KEY", live.sites["a"].creds.site_key.encode())
        .replace(b"$TOKEN", live.widget_token.encode())
        .replace(b"$CUSTOMER", live.customer_id.encode())
    )


@dataclass
class Live:
    url: str
    sites: dict[str, SiteFixture]
    http: httpx.Client
    log: LogWatch
    widget_token: str = ""
    room_id: str = ""  # the site's public room
    customer_id: str = ""  # a customer of the site
    cookie: str = ""
    sockets: dict[str, ClientConnection] = field(default_factory=dict)
    opened: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def socket(self, kind: str) -> ClientConnection:
        ws = self.sockets.get(kind)
        if ws is None:
            base = self.url.replace("http", "ws")
            if kind == "widget":
                origin, path, extra = self.sites["a"].origin, "/ws/widget", {}
                hello = {"type": "hello", "token": self.widget_token}
            else:
                origin, path, hello = self.url, "/ws/agent", {"type": "hello"}
                extra = {"Cookie": f"sapa_session={self.cookie}"}
            ws = self.opened.enter_context(
                connect(base + path, origin=origin, additional_headers=extra)  # type: ignore[arg-type]
            )
            ws.send(json.dumps(hello))
            assert json.loads(ws.recv(timeout(5)))["type"] == "welcome"
            self.sockets[kind] = ws
        return ws


@pytest.fixture(scope="module")
def live(
    tmp_path_factory: pytest.TempPathFactory, seeded_db: tuple[Path, dict[str, SiteFixture]]
) -> Iterator[Live]:
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        async for env in env_with(tmp_path_factory.mktemp("fuzz"), seeded_db):
            state["url"], state["loop"], state["stop"] = (
                env.url,
                asyncio.get_running_loop(),
                asyncio.Event(),
            )
            ready.set()
            await state["stop"].wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(timeout(30)), "the server did not start"
    url, sites = state["url"], seeded_db[1]
    with httpx.Client(base_url=url, timeout=timeout(30)) as http, watch_log() as log:
        live = Live(url, sites, http, log)
        session = http.post("/api/widget/session", json={"site_key": sites["a"].creds.site_key})
        live.widget_token = session.json()["token"]
        live.room_id = session.json()["config"]["rooms"][0]["id"]
        customer = http.put(
            "/api/v1/customers/by-external-id/fuzz-1",
            json={"name": "Fuzz"},
            headers={"authorization": f"Bearer {sites['a'].creds.api_token}"},
        )
        live.customer_id = customer.json()["id"]
        login = http.post(
            "/api/v1/auth/login",
            json={"email": sites["a"].owner_email, "password": PASSWORD},
            headers={"origin": url},
        )
        live.cookie = login.cookies["sapa_session"]
        http.cookies.clear()
        try:
            yield live
        finally:
            live.opened.close()
            state["loop"].call_soon_threadsafe(state["stop"].set)
            thread.join(timeout(30))


def headers_for(live: Live, route: JsonRoute) -> dict[str, str]:
    site = live.sites["a"]
    origin = live.url if route.caller == "console" else site.origin
    headers = {"content-type": "application/json", "origin": origin}
    if route.caller == "api":
        headers["authorization"] = f"Bearer {site.creds.api_token}"
    elif route.caller == "widget":
        headers["authorization"] = f"Bearer {live.widget_token}"
    return headers


FUZZ = settings(
    max_examples=100,
    deadline=None,  # a real server on a shared machine: time is not what is tested
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(route=st.sampled_from(JSON_ROUTES), body=json_bodies)
def test_json_routes_never_fail_on_any_body(live: Live, route: JsonRoute, body: bytes) -> None:
    response = live.http.request(
        route.method,
        placed(live, route.path.encode()).decode(),
        content=placed(live, body),
        headers=headers_for(live, route),
    )
    assert response.status_code < 500, (route, body[:200], response.text[:500])
    assert live.log.tracebacks() == []


# Each frame type with its own fields (required, then optional), mostly plausible values.
FRAME_FIELDS: dict[str, tuple[str, str]] = {
    "hello": ("token", ""),
    "send": ("client_msg_id body", "room_id kind reply_to faq_id for_message_id"),
    "sync": ("room_id after_seq", "limit"),
    "typing": ("room_id active", ""),
    "read": ("room_id seq", ""),
    "join": ("room_id", ""),
    "leave": ("room_id", ""),
    "ping": ("", ""),
    "history": ("room_id", "before_seq limit"),
    "profile": ("name", ""),
    "rate": ("room_id score", "comment"),
    "faq_search": ("q", "limit"),
    "faq_feedback": ("faq_id helpful", "for_message_id"),
    "assign": ("room_id agent_id", ""),
    "resolve": ("room_id", ""),
    "reopen": ("room_id", ""),
    "status": ("status", ""),
    "moderate": ("room_id message_id action", ""),
    "mute": ("room_id customer_id minutes", ""),
    "room_settings": ("room_id", "name position slow_mode_seconds archived pinned_message_id"),
}


def field_value(name: str) -> st.SearchStrategy[Any]:
    likely = PLAUSIBLE.get(name, short_texts)
    return st.one_of(likely, likely, values)


def typed(kind: str) -> st.SearchStrategy[bytes]:
    required, optional = (names.split() for names in FRAME_FIELDS[kind])
    fields = st.fixed_dictionaries(
        {name: field_value(name) for name in required},
        optional={name: field_value(name) for name in optional},
    )
    return st.builds(
        lambda data, escape: serialised({**data, "type": kind, "ref": "fz"}, escape),
        fields,
        st.booleans(),
    )


typed_frames = st.one_of([typed(kind) for kind in FRAME_FIELDS])
odd_frames = st.builds(
    lambda kind, fields, escape: serialised({**fields, "type": kind, "ref": "fz"}, escape),
    st.one_of(st.sampled_from(sorted(FRAME_FIELDS)), texts),
    objects,
    st.booleans(),
)
frames = st.one_of(
    typed_frames,
    typed_frames,
    typed_frames,
    odd_frames,
    st.builds(serialised, values, st.booleans()),
    st.binary(max_size=64),
    st.integers(20, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
)


def exchange(live: Live, kind: str, frame: bytes) -> None:
    """Send one frame and read until its answer; a socket closed for abuse is reopened."""
    ws = live.socket(kind)
    frame = placed(live, frame)
    try:
        # Valid UTF-8 goes as a text frame, the rest as a binary one.
        try:
            ws.send(frame.decode("utf-8"))
        except UnicodeDecodeError:
            ws.send(frame)
        while True:
            answer = json.loads(ws.recv(timeout(10)))
            if answer["type"] in ("ack", "error") and answer.get("ref") in ("fz", None):
                break
    except ConnectionClosed as closed:
        live.sockets.pop(kind)
        code = closed.rcvd.code if closed.rcvd else None
        # Too many bad frames, or a frame over the size limit: both named by the protocol.
        assert code in (4429, 1009), (code, frame[:200])
        return
    assert answer.get("code") != "internal", (frame[:200], answer)


@FUZZ
@given(frame=frames)
def test_widget_frames_never_fail(live: Live, frame: bytes) -> None:
    exchange(live, "widget", frame)
    assert live.log.tracebacks() == []


@FUZZ
@given(frame=frames)
def test_agent_frames_never_fail(live: Live, frame: bytes) -> None:
    exchange(live, "agent", frame)
    assert live.log.tracebacks() == []


# Query strings of the reading routes, percent-encoded from any text (raw surrogates too).
QUERY_ROUTES = [
    ("/api/v1/customers", "q segment tag attr limit offset"),
    ("/api/v1/faq", "q category status lang"),
    ("/api/v1/faq/suggest", "q limit"),
    ("/api/v1/faq/export", "format"),
    ("/api/v1/rooms", "kind status assignee limit"),
    ("/api/v1/rooms/$ROOM/messages", "after_seq limit"),
    ("/api/v1/reports/summary", "from to"),
    ("/api/v1/customers/$CUSTOMER/timeline", "limit"),
]
query_values = st.one_of(
    st.text(alphabet=st.one_of(st.characters(), surrogates), max_size=40),
    st.integers().map(str),
    st.sampled_from(["-1", "1e5", "0x10", "me", "none", "2026-01-01T00:00:00Z"]),
)


@FUZZ
@given(
    route=st.sampled_from(QUERY_ROUTES),
    params=st.lists(st.tuples(st.integers(0, 5), query_values), max_size=4),
)
def test_query_strings_never_fail(
    live: Live, route: tuple[str, str], params: list[tuple[int, str]]
) -> None:
    path, names = route[0], route[1].split()
    query = "&".join(
        f"{names[i % len(names)]}={quote(value.encode('utf-8', 'surrogatepass'))}"
        for i, value in params
    )
    site = live.sites["a"]
    response = live.http.get(
        placed(live, f"{path}?{query}".encode()).decode(),
        headers={"authorization": f"Bearer {site.creds.api_token}"},
    )
    assert response.status_code < 500, (path, query[:300], response.text[:300])
    assert live.log.tracebacks() == []
