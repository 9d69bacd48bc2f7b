"""A process that joins late gets its share: the busy one asks part of its widgets to reconnect.

The test plays the load balancer: a widget closed with 1012 reconnects to the newcomer.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from tests.conftest import start_server, timeout
from tests.scale.conftest import Node
from tests.scale.redis_server import RedisServer
from tests.server.conftest import SiteFixture

FAST = {"SAPA_REBALANCE_INTERVAL": "0.5", "SAPA_REBALANCE_MIN_EXCESS": "2"}


async def test_a_late_process_gets_its_share_of_widgets(
    tmp_path: Path, scale_seed: tuple[Path, dict[str, SiteFixture]]
) -> None:
    db_path = tmp_path / "sapa.db"
    shutil.copyfile(scale_seed[0], db_path)
    redis = RedisServer()
    redis.start()
    servers = [start_server(db_path, "--redis", redis.url, env=FAST)]
    nodes: list[Node] = []
    try:
        first = Node(servers[0], scale_seed[1])
        nodes.append(first)
        widgets = [(await first.widget(await first.widget_token()))[0] for _ in range(12)]
        await asyncio.sleep(timeout(1.5))  # several rounds alone: nobody is asked to move
        assert all(w.ws.close_code is None for w in widgets)

        servers.append(start_server(db_path, "--redis", redis.url, env=FAST))
        second = Node(servers[1], scale_seed[1])
        nodes.append(second)
        moved = 0
        deadline = asyncio.get_running_loop().time() + timeout(10)
        while moved < 6 and asyncio.get_running_loop().time() < deadline:
            for i, widget in enumerate(widgets):
                if widget.ws.close_code is not None:
                    assert widget.ws.close_code == 1012
                    widgets[i] = (await second.widget(await second.widget_token()))[0]
                    moved += 1
            await asyncio.sleep(0.05)
        # Settled: half each, and nobody is moved back and forth afterwards.
        await asyncio.sleep(timeout(2))
        assert moved == 6
        assert all(w.ws.close_code is None for w in widgets)
    finally:
        for node in nodes:
            await node.close()
        for server in servers:
            server.stop()
        redis.stop()
