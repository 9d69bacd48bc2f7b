"""`sapa serve`'s processes run fewer garbage collections; tests' servers do not."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

from chat_server.web.serving import (
    FULL_COLLECTION_EVERY,
    MIDDLE_COLLECTION_EVERY,
    YOUNG_COLLECTION_AFTER,
)


def test_the_server_factory_raises_the_collection_thresholds(tmp_path: Path) -> None:
    code = (
        "import gc, json; from chat_server.web.app import app_from_env;"
        " before = gc.get_threshold(); app_from_env();"
        " print(json.dumps([before, gc.get_threshold()]))"
    )
    env = {"SAPA_DB": f"{tmp_path}/t.db", "SAPA_LOG_LEVEL": "warning", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    before, after = json.loads(out)
    assert after == [YOUNG_COLLECTION_AFTER, MIDDLE_COLLECTION_EVERY, FULL_COLLECTION_EVERY]
    assert all(a > b for a, b in zip(after, before, strict=True))  # each rarer than Python's


def test_an_app_made_in_process_leaves_the_collector_alone() -> None:
    from chat_server.config import Settings
    from chat_server.web.app import create_app

    before = gc.get_threshold()
    create_app(Settings(db_path=":memory:"))
    assert gc.get_threshold() == before


def test_a_served_process_leaves_what_it_started_with_out_of_later_collections(
    tmp_path: Path,
) -> None:
    code = (
        "import asyncio, gc, json; from chat_server.web.app import app_from_env\n"
        "app = app_from_env()\n"
        "async def main():\n"
        "    async with app.router.lifespan_context(app):\n"
        "        return gc.get_freeze_count()\n"
        "print(json.dumps(asyncio.run(main())))\n"
    )
    env = {
        "SAPA_DB": f"{tmp_path}/t.db",
        "SAPA_LOG_LEVEL": "warning",
        "SAPA_FAQ_MODEL": "off",
        "PATH": "",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) > 10_000  # modules, settings, the app: frozen once started


def test_a_test_process_never_freezes_its_heap() -> None:
    from chat_server.web.serving import settle_heap

    before = gc.get_freeze_count()
    assert settle_heap() is False
    assert gc.get_freeze_count() == before
