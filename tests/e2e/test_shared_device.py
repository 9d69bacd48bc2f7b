"""A shared computer: one shopper logs out, another logs in, in the same browser.

Two identities in one browser context: nothing of the first may reach the second, on
screen or in storage, and the first finds his whole history on his next device.
Fixtures: tests/e2e/conftest.py; helpers: tests/e2e/test_widget_crm.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ServerProcess
from tests.e2e.test_widget_crm import (
    LISTEN,
    TIMEOUT,
    messages,
    open_widget,
    send,
    token_of,
    user_hash,
)

PRIVATE = "Kirim ke Jl. Melati 9, kartu 5555"


@pytest.fixture
def other_device(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT)
    yield context.new_page()
    context.close()


def identify(page: Page, server: ServerProcess, external_id: str) -> str:
    """Sapa.identify as the shop's page calls it; the customer id it answers."""
    ok = page.evaluate(
        "args => Sapa.identify(args)",
        {"external_id": external_id, "user_hash": user_hash(server, external_id)},
    )
    assert ok is True
    expect(page.get_by_test_id("sapa-status")).to_have_attribute(
        "data-state", "connected", timeout=TIMEOUT
    )
    customer_id: str = page.evaluate("window.seen.identified.at(-1).customer_id")
    return customer_id


def storage_text(page: Page) -> str:
    return str(page.evaluate("JSON.stringify(Object.assign({}, localStorage))"))


def test_reset_on_logout_then_another_shopper(
    page: Page, other_device: Page, live_server: ServerProcess
) -> None:
    page.add_init_script(LISTEN)
    open_widget(page, live_server.url)
    send(page, PRIVATE)
    x_id = identify(page, live_server, "shared-x")
    expect(messages(page)).to_have_count(1, timeout=TIMEOUT)
    send(page, "Pesanan X nomor 77 kapan sampai?")
    x_token = token_of(page)

    page.evaluate("Sapa.reset()")  # the shop's logout
    expect(messages(page)).to_have_count(0)
    expect(page.get_by_test_id("sapa-status")).to_have_attribute(
        "data-state", "connected", timeout=TIMEOUT
    )
    assert token_of(page) not in (None, x_token)
    y_id = identify(page, live_server, "shared-y")
    assert y_id != x_id
    send(page, "Halo, saya Y")
    expect(messages(page)).to_have_count(1)
    assert "Melati" not in page.content() and "Melati" not in storage_text(page)

    # X, on his next device, has all of his conversation and none of Y's.
    other_device.add_init_script(LISTEN)
    open_widget(other_device, live_server.url)
    assert identify(other_device, live_server, "shared-x") == x_id
    expect(messages(other_device)).to_have_count(2, timeout=TIMEOUT)
    expect(messages(other_device).nth(0)).to_contain_text(PRIVATE)
    expect(messages(other_device).filter(has_text="saya Y")).to_have_count(0)


def test_a_shop_that_forgets_reset_still_shows_the_next_shopper_nothing(
    page: Page, live_server: ServerProcess
) -> None:
    page.add_init_script(LISTEN)
    open_widget(page, live_server.url)
    identify(page, live_server, "forgot-x")
    send(page, PRIVATE)
    # A second tab of the same browser shows X's conversation too.
    tab = page.context.new_page()
    tab.add_init_script(LISTEN)
    open_widget(tab, live_server.url)
    expect(messages(tab)).to_have_count(1, timeout=TIMEOUT)
    x_token = token_of(page)

    # Y logs in to the shop; the shop identifies without calling reset() first.
    identify(page, live_server, "forgot-y")
    assert token_of(page) != x_token
    expect(messages(page)).to_have_count(0)
    send(page, "Saya Y, mau tanya")
    # The other tab follows this browser's new shopper: X's words leave it as well.
    expect(messages(tab).filter(has_text="Melati")).to_have_count(0, timeout=TIMEOUT)
    expect(messages(tab).filter(has_text="Saya Y")).to_have_count(1, timeout=TIMEOUT)
    assert "Melati" not in page.content() and "Melati" not in tab.content()
