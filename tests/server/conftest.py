"""In-process server tests: the real app under uvicorn on a free port, in the test's loop."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
import websockets
from websockets.asyncio.client import ClientConnection

from chat_server.config import Settings
from chat_server.services import admin
from chat_server.store import open_database
from chat_server.store.pg_sql import row_factory, translate
from chat_server.store.sites import SiteCredentials
from chat_server.web.app import create_app
from chat_server.web.serving import protocol_for, uvicorn_options
from tests.conftest import free_port, timeout
from tests.pg_server import PgServer

PASSWORD = "correct horse battery"


@dataclass
class SiteFixture:
    creds: SiteCredentials
    origin: str
    owner_email: str
    agent_email: str
    owner_id: str = ""
    agent_id: str = ""


class WsClient:
    """A protocol client: requests wait for their own ack; everything else is kept as events."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.pending: list[dict[str, Any]] = []
        self._refs = itertools.count(1)

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def _recv(self, wait: float) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout(wait))
        return json.loads(raw)

    async def request(self, type_: str, wait: float = 5, **fields: Any) -> dict[str, Any]:
        ref = f"r{next(self._refs)}"
        await self.ws.send(json.dumps({"type": type_, "ref": ref, **fields}))
        while True:
            frame = await self._recv(wait)
            if frame.get("ref") == ref:
                return frame
            self.pending.append(frame)

    async def event(
        self,
        type_: str,
        wait: float = 5,
        where: Callable[[dict[str, Any]], bool] | None = None,
        **match: Any,
    ) -> dict[str, Any]:
        """The next frame of `type_` whose top-level fields equal `match` (and `where` holds)."""

        def fits(frame: dict[str, Any]) -> bool:
            return (
                frame.get("type") == type_
                and all(frame.get(k) == v for k, v in match.items())
                and (where is None or where(frame))
            )

        for i, frame in enumerate(self.pending):
            if fits(frame):
                return self.pending.pop(i)
        while True:
            frame = await self._recv(wait)
            if fits(frame):
                return frame
            self.pending.append(frame)

    async def drain(self, wait: float = 0.3) -> list[dict[str, Any]]:
        """Everything that arrives within `wait` seconds (to assert that nothing else came)."""
        try:
            while True:
                self.pending.append(await self._recv(wait))
        except TimeoutError:
            pass
        out, self.pending = self.pending, []
        return out

    async def close(self) -> None:
        await self.ws.close()


@dataclass
class Env:
    url: str
    app_settings: Settings
    sites: dict[str, SiteFixture] = field(default_factory=dict)
    http: httpx.AsyncClient | None = None
    sockets: list[ClientConnection] = field(default_factory=list)
    backend: str = "sqlite"

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Rows of `query` (SQLite syntax, `?`) read straight from the server's database.

        Rows answer by column name and position on both backends.
        """
        return sql_rows(self.app_settings.db_path, query, params)

    async def connect(self, path: str, origin: str, **kwargs: Any) -> ClientConnection:
        ws = await websockets.connect(self.ws_url + path, origin=origin, **kwargs)  # type: ignore[arg-type]
        self.sockets.append(ws)
        return ws

    async def close_sockets(self) -> None:
        for ws in self.sockets:
            await ws.close()

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    async def widget_session(self, site: str, token: str | None = None) -> dict[str, Any]:
        assert self.http is not None
        body: dict[str, Any] = {"site_key": self.sites[site].creds.site_key}
        if token:
            body["token"] = token
        response = await self.http.post(
            "/api/widget/session", json=body, headers={"origin": self.sites[site].origin}
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def widget_call(self, site: str, token: str, path: str, body: Any) -> httpx.Response:
        """A widget's HTTP call (`/api/widget/...`): its token as Bearer, its page's Origin."""
        assert self.http is not None
        headers = {"authorization": f"Bearer {token}", "origin": self.sites[site].origin}
        return await self.http.post(path, json=body, headers=headers)

    async def widget(
        self, site: str, token: str | None = None, origin: str | None = None
    ) -> tuple[WsClient, dict[str, Any]]:
        session = await self.widget_session(site, token) if token is None else {"token": token}
        ws = await websockets.connect(
            self.ws_url + "/ws/widget",
            origin=origin or self.sites[site].origin,  # type: ignore[arg-type]
        )
        client = WsClient(ws)
        await ws.send(json.dumps({"type": "hello", "token": session["token"]}))
        welcome = await client.event("welcome")
        return client, {**session, **welcome}

    async def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        assert self.http is not None
        response = await self.http.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        # Tests name the session they act with; the shared client keeps none.
        self.http.cookies.clear()
        return response

    async def agent(self, email: str) -> tuple[WsClient, dict[str, Any], dict[str, str], str]:
        response = await self.login(email)
        assert response.status_code == 200, response.text
        cookie = response.cookies["sapa_session"]
        ws = await self.connect(
            "/ws/agent", self.url, additional_headers={"Cookie": f"sapa_session={cookie}"}
        )
        client = WsClient(ws)
        await ws.send(json.dumps({"type": "hello"}))
        welcome = await client.event("welcome")
        headers = {"cookie": f"sapa_session={cookie}"}
        return client, welcome, headers, response.json()["csrf_token"]


def sql_rows(url: str, query: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Rows of one statement run outside the server (committed at once), on either backend."""
    if url.startswith("postgresql://"):
        with psycopg.connect(url, autocommit=True, row_factory=row_factory) as pg:
            cursor = pg.execute(translate(query), params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []
    conn = sqlite3.connect(url, timeout=10, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


@dataclass
class Seed:
    """The seeded database of one backend: a SQLite file or a PostgreSQL template."""

    backend: str
    source: str
    sites: dict[str, SiteFixture]
    pg: PgServer | None = None

    def fresh(self, tmp_path: Path) -> str:
        """A new database holding the seed, for one test; returns its path or URL."""
        if self.pg is not None:
            name = f"t{os.getpid()}_{next(_databases)}"
            return self.pg.create_database(name, template=self.source)
        path = tmp_path / "sapa.db"
        db_path = str(path if not path.exists() else tmp_path / f"sapa-{free_port()}.db")
        shutil.copyfile(self.source, db_path)
        return db_path

    def discard(self, url: str) -> None:
        if self.pg is not None:
            self.pg.drop_database(url.rsplit("/", 1)[1])


_databases = itertools.count(1)


async def seed(db_path: str) -> dict[str, SiteFixture]:
    db = open_database(db_path, readers=1)
    await db.open()
    sites = {}
    for name in ("a", "b"):
        creds = await admin.create_site(
            db, f"Shop {name.upper()}", [f"shop-{name}.test", f"*.shop-{name}.test"]
        )
        site = SiteFixture(
            creds, f"https://shop-{name}.test", f"owner@{name}.test", f"agent@{name}.test"
        )
        site.owner_id = await admin.create_agent(
            db, creds.site_id, site.owner_email, f"Owner {name}", "owner", PASSWORD
        )
        site.agent_id = await admin.create_agent(
            db, creds.site_id, site.agent_email, f"Agent {name}", "agent", PASSWORD
        )
        sites[name] = site
    await db.close()
    return sites


async def run_server(settings: Settings) -> AsyncIterator[str]:
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=settings.port,
        log_level="warning",
        http=protocol_for(settings),
        lifespan="on",
        **uvicorn_options(settings),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, SiteFixture]]:
    """Seed once (argon2 is deliberately slow); each test gets its own copy of the file."""
    path = tmp_path_factory.mktemp("seed") / "seed.db"
    sites = asyncio.run(seed(str(path)))
    return path, sites


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Every test using `env` runs on both backends."""
    return str(request.param)


@pytest.fixture(scope="session")
def seeded(
    request: pytest.FixtureRequest,
    backend: str,
    seeded_db: tuple[Path, dict[str, SiteFixture]],
) -> Iterator[Seed]:
    """Seed once per backend: the SQLite file, or a PostgreSQL template database."""
    if backend == "sqlite":
        yield Seed("sqlite", str(seeded_db[0]), seeded_db[1])
        return
    # pytest keeps one value of a parametrized session fixture at a time and makes it again
    # whenever a worker's next file starts on the other backend: the template itself lives
    # in a plain session fixture, made once.
    yield request.getfixturevalue("seeded_postgres")


@pytest.fixture(scope="session")
def seeded_postgres(pg_server: PgServer) -> Seed:
    """The PostgreSQL template database every postgres test's database is copied from."""
    template = f"seed{os.getpid()}"
    url = pg_server.create_database(template)
    sites = asyncio.run(seed(url))
    return Seed("postgres", template, sites, pg_server)


@pytest.fixture
async def env(request: pytest.FixtureRequest, tmp_path: Path, seeded: Seed) -> AsyncIterator[Env]:
    # `@pytest.mark.settings(field=value)` changes the server's settings for a test or module.
    marker = request.node.get_closest_marker("settings")
    async for environment in env_with(tmp_path, seeded, **(marker.kwargs if marker else {})):
        yield environment


async def env_with(
    tmp_path: Path, seeded: Seed | tuple[Path, dict[str, SiteFixture]], **settings_: Any
) -> AsyncIterator[Env]:
    """A server on a copy of the seeded database, with settings other than the defaults."""
    if isinstance(seeded, tuple):
        seeded = Seed("sqlite", str(seeded[0]), seeded[1])
    db_path = seeded.fresh(tmp_path)
    sites = seeded.sites
    # Tests open many widgets from one address; tests/server/test_privacy.py checks the
    # default limit on a server of its own.
    settings_ = {
        "hello_timeout": timeout(1.5),
        "session_rate_per_address": 100_000,
        "files_dir": str(tmp_path / "files"),
        **settings_,
    }
    settings = Settings(db_path=db_path, port=free_port(), **settings_)
    try:
        async for url in run_server(settings):
            async with httpx.AsyncClient(base_url=url) as http:
                environment = Env(url, settings, sites, http, backend=seeded.backend)
                try:
                    yield environment
                finally:
                    await environment.close_sockets()
    finally:
        seeded.discard(db_path)
