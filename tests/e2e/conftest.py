"""Browser tests: a real `sapa serve --demo` and real headless Chromium via Playwright."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import ServerProcess, read_demo_banner, start_server, timeout

CHROMIUM = os.environ.get("SAPA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(autouse=True)
def _patient_expect() -> Iterator[None]:
    # A reconnect with backoff can take a few seconds; expect() waits that long everywhere.
    expect.set_options(timeout=timeout(10) * 1000)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A fresh demo server per test module (a new SQLite file each time)."""
    db = Path(tmp_path_factory.mktemp("e2e")) / "sapa.db"
    # Every browser here is 127.0.0.1 and posts as fast as a test clicks: the public-room
    # limits that identities share are tested in tests/server/test_abuse.py.
    quick_posts = {"SAPA_ROOM_POSTS_PER_ADDRESS": "0", "SAPA_ROOM_NEW_IDENTITY_POSTS": "0"}
    server = start_server(db, "--demo", env=quick_posts)
    read_demo_banner(server)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: Playwright's sync API keeps an event loop running in this thread while
    # it is open, and the asyncio tests collected after a module need that thread free.
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(timeout(10) * 1000)
    page = context.new_page()
    # Sapa's pages run under a Content-Security-Policy: anything it blocks fails the test.
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()
    assert blocked == [], blocked
