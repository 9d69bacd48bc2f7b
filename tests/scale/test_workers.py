"""`sapa serve --workers N --redis URL`: uvicorn worker processes behind one port act as one server."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from chat_server.services.console_auth import EMAIL_LIMIT
from tests.conftest import ServerProcess, start_server, timeout
from tests.scale.conftest import Node
from tests.scale.redis_server import RedisServer
from tests.scale.test_accounts import guess_until_refused, new_agent
from tests.server.conftest import SiteFixture


@pytest.fixture(scope="module")
def workers_server(
    tmp_path_factory: pytest.TempPathFactory, scale_seed: tuple[Path, dict[str, SiteFixture]]
) -> Iterator[tuple[ServerProcess, RedisServer]]:
    db_path = tmp_path_factory.mktemp("workers") / "sapa.db"
    shutil.copyfile(scale_seed[0], db_path)
    redis = RedisServer()
    redis.start()
    server = start_server(db_path, "--workers", "2", "--redis", redis.url)
    yield server, redis
    server.stop()
    redis.stop()


def _worker_pids(server: ServerProcess) -> set[int]:
    children = psutil.Process(server.process.pid).children(recursive=True)
    # uvicorn's supervisor also starts a multiprocessing resource tracker; workers run the app.
    pids = set()
    for child in children:
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                pids.add(child.pid)
        except psutil.ZombieProcess:
            continue  # exited, not yet reaped: serves nobody
    return pids


async def test_two_workers_serve_one_conversation_space(
    workers_server: tuple[ServerProcess, RedisServer],
    scale_seed: tuple[Path, dict[str, SiteFixture]],
) -> None:
    server, _ = workers_server
    assert len(_worker_pids(server)) == 2
    node = Node(server, scale_seed[1])
    try:
        deadline = asyncio.get_running_loop().time() + timeout(15)
        # Both workers must have their bus up; each /readyz lands on either of them.
        while [(await node.ready())["bus"] for _ in range(6)] != ["ok"] * 6:
            assert asyncio.get_running_loop().time() < deadline, "bus never became ready"
            await asyncio.sleep(0.1)
        site = scale_seed[1]["a"]
        agent, _ = await node.agent(await node.agent_cookie(site.agent_email))
        # Each socket lands on whichever worker accepts it; with Redis it does not matter.
        shoppers = [(await node.widget(await node.widget_token()))[0] for _ in range(8)]
        acks = [
            await s.request("send", client_msg_id="m1", body=f"shopper {i}")
            for i, s in enumerate(shoppers)
        ]
        for i in range(8):
            await agent.event(
                "message", where=lambda f, i=i: f["message"]["body"] == f"shopper {i}", wait=10
            )
        for i, (shopper, ack) in enumerate(zip(shoppers, acks, strict=True)):
            room_id = ack["message"]["room_id"]
            reply = await agent.request(
                "send", room_id=room_id, client_msg_id=f"r{i}", body=f"re {i}"
            )
            assert reply["type"] == "ack", reply
            await shopper.event("message", where=lambda f, i=i: f["message"]["body"] == f"re {i}")
        metrics = await node.metrics()
        assert metrics["sapa_redis_up"] == 1
    finally:
        await node.close()


async def test_wrong_guesses_on_two_workers_share_one_limit(
    workers_server: tuple[ServerProcess, RedisServer],
) -> None:
    server, _ = workers_server
    email = "guessed@workers.test"
    new_agent(server.db_path, email)
    # A new connection per guess: the kernel hands each to either worker.
    checked, right = await guess_until_refused([server.url], email, "127.0.0.5")
    assert checked <= EMAIL_LIMIT
    assert right == 429
