"""After a Redis outage the agent console shows everything stored meanwhile, without a reload.

Two `sapa serve` processes share one SQLite file and one Redis; the console (real Chromium)
is on process A, the shoppers on process B, so every message reaches the console only across
the bus. Redis is killed while the shoppers write (one of them starting a new conversation),
then started again.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import timeout
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.scale.conftest import Cluster
from tests.server.conftest import PASSWORD

WAIT_MS = timeout(20) * 1000


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


async def console_on(browser: Browser, url: str, email: str) -> Page:
    page = await browser.new_page()
    page.set_default_timeout(WAIT_MS)
    await page.goto(f"{url}/console/login")
    await page.get_by_test_id("login-email").fill(email)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await expect(page).to_have_url(re.compile(r"/console/?(#.*)?$"), timeout=WAIT_MS)
    await expect(page.get_by_test_id("conn-status")).to_have_attribute(
        "data-state", "online", timeout=WAIT_MS
    )
    return page


def inbox_item(page: Page, room_id: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-testid="inbox-item"][data-room-id="{room_id}"]')


async def test_console_shows_messages_stored_while_redis_was_down(
    cluster: Cluster, browser: Browser
) -> None:
    a, b = cluster.nodes
    site = cluster.sites["a"]
    page = await console_on(browser, a.server.url, site.owner_email)
    await page.get_by_test_id("inbox-tab-all").click()

    shopper, _ = await b.widget(await b.widget_token())
    first = await shopper.request("send", client_msg_id="o-1", body="sebelum gangguan")
    room_id = first["message"]["room_id"]
    await inbox_item(page, room_id).click()
    messages = page.get_by_test_id("message")
    await expect(messages.filter(has_text="sebelum gangguan")).to_be_visible()

    cluster.redis.kill()
    await cluster.wait_bus("degraded")
    for k in range(3):
        ack = await shopper.request("send", client_msg_id=f"o-d{k}", body=f"selama gangguan {k}")
        assert ack["type"] == "ack", ack
    newcomer, _ = await b.widget(await b.widget_token())
    fresh = await newcomer.request("send", client_msg_id="o-n", body="percakapan baru")
    assert fresh["type"] == "ack", fresh

    cluster.redis.start()
    await cluster.wait_bus("ok")
    for k in range(3):
        await expect(messages.filter(has_text=f"selama gangguan {k}")).to_be_visible()
    await expect(inbox_item(page, fresh["message"]["room_id"])).to_be_visible()
    # Nothing was shown twice on the way.
    assert await messages.filter(has_text="selama gangguan 0").count() == 1
    await page.close()
