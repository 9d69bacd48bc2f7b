"""What a shop page view costs: the loader alone, until the shopper is about to chat.

Every request the page makes is recorded from Playwright's request and websocket events.
Fixtures (tests/e2e/conftest.py): `live_server` is a fresh `sapa serve --demo`.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from playwright.sync_api import Page, expect

from tests.conftest import ServerProcess, timeout
from tests.e2e.test_widget_community import StaffSocket
from tests.e2e.test_widget_community import staff as staff
from tests.e2e.test_widget_page import message_with, reopen, send

TIMEOUT = timeout(10) * 1000  # ms


class Traffic:
    """Paths the page asked the server for, and the sockets it opened."""

    def __init__(self, page: Page) -> None:
        self.paths: list[str] = []
        self.sockets: list[str] = []
        page.on("request", lambda r: self.paths.append(urlparse(r.url).path))
        page.on("websocket", lambda ws: self.sockets.append(ws.url))

    def app_loaded(self) -> bool:
        return any(re.fullmatch(r"/widget/app\.[0-9a-f]+\.js", p) for p in self.paths)

    def sessions(self) -> int:
        return self.paths.count("/api/widget/session")


def settle(page: Page) -> None:
    """Let the page go idle twice: whatever a page view would load at idle has started."""
    for _ in range(2):
        page.evaluate(
            "() => new Promise(r => requestIdleCallback(() => setTimeout(r, 50), {timeout: 2000}))"
        )


def test_a_page_view_costs_only_the_loader_until_the_shopper_opens_chat(
    page: Page, live_server: ServerProcess
) -> None:
    traffic = Traffic(page)
    page.goto(f"{live_server.url}/demo?guest=1")
    launcher = page.get_by_test_id("sapa-launcher")
    expect(launcher).to_be_visible()
    expect(launcher).to_have_attribute("aria-label", "Buka chat")
    settle(page)

    assert "/widget.js" in traffic.paths
    assert not traffic.app_loaded()
    assert traffic.sessions() == 0 and traffic.sockets == []

    # Pointing at the launcher fetches the app, but still opens nothing.
    launcher.hover()
    expect(page.get_by_test_id("sapa-panel")).to_have_count(1)  # the app drew it, hidden
    settle(page)
    assert traffic.app_loaded()
    assert traffic.sessions() == 0 and traffic.sockets == []

    # Opening starts the session and the socket, and chat works.
    launcher.click()
    expect(page.get_by_test_id("sapa-status")).to_have_attribute(
        "data-state", "connected", timeout=TIMEOUT
    )
    assert traffic.sessions() == 1 and len(traffic.sockets) == 1
    send(page, "Halo dari loader")
    expect(message_with(page, "Halo dari loader")).to_have_attribute(
        "data-state", "sent", timeout=TIMEOUT
    )

    # A reload shows the panel as it was left: open, with the conversation.
    reopen(page)
    expect(message_with(page, "Halo dari loader")).to_have_count(1, timeout=TIMEOUT)


def test_queued_identify_already_done_needs_no_app(page: Page, live_server: ServerProcess) -> None:
    # What a logged-in shop does on every page: identify. Once done for this token, a
    # later page view answers it from storage, without the app, a session or a socket.
    page.goto(f"{live_server.url}/demo?guest=1")
    page.evaluate(
        """() => {
            localStorage.setItem(`sapa:${Sapa.__loader.site}:token`, '"tok"');
            localStorage.setItem(`sapa:${Sapa.__loader.site}:identified`,
                JSON.stringify({external_id: 'c-1', token: 'tok'}));
        }"""
    )
    traffic = Traffic(page)
    page.reload()
    expect(page.get_by_test_id("sapa-launcher")).to_be_visible()
    assert page.evaluate("Sapa.identify({external_id: 'c-1', user_hash: 'x'})") is True
    settle(page)
    assert not traffic.app_loaded()
    assert traffic.sessions() == 0 and traffic.sockets == []


def test_a_conversation_in_progress_shows_unread_replies_on_the_closed_launcher(
    page: Page, live_server: ServerProcess, staff: StaffSocket
) -> None:
    page.goto(f"{live_server.url}/demo?guest=1")
    page.get_by_test_id("sapa-launcher").click()
    send(page, "Sepatu 42 ready kak?")
    frame = staff.next(
        lambda f: f.get("type") == "message" and f["message"]["body"] == "Sepatu 42 ready kak?"
    )
    room_id = frame["message"]["room_id"]
    page.get_by_test_id("sapa-close").click()
    expect(page.get_by_test_id("sapa-panel")).to_be_hidden()

    # A later page view connects at once (without a click) because a conversation is open.
    traffic = Traffic(page)
    page.reload()
    expect(page.get_by_test_id("sapa-status")).to_have_attribute(
        "data-state", "connected", timeout=TIMEOUT
    )
    expect(page.get_by_test_id("sapa-panel")).to_be_hidden()
    assert traffic.sessions() == 1 and len(traffic.sockets) == 1

    staff.say(room_id, "Ready kak, cek https://toko.test/sepatu-42. Atau javascript:alert(1)")
    badge = page.get_by_test_id("sapa-badge")
    expect(badge).to_have_text("1", timeout=TIMEOUT)
    preview = page.get_by_test_id("sapa-preview")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("Ready kak, cek https://toko.test/sepatu-42.")

    preview.click()
    expect(page.get_by_test_id("sapa-panel")).to_be_visible()
    expect(badge).to_be_hidden()
    expect(preview).to_be_hidden()
    reply = message_with(page, "Ready kak, cek")
    link = reply.locator("a")
    expect(link).to_have_count(1)  # javascript: stays text
    expect(link).to_have_attribute("href", "https://toko.test/sepatu-42")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(reply.locator(".bubble")).to_have_text(
        "Ready kak, cek https://toko.test/sepatu-42. Atau javascript:alert(1)"
    )
