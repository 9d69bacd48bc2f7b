"""The agent console, driven in a real browser against a real server, with a
shopper on the demo page in a second browser context.

Fixtures (tests/e2e/conftest.py): `live_server` runs `sapa serve --demo` on a fresh
database (one per module, so rooms pile up: every test finds its own room by a
unique text); `browser` is headless Chromium; `page` is a fresh page in a new context.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, WebSocketRoute, expect

from tests.conftest import timeout

TIMEOUT = timeout(10) * 1000  # ms; a reconnect with backoff can take a few seconds

# Replaces the browser's Notification with a recorder, so a test can see what
# the console would have shown on the desktop without a real notification server.
NOTIFICATION_SPY = """
window.__sapaNotifications = [];
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.__sapaNotifications.push({title, body: options?.body}); }
  close() {}
};
"""


def unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:8]}"


def login(page: Page, server, email: str | None = None, password: str | None = None) -> None:
    page.goto(f"{server.url}/console/login")
    page.get_by_test_id("login-email").fill(email or server.owner_email)
    page.get_by_test_id("login-password").fill(password or server.owner_password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/console/?(#.*)?$"), timeout=TIMEOUT)
    expect(page.get_by_test_id("conn-status")).to_have_attribute(
        "data-state", "online", timeout=TIMEOUT
    )
    # The room list has arrived (tab counters are real, not the initial zeros).
    expect(page.locator("#inbox")).to_have_attribute("aria-busy", "false")


def tab(page: Page, name: str) -> Locator:
    return page.get_by_test_id(f"inbox-tab-{name}")


def tab_count(page: Page, name: str) -> Locator:
    return tab(page, name).get_by_test_id("tab-count")


def room_item(page: Page, room_id: str) -> Locator:
    return page.locator(f'[data-testid="inbox-item"][data-room-id="{room_id}"]')


def console_message(page: Page, text: str) -> Locator:
    return page.get_by_test_id("message").filter(has_text=text)


@pytest.fixture
def shopper(browser: Browser, live_server) -> Iterator[Page]:
    """A shopper on the demo shop page with the chat panel open."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT)
    shop = context.new_page()
    shop.goto(f"{live_server.url}/demo?guest=1")
    shop.get_by_test_id("sapa-launcher").click()
    expect(shop.get_by_test_id("sapa-input")).to_be_visible()
    yield shop
    context.close()


def shopper_says(shop: Page, text: str) -> None:
    shop.get_by_test_id("sapa-input").fill(text)
    shop.get_by_test_id("sapa-send").click()


def widget_messages(shop: Page) -> Locator:
    return shop.get_by_test_id("sapa-message")


def wait_for_room(page: Page, text: str) -> str:
    """The room whose inbox row previews `text`, once it has arrived live."""
    item = page.get_by_test_id("inbox-item").filter(has_text=text)
    expect(item).to_have_count(1, timeout=TIMEOUT)
    room_id = item.get_attribute("data-room-id")
    assert room_id
    return room_id


def reply(page: Page, text: str) -> None:
    box = page.get_by_test_id("reply-input")
    box.fill(text)
    box.press("Enter")


def test_every_console_page_works_under_its_security_policy(page: Page, live_server) -> None:
    login(page, live_server)  # the inbox: modules, boot data and the socket all allowed
    response = page.goto(f"{live_server.url}/console/faq")
    assert response is not None
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    expect(page.get_by_test_id("faq-new")).to_be_visible()
    for path in ("/console/customers", "/console/settings", f"/help/{live_server.site_key}"):
        response = page.goto(live_server.url + path)
        assert response is not None and response.ok, path
        assert response.headers["x-frame-options"] == "DENY"
        page.wait_for_load_state("networkidle")
    # The page fixture fails the test if the browser blocked anything on the way.


def test_wrong_password_shows_the_error(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/console/login")
    page.get_by_test_id("login-email").fill(live_server.owner_email)
    page.get_by_test_id("login-password").fill("not-the-password")
    page.get_by_test_id("login-submit").click()

    expect(page.get_by_test_id("login-error")).to_be_visible()
    expect(page.get_by_test_id("login-error")).not_to_be_empty()
    expect(page).to_have_url(re.compile(r"/console/login$"))


def test_login_shows_the_inbox(page: Page, live_server) -> None:
    login(page, live_server)

    for name in ("unassigned", "mine", "all", "resolved"):
        expect(tab_count(page, name)).to_have_text(re.compile(r"^\d+$"))
    expect(page.get_by_test_id("status-select")).to_have_value("online")
    expect(page.get_by_test_id("logout-btn")).to_be_visible()
    # The boot data is JSON in a non-executed script tag, read by the modules.
    boot = page.locator("#sapa-boot").evaluate("el => JSON.parse(el.textContent)")
    assert boot["agent"]["email"] == live_server.owner_email
    assert set(boot) >= {"agent", "site", "csrf_token", "agents"}


def test_shopper_and_agent_talk_live(page: Page, shopper: Page, live_server) -> None:
    page.add_init_script(NOTIFICATION_SPY)
    login(page, live_server)
    tab(page, "unassigned").click()
    unassigned_before = int(tab_count(page, "unassigned").inner_text())

    # A new conversation shows up in Unassigned without a reload, with its unread
    # badge, a desktop notification and the unread count in the title.
    first = unique("Halo kak, kemeja batik ukuran L masih ada?")
    shopper_says(shopper, first)
    room_id = wait_for_room(page, first)
    item = room_item(page, room_id)
    expect(item).to_have_attribute("data-status", "queued")
    expect(item.get_by_test_id("unread-badge")).to_have_text("1")
    expect(tab_count(page, "unassigned")).to_have_text(str(unassigned_before + 1))
    expect(page).to_have_title(re.compile(r"^\(\d+\) Sapa$"))
    page.wait_for_function(
        "text => window.__sapaNotifications.some(n => (n.body || '').includes(text))",
        arg=first,
    )

    # Opening it shows the history and marks it read.
    item.click()
    expect(page.get_by_test_id("conversation-header")).to_be_visible()
    customer_msg = console_message(page, first)
    expect(customer_msg).to_have_attribute("data-kind", "text")
    expect(customer_msg).to_have_attribute("data-author-kind", "customer")
    expect(customer_msg).to_have_attribute("data-seq", re.compile(r"^\d+$"))
    expect(item.get_by_test_id("unread-badge")).to_be_hidden()

    # Assign to me moves it from Unassigned to Mine.
    me = page.locator("#sapa-boot").evaluate("el => JSON.parse(el.textContent).agent")
    page.get_by_test_id("assign-me").click()
    expect(page.get_by_test_id("assign-select")).to_have_value(me["id"])
    expect(page.get_by_test_id("assign-me")).to_be_hidden()
    expect(room_item(page, room_id)).to_have_count(0)
    tab(page, "mine").click()
    expect(room_item(page, room_id)).to_have_attribute("data-status", "assigned")

    # The agent replies; the shopper sees it; the console marks it sent.
    answer = unique("Masih ada kak, silakan checkout")
    reply(page, answer)
    mine = console_message(page, answer)
    expect(mine).to_have_attribute("data-author-kind", "agent")
    expect(mine).to_have_attribute("data-state", "sent", timeout=TIMEOUT)
    expect(mine).to_have_count(1)
    expect(widget_messages(shopper).filter(has_text=answer)).to_be_visible(timeout=TIMEOUT)

    # A private note is a note in the console and never reaches the widget: the
    # shopper sees the reply sent after it, and still not the note.
    secret = unique("Catatan: pelanggan VIP, kasih ongkir gratis")
    page.get_by_test_id("note-toggle").check()
    reply(page, secret)
    note = console_message(page, secret)
    expect(note).to_have_attribute("data-kind", "note")
    expect(note).to_have_attribute("data-state", "sent", timeout=TIMEOUT)
    expect(note).to_contain_text(re.compile("Private note|Catatan internal"))
    page.get_by_test_id("note-toggle").uncheck()
    after = unique("Ongkirnya gratis ya kak")
    reply(page, after)
    expect(widget_messages(shopper).filter(has_text=after)).to_be_visible(timeout=TIMEOUT)
    expect(widget_messages(shopper).filter(has_text=secret)).to_have_count(0)
    assert secret not in shopper.locator("#sapa-widget").inner_text()

    # The shopper's next message arrives live in the open conversation.
    again = unique("Oke kak, makasih")
    shopper_says(shopper, again)
    expect(console_message(page, again)).to_have_attribute("data-author-kind", "customer")

    # Resolve moves it to Resolved; Reopen brings it back.
    page.get_by_test_id("resolve-btn").click()
    expect(page.get_by_test_id("reopen-btn")).to_be_visible()
    expect(room_item(page, room_id)).to_have_count(0)
    tab(page, "resolved").click()
    expect(room_item(page, room_id)).to_have_attribute("data-status", "resolved")
    expect(page.locator('[data-testid="message"][data-kind="event"]').first).to_be_visible()


def test_assign_select_hands_over_to_a_colleague(page: Page, shopper: Page, live_server) -> None:
    login(page, live_server)
    tab(page, "unassigned").click()
    text = unique("Pesanan saya belum sampai")
    shopper_says(shopper, text)
    room_id = wait_for_room(page, text)
    room_item(page, room_id).click()

    select = page.get_by_test_id("assign-select")
    colleague = select.locator("option", has_text=re.compile(r"^Rina")).first
    colleague_id = colleague.get_attribute("value")
    assert colleague_id
    select.select_option(colleague_id)

    expect(room_item(page, room_id)).to_have_count(0)
    tab(page, "all").click()
    expect(room_item(page, room_id)).to_contain_text("Rina")
    tab(page, "mine").click()
    expect(room_item(page, room_id)).to_have_count(0)
    expect(select).to_have_value(colleague_id)

    select.select_option("")
    tab(page, "unassigned").click()
    expect(room_item(page, room_id)).to_have_attribute("data-status", "queued")


def test_message_bodies_render_as_text(page: Page, shopper: Page, live_server) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    login(page, live_server)
    tab(page, "unassigned").click()
    marker = unique("xss")
    body = f'<img src=x onerror="alert(1)"> <b>{marker}</b>\nbaris kedua'
    shopper_says(shopper, body)
    room_id = wait_for_room(page, marker)
    room_item(page, room_id).click()

    shown = console_message(page, marker)
    expect(shown).to_be_visible()
    expect(shown.locator(".msg__body")).to_have_text(body)
    expect(page.locator('[data-testid="message"] img, [data-testid="message"] b')).to_have_count(0)
    expect(room_item(page, room_id).locator("img")).to_have_count(0)
    assert dialogs == []


def test_reconnect_catches_up_on_everything_missed(
    page: Page, shopper: Page, browser: Browser, live_server
) -> None:
    # Chromium's offline emulation stalls an open WebSocket rather than closing
    # it, so the agent's socket is cut by routing it: while `down`, every
    # connection is refused; the REST API stays reachable.
    down = {"on": False}
    live: list[WebSocketRoute] = []

    def gateway(ws: WebSocketRoute) -> None:
        if down["on"]:
            ws.close(code=1012)
            return
        ws.connect_to_server()
        live.append(ws)

    page.route_web_socket(re.compile(r"/ws/agent$"), gateway)
    login(page, live_server)
    tab(page, "all").click()
    hello = unique("Mau tanya stok sepatu")
    shopper_says(shopper, hello)
    room_id = wait_for_room(page, hello)
    room_item(page, room_id).click()
    expect(console_message(page, hello)).to_be_visible()

    down["on"] = True
    for ws in live:
        ws.close(code=1012)
    expect(page.get_by_test_id("conn-status")).not_to_have_attribute("data-state", "online")

    # While the agent is cut off: the shopper writes, a new shopper arrives, and
    # the agent's own reply waits as "sending".
    missed = unique("Halo? masih di sana kak?")
    shopper_says(shopper, missed)
    expect(widget_messages(shopper).filter(has_text=missed)).to_have_attribute(
        "data-state", "sent", timeout=TIMEOUT
    )
    newcomer_ctx = browser.new_context()
    try:
        newcomer = newcomer_ctx.new_page()
        newcomer.goto(f"{live_server.url}/demo?guest=1")
        newcomer.get_by_test_id("sapa-launcher").click()
        newcomer_text = unique("Saya pelanggan baru")
        shopper_says(newcomer, newcomer_text)
        expect(widget_messages(newcomer).filter(has_text=newcomer_text)).to_have_attribute(
            "data-state", "sent", timeout=TIMEOUT
        )
    finally:
        newcomer_ctx.close()
    late = unique("Maaf kak, koneksi saya putus")
    reply(page, late)
    pending = console_message(page, late)
    expect(pending).to_have_attribute("data-state", "sending")

    down["on"] = False
    page.evaluate("window.dispatchEvent(new Event('online'))")  # skip the backoff wait

    expect(page.get_by_test_id("conn-status")).to_have_attribute(
        "data-state", "online", timeout=TIMEOUT
    )
    expect(console_message(page, missed)).to_have_count(1, timeout=TIMEOUT)
    expect(pending).to_have_attribute("data-state", "sent", timeout=TIMEOUT)
    expect(pending).to_have_count(1)
    expect(page.get_by_test_id("inbox-item").filter(has_text=newcomer_text)).to_have_count(1)
    expect(widget_messages(shopper).filter(has_text=late)).to_have_count(1, timeout=TIMEOUT)

    # Nothing was doubled: the history in the console matches a fresh load.
    seqs = page.locator('[data-testid="message"]').evaluate_all(
        "els => els.map(e => Number(e.dataset.seq))"
    )
    assert seqs == sorted(set(seqs)), seqs


def test_logout_returns_to_the_login_page(page: Page, live_server) -> None:
    login(page, live_server)

    page.get_by_test_id("logout-btn").click()

    expect(page).to_have_url(re.compile(r"/console/login$"), timeout=TIMEOUT)
    expect(page.get_by_test_id("login-email")).to_be_visible()
    # The session is really gone: the console sends us back to the login page.
    page.goto(f"{live_server.url}/console")
    expect(page).to_have_url(re.compile(r"/console/login$"))
