"""The shopper widget on the demo shop page, driven in a real browser against a real server.

Fixtures (tests/e2e/conftest.py): `live_server` runs `sapa serve --demo` on a fresh
database; `page` is a fresh Playwright page in headless Chromium.
"""

from __future__ import annotations

import re

from playwright.sync_api import Dialog, Locator, Page, WebSocketRoute, expect

from tests.conftest import ServerProcess, timeout

TIMEOUT = timeout(10) * 1000  # ms; a reconnect with backoff can take a few seconds


def open_widget(page: Page, url: str) -> None:
    page.goto(f"{url}/demo?guest=1")
    page.get_by_test_id("sapa-launcher").click()
    expect(page.get_by_test_id("sapa-panel")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_test_id("sapa-status")).to_have_attribute(
        "data-state", "connected", timeout=TIMEOUT
    )


def reopen(page: Page) -> None:
    """Reload the shop page: a panel left open comes back open, with no click."""
    page.reload()
    expect(page.get_by_test_id("sapa-panel")).to_be_visible(timeout=TIMEOUT)


def send(page: Page, text: str) -> None:
    box = page.get_by_test_id("sapa-input")
    box.fill(text)
    box.press("Enter")


def messages(page: Page) -> Locator:
    return page.get_by_test_id("sapa-messages").get_by_test_id("sapa-message")


def message_with(page: Page, text: str) -> Locator:
    return messages(page).filter(has_text=text)


def test_launcher_opens_panel_with_indonesian_greeting(
    page: Page, live_server: ServerProcess
) -> None:
    config = page.request.post(
        f"{live_server.url}/api/widget/session", data={"site_key": live_server.site_key}
    ).json()["config"]
    page.goto(f"{live_server.url}/demo?guest=1")
    assert page.locator("#sapa-widget").evaluate("el => el.shadowRoot.mode") == "open"
    panel = page.get_by_test_id("sapa-panel")
    expect(panel).to_be_hidden()

    page.get_by_test_id("sapa-launcher").click()

    expect(panel).to_be_visible()
    expect(page.get_by_test_id("sapa-greeting")).to_contain_text(config["greeting"].strip())
    # The demo page is <html lang="id">, so the widget's own labels are Indonesian.
    expect(page.get_by_test_id("sapa-input")).to_have_attribute("placeholder", "Tulis pesan…")
    expect(page.get_by_test_id("sapa-status")).to_have_attribute(
        "data-state", "connected", timeout=TIMEOUT
    )
    expect(panel).to_contain_text(config["site_name"])


def test_sent_message_is_acknowledged(page: Page, live_server: ServerProcess) -> None:
    open_widget(page, live_server.url)

    send(page, "Halo, sepatu ukuran 42 masih ada?")

    mine = message_with(page, "sepatu ukuran 42")
    expect(mine).to_have_count(1)
    expect(mine).to_have_attribute("data-state", "sent", timeout=TIMEOUT)
    expect(mine).to_have_attribute("data-author-kind", "customer")
    expect(mine).to_have_attribute("data-seq", re.compile(r"^\d+$"))
    expect(mine).to_have_attribute("data-client-msg-id", re.compile(r"\S"))
    expect(page.get_by_test_id("sapa-input")).to_have_value("")


def test_history_shows_again_after_reload(page: Page, live_server: ServerProcess) -> None:
    open_widget(page, live_server.url)
    send(page, "Pesan pertama")
    box = page.get_by_test_id("sapa-input")
    box.fill("Baris satu")
    box.press("Shift+Enter")  # a newline, not a send
    box.press_sequentially("baris dua")
    box.press("Enter")
    expect(messages(page)).to_have_count(2)
    expect(messages(page).nth(1)).to_have_attribute("data-state", "sent", timeout=TIMEOUT)

    reopen(page)

    expect(messages(page)).to_have_count(2, timeout=TIMEOUT)
    expect(messages(page).nth(0)).to_contain_text("Pesan pertama")
    expect(messages(page).nth(1).locator(".bubble")).to_have_text("Baris satu\nbaris dua")
    expect(messages(page).nth(1)).to_have_attribute("data-state", "sent")


def test_message_sent_while_socket_is_down_is_delivered_once(
    page: Page, live_server: ServerProcess
) -> None:
    # Chromium's offline emulation stalls an open WebSocket rather than closing it, so
    # the socket is cut here by routing it: while `down`, every connection is refused.
    down = {"on": False}
    live: list[WebSocketRoute] = []

    def gateway(ws: WebSocketRoute) -> None:
        if down["on"]:
            ws.close(code=1012)
            return
        ws.connect_to_server()
        live.append(ws)

    page.route_web_socket(re.compile(r"/ws/widget$"), gateway)
    open_widget(page, live_server.url)
    send(page, "Sebelum putus")
    expect(message_with(page, "Sebelum putus")).to_have_attribute(
        "data-state", "sent", timeout=TIMEOUT
    )

    down["on"] = True
    for ws in live:
        ws.close(code=1012)
    expect(page.get_by_test_id("sapa-status")).not_to_have_attribute("data-state", "connected")
    send(page, "Dikirim saat putus")
    pending = message_with(page, "Dikirim saat putus")
    expect(pending).to_have_attribute("data-state", "sending")

    # The outbox lives in localStorage, so the unsent message survives a reload too.
    reopen(page)
    expect(pending).to_have_count(1)
    expect(pending).to_have_attribute("data-state", "sending")
    expect(message_with(page, "Sebelum putus")).to_have_count(0)  # no history without a socket

    down["on"] = False
    page.evaluate("window.dispatchEvent(new Event('online'))")  # skip the backoff wait

    expect(pending).to_have_attribute("data-state", "sent", timeout=TIMEOUT)
    expect(message_with(page, "Sebelum putus")).to_have_count(1, timeout=TIMEOUT)
    expect(pending).to_have_count(1)

    # The server stored it exactly once: a fresh history load shows one copy.
    reopen(page)
    expect(messages(page)).to_have_count(2, timeout=TIMEOUT)
    expect(pending).to_have_count(1)
    expect(pending).to_have_attribute("data-state", "sent")
    assert page.evaluate("Object.keys(localStorage).filter(k => k.endsWith(':outbox')).length") == 0


def test_html_in_a_message_is_shown_as_text(page: Page, live_server: ServerProcess) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    payload = "<img src=x onerror=alert(1)><b>tebal</b>"
    open_widget(page, live_server.url)

    send(page, payload)

    mine = messages(page).last
    expect(mine).to_have_attribute("data-state", "sent", timeout=TIMEOUT)
    expect(mine.locator(".bubble")).to_have_text(payload)
    reopen(page)
    expect(messages(page).last.locator(".bubble")).to_have_text(payload, timeout=TIMEOUT)
    counts = page.locator("#sapa-widget").evaluate(
        "el => el.shadowRoot.querySelectorAll('img, b').length"
    )
    assert counts == 0
    assert dialogs == []


def test_calls_queued_before_the_script_loads_are_run(
    page: Page, live_server: ServerProcess
) -> None:
    # What a shop writes before the async tag: a stub whose queue the widget drains.
    page.add_init_script(
        """window.Sapa = {q: [
            ['on', 'message', m => (window.seen = window.seen || []).push(m.body)],
            ['on', 'ready', () => { window.ready = true; }],
            ['open'],
        ]};"""
    )
    page.goto(f"{live_server.url}/demo?guest=1")

    expect(page.get_by_test_id("sapa-panel")).to_be_visible()
    page.wait_for_function("window.ready === true", timeout=TIMEOUT)
    send(page, "Lewat API")
    expect(message_with(page, "Lewat API")).to_have_attribute("data-state", "sent", timeout=TIMEOUT)
    assert page.evaluate("window.seen") == ["Lewat API"]
    page.evaluate("Sapa.close()")
    expect(page.get_by_test_id("sapa-panel")).to_be_hidden()
