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
