"""Scale-out fixtures: a real redis-server and two real `sapa serve` processes sharing one SQLite file.

The processes find each other only through Redis, exactly as two hosts would.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import ServerProcess, start_server, timeout
from tests.scale.redis_server import RedisServer
from tests.server.conftest import PASSWORD, SiteFixture, WsClient, seed


@pytest.fixture(scope="session")
def scale_seed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, SiteFixture]]:
    """Seed once (argon2 is deliberately slow); each test copies the file."""
    path = tmp_path_factory.mktemp("scale-seed") / "seed.db"
    return path, asyncio.run(seed(str(path)))


@dataclass
class Node:
    """One `sapa serve` process and the clients a test opened against it."""

    server: ServerProcess
    sites: dict[str, SiteFixture]
    http: httpx.AsyncClient = field(init=False)
    sockets: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.http = httpx.AsyncClient(base_url=self.server.url, timeout=timeout(10))

    @property
    def ws_url(self) -> str:
        return self.server.url.replace("http://", "ws://")

    async def widget_token(self, site: str = "a") -> str:
        response = await self.http.post(
            "/api/widget/session",
            json={"site_key": self.sites[site].creds.site_key},
            headers={"origin": self.sites[site].origin},
        )
        assert response.status_code == 200, response.text
        return str(response.json()["token"])

    async def widget(self, token: str, site: str = "a") -> tuple[WsClient, dict[str, Any]]:
        ws = await websockets.connect(
            self.ws_url + "/ws/widget",
            origin=self.sites[site].origin,  # type: ignore[arg-type]
            max_queue=None,
        )
        self.sockets.append(ws)
        client = WsClient(ws)
        await ws.send(json.dumps({"type": "hello", "token": token}))
        return client, await client.event("welcome", wait=10)

    async def agent_cookie(self, email: str) -> str:
        response = await self.http.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        self.http.cookies.clear()
        return str(response.cookies["sapa_session"])

    async def agent(self, cookie: str) -> tuple[WsClient, dict[str, Any]]:
        ws = await websockets.connect(
            self.ws_url + "/ws/agent",
            origin=self.server.url,  # type: ignore[arg-type]
            additional_headers={"Cookie": f"sapa_session={cookie}"},
            max_queue=None,
        )
        self.sockets.append(ws)
        client = WsClient(ws)
        await ws.send(json.dumps({"type": "hello"}))
        return client, await client.event("welcome", wait=10)

    async def ready(self) -> dict[str, Any]:
        response = await self.http.get("/readyz")
        return dict(response.json())

    async def metrics(self) -> dict[str, float]:
        text = (await self.http.get("/metrics")).text
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    async def close(self) -> None:
        for ws in self.sockets:
            await ws.close()
        await self.http.aclose()


@dataclass
class Cluster:
    redis: RedisServer
    nodes: list[Node]
    db_path: str
    sites: dict[str, SiteFixture]

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Read the shared SQLite file directly: the ground truth every client must match."""
        conn = sqlite3.connect(self.db_path, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    async def wait_bus(self, state: str, wait: float = 15) -> None:
        """Until every node's /readyz reports the bus as `state` ("ok" or "degraded")."""
        deadline = asyncio.get_running_loop().time() + timeout(wait)
        while True:
            states = [(await node.ready())["bus"] for node in self.nodes]
            if all(s == state for s in states):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"bus states {states}, wanted {state}")
            await asyncio.sleep(0.05)


@dataclass
class Deployment:
    """Processes shared by the tests (starting them is most of a test's time).

    Tests use customers of their own, so they never see each other's rooms; the Redis failure
    test leaves Redis running again and both processes reconnected.
    """

    redis: RedisServer
    servers: list[ServerProcess]
    db_path: Path


def start_nodes(db_path: Path, count: int, *extra: str) -> list[ServerProcess]:
    # In parallel: each start waits for its own process to answer /healthz.
    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(start_server, db_path, *extra) for _ in range(count)]
        return [f.result() for f in futures]


@pytest.fixture(scope="session")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, scale_seed: tuple[Path, dict[str, SiteFixture]]
) -> Iterator[Deployment]:
    """A redis-server and two `sapa serve --redis` processes on one fresh copy of the seed."""
    db_path = tmp_path_factory.mktemp("scale") / "sapa.db"
    shutil.copyfile(scale_seed[0], db_path)
    redis = RedisServer()
    redis.start()
    try:
        servers = start_nodes(db_path, 2, "--redis", redis.url)
    except BaseException:
        redis.stop()
        raise
    yield Deployment(redis, servers, db_path)
    with ThreadPoolExecutor(len(servers)) as pool:
        list(pool.map(lambda server: server.stop(), servers))
    redis.stop()


@pytest.fixture
async def cluster(
    deployment: Deployment, scale_seed: tuple[Path, dict[str, SiteFixture]]
) -> AsyncIterator[Cluster]:
    nodes = [Node(server, scale_seed[1]) for server in deployment.servers]
    cluster = Cluster(deployment.redis, nodes, str(deployment.db_path), scale_seed[1])
    try:
        await cluster.wait_bus("ok")
        yield cluster
    finally:
        for node in nodes:
            await node.close()
