"""The widget with a keyboard and with axe-core: closed, open, community, and on a phone.

axe runs inside the widget's Shadow DOM only (its host is the include context), so the
shop page around it is not judged here. Fixtures: tests/e2e/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ServerProcess, timeout
from tests.e2e.axe import axe_violations, describe
from tests.e2e.test_widget_community import (
    StaffSocket,
    message_by_id,
    open_room,
)
from tests.e2e.test_widget_community import staff as staff
from tests.e2e.test_widget_page import open_widget

TIMEOUT = timeout(10) * 1000  # ms
WIDGET = {"include": [["#sapa-widget"]]}
ACTIVE = "() => { const a = document.querySelector('#sapa-widget').shadowRoot.activeElement; return a && (a.dataset.testid || a.className); }"


# Finite animations and transitions of the widget still running (an opening panel fades in:
# mid-fade its text is lighter than it ends, and axe would judge that frame's contrast).
SETTLING = (
    "() => document.querySelector('#sapa-widget').shadowRoot.getAnimations()"
    ".filter(a => a.playState === 'running'"
    " && a.effect && a.effect.getComputedTiming().iterations !== Infinity).length === 0"
)


def assert_clean(page: Page, where: str) -> None:
    page.wait_for_function(SETTLING, timeout=TIMEOUT)
    found = axe_violations(page, WIDGET)
    assert not found, f"{where}:\n{describe(found)}"


def test_axe_finds_nothing_serious_closed_open_and_in_the_community(
    page: Page, live_server: ServerProcess, staff: StaffSocket
) -> None:
    page.goto(f"{live_server.url}/demo?guest=1")
    expect(page.get_by_test_id("sapa-launcher")).to_be_visible()
    assert_clean(page, "closed, loader only")

    open_widget(page, live_server.url)
    page.get_by_test_id("sapa-input").fill("Ongkir ke Bandung berapa?")
    page.get_by_test_id("sapa-input").press("Enter")
    expect(page.get_by_test_id("sapa-messages").get_by_test_id("sapa-message")).to_have_attribute(
        "data-state", "sent", timeout=TIMEOUT
    )
    assert_clean(page, "open, chat")
    # The panel's header is no second page banner.
    assert (
        page.locator("#sapa-widget").evaluate("h => h.shadowRoot.querySelector('header')") is None
    )

    page.get_by_test_id("sapa-tab-community").click()
    assert_clean(page, "community, room list")
    room_id = open_room(page)
    asked = staff.say(
        room_id,
        "Pertanyaan panjang tentang ukuran sepatu, bahan, warna, dan pengiriman ke luar pulau "
        "yang butuh beberapa baris untuk ditulis lengkap di sini, kira-kira bisa sampai kapan?",
    )
    answer = staff.say(room_id, "Bisa kak, 3-5 hari.", reply_to=asked["id"])
    quote = message_by_id(page, answer["id"]).get_by_test_id("sapa-reply-to")
    expect(quote).to_be_visible()
    assert_clean(page, "community, a room with a quoted question")

    # The quote shows two whole lines: no half line peeks out under the clamp.
    lines, gap = quote.evaluate(
        """q => { const t = q.querySelector('.qtext'); const s = getComputedStyle(q);
            const inner = q.clientHeight - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom);
            return [t.clientHeight / parseFloat(getComputedStyle(t).lineHeight),
                    inner - t.clientHeight]; }"""
    )
    assert abs(lines - 2) < 0.05 and abs(gap) < 1, (lines, gap)


def test_escape_closes_and_focus_returns_to_the_launcher(
    page: Page, live_server: ServerProcess
) -> None:
    open_widget(page, live_server.url)
    expect(page.get_by_test_id("sapa-input")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("sapa-panel")).to_be_hidden()
    assert page.evaluate(ACTIVE) == "sapa-launcher"

    # The close button too; and its focus ring is visible on the coloured header.
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("sapa-panel")).to_be_visible()
    close = page.get_by_test_id("sapa-close")
    page.keyboard.press("Shift")  # a keyboard user: programmatic focus shows the ring
    close.focus()
    ring = close.evaluate(
        "b => { const s = getComputedStyle(b); const h = getComputedStyle(b.parentNode);"
        " return [s.outlineStyle, s.outlineWidth, s.outlineColor, h.backgroundColor]; }"
    )
    assert ring[0] == "solid" and ring[1] != "0px" and ring[2] != ring[3], ring
    tab = page.get_by_test_id("sapa-tab-chat")
    tab.focus()
    tab_ring = tab.evaluate("b => getComputedStyle(b).outlineStyle")
    assert tab_ring == "solid"
    close.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("sapa-panel")).to_be_hidden()
    assert page.evaluate(ACTIVE) == "sapa-launcher"


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
    context.set_default_timeout(TIMEOUT)
    yield context.new_page()
    context.close()


def test_full_screen_panel_is_modal_and_keeps_focus_inside(
    phone: Page, live_server: ServerProcess
) -> None:
    open_widget(phone, live_server.url)
    panel = phone.get_by_test_id("sapa-panel")
    expect(panel).to_have_attribute("aria-modal", "true")
    expect(phone.get_by_test_id("sapa-launcher")).to_be_hidden()
    # Focus is in the panel (never on the launcher the panel hides), and Tab keeps it there.
    inside = "() => { const r = document.querySelector('#sapa-widget').shadowRoot; const a = r.activeElement; return !!a && r.querySelector('.panel').contains(a) && a.getClientRects().length > 0; }"
    assert phone.evaluate(inside)
    for _ in range(12):
        phone.keyboard.press("Tab")
        assert phone.evaluate(inside)
    for _ in range(3):
        phone.keyboard.press("Shift+Tab")
        assert phone.evaluate(inside)
    assert_clean(phone, "phone, open")
    phone.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(panel).not_to_have_attribute("aria-modal", "true")
    assert phone.evaluate(ACTIVE) == "sapa-launcher"
