"""The console's layout and accessibility in real Chromium: a phone (390×844) can work
the inbox, a 1024 px laptop shows the header and reply box whole, hover tools never cover
text, counted words follow plural rules, and axe-core finds no critical or serious
violation on any console page or the help center.

Screenshots go to tests/e2e/artifacts/ (gitignored) for people to look at."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ServerProcess, timeout
from tests.e2e.axe import axe_violations, describe
from tests.e2e.test_console import login, shopper_says, unique, wait_for_room

TIMEOUT = timeout(10) * 1000
ARTIFACTS = Path(__file__).parent / "artifacts"
PHONE = {"width": 390, "height": 844}


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def page_at(browser: Browser, viewport: dict[str, int]) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    yield from page_at(browser, PHONE)


@pytest.fixture
def laptop(browser: Browser) -> Iterator[Page]:
    yield from page_at(browser, {"width": 1024, "height": 700})


@pytest.fixture
def shop(browser: Browser, live_server: ServerProcess) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    page.goto(f"{live_server.url}/demo?guest=1")
    page.get_by_test_id("sapa-launcher").click()
    expect(page.get_by_test_id("sapa-input")).to_be_visible()
    yield page
    context.close()


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide"


def in_view(page: Page, test_id: str) -> None:
    """Visible and entirely inside the viewport (not cut off at an edge)."""
    box = page.get_by_test_id(test_id).first.bounding_box()
    assert box is not None, test_id
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, (test_id, box)
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"] + 0.5, (test_id, box)


def test_phone_inbox_conversation_and_back(
    phone: Page, shop: Page, live_server: ServerProcess
) -> None:
    text = unique("Sepatu ukuran 42 ada?")
    shopper_says(shop, text)
    login(phone, live_server)
    room_id = wait_for_room(phone, text)
    no_sideways_scroll(phone)
    for test_id in ("inbox-tab-unassigned", "inbox-tab-resolved", "nav-settings", "logout-btn"):
        in_view(phone, test_id)
    shot(phone, "phone-inbox")

    phone.get_by_test_id("inbox-item").filter(has_text=text).click()
    expect(phone).to_have_url(re.compile(f"#room={room_id}$"))
    expect(phone.get_by_test_id("message").filter(has_text=text)).to_be_visible()
    expect(phone.locator("#inbox")).to_be_hidden()
    no_sideways_scroll(phone)
    for test_id in ("reply-send", "resolve-btn", "conv-back", "nav-settings"):
        in_view(phone, test_id)
    answer = unique("Ada, kak")
    phone.get_by_test_id("reply-input").fill(answer)
    phone.get_by_test_id("reply-send").click()
    expect(shop.get_by_test_id("sapa-message").filter(has_text=answer)).to_have_count(1)
    shot(phone, "phone-conversation")

    phone.get_by_test_id("conv-back").click()
    expect(phone.locator("#inbox")).to_be_visible()
    expect(phone.locator("#conversation")).to_be_hidden()
    expect(phone).to_have_url(re.compile(r"/console/?$"))
    no_sideways_scroll(phone)
    # The browser's own back works the same way (the reply assigned the room to us).
    phone.get_by_test_id("inbox-tab-mine").click()
    phone.locator(f'[data-testid="inbox-item"][data-room-id="{room_id}"]').click()
    expect(phone.locator("#inbox")).to_be_hidden()
    phone.go_back()
    expect(phone.locator("#inbox")).to_be_visible()

    for path in ("faq", "customers", "settings"):
        phone.goto(f"{live_server.url}/console/{path}")
        expect(phone.get_by_test_id(f"nav-{path}")).to_have_attribute("aria-current", "page")
        no_sideways_scroll(phone)
        in_view(phone, "nav-conversations")
        shot(phone, f"phone-{path}")


def test_laptop_header_reply_box_and_faq_list(
    laptop: Page, shop: Page, live_server: ServerProcess
) -> None:
    text = unique("Kapan restock?")
    shopper_says(shop, text)
    login(laptop, live_server)
    room_id = wait_for_room(laptop, text)
    laptop.locator(f'[data-testid="inbox-item"][data-room-id="{room_id}"]').click()
    expect(laptop.get_by_test_id("message").filter(has_text=text)).to_be_visible()
    shot(laptop, "laptop-conversation")
    assert laptop.evaluate("document.scrollingElement.scrollWidth") <= 1024

    # "#id · Assignee Name" is one piece on one line: no dangling separator, no wrap.
    line = laptop.get_by_test_id("conv-assignee-line")
    before = line.evaluate("el => getComputedStyle(el, '::before').content")
    assert "·" in before, before
    heights = line.evaluate(
        "el => [el.getBoundingClientRect().height, parseFloat(getComputedStyle(el).lineHeight)]"
    )
    assert heights[0] < heights[1] * 1.5, heights
    same_line = laptop.evaluate(
        "() => Math.abs(document.getElementById('conv-sub').getBoundingClientRect().top -"
        " document.querySelector('[data-testid=conv-assignee-line]').getBoundingClientRect().top)"
    )
    assert same_line < 4
    # The reply box shows its whole placeholder.
    fits = laptop.get_by_test_id("reply-input").evaluate(
        """el => {
          const style = getComputedStyle(el);
          const ctx = document.createElement("canvas").getContext("2d");
          ctx.font = `${style.fontSize} ${style.fontFamily}`;
          const room = el.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
          return [ctx.measureText(el.placeholder).width, room];
        }"""
    )
    assert fits[0] <= fits[1], fits

    # The FAQ list keeps its room while the preview shows results.
    laptop.get_by_test_id("nav-faq").click()
    laptop.get_by_test_id("faq-preview-input").fill("ongkir ke medan berapa")
    expect(laptop.get_by_test_id("faq-preview-item").first).to_be_visible()
    shot(laptop, "laptop-faq-preview")
    list_height = laptop.locator(".faq-list").evaluate("el => el.clientHeight")
    assert list_height >= 200, list_height


def test_community_tools_never_cover_the_text(laptop: Page, live_server: ServerProcess) -> None:
    login(laptop, live_server)
    laptop.get_by_test_id("room-item").first.click()
    body = unique("Promo 12.12 berlaku sampai tengah malam untuk semua produk pilihan")
    box = laptop.get_by_test_id("reply-input")
    box.fill(body)
    box.press("Enter")
    message = laptop.get_by_test_id("room-message").filter(has_text=body)
    expect(message).to_have_count(1)
    message.hover()
    tools = message.locator(".rmsg__actions")
    expect(tools).to_have_css("opacity", "1")
    shot(laptop, "laptop-community-hover")
    a = tools.bounding_box()
    b = message.locator(".rmsg__body").bounding_box()
    assert a and b
    overlap = not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )
    assert not overlap, (a, b)


def test_counted_words_follow_plural_rules(laptop: Page, live_server: ServerProcess) -> None:
    laptop.goto(f"{live_server.url}/console/login")
    said = laptop.evaluate(
        """async () => {
          const i18n = await import("/console/static/i18n.js");
          const out = {};
          i18n.setLocale("en");
          out.en1 = i18n.t("reports.note", { m: 3, r: 1 });
          out.en2 = i18n.t("reports.note", { m: 3, r: 2 });
          out.day = i18n.t("rooms.days", { n: 1 });
          out.days = i18n.t("rooms.days", { n: 5 });
          out.faq = i18n.t("faq.countFiltered", { shown: 1, n: 1 });
          i18n.setLocale("id");
          out.id1 = i18n.t("reports.note", { m: 3, r: 1 });
          out.idDays = i18n.t("rooms.days", { n: 1 });
          return out;
        }"""
    )
    assert said["en1"] == "Messages: 3. CSAT from 1 rating."
    assert said["en2"] == "Messages: 3. CSAT from 2 ratings."
    assert (said["day"], said["days"], said["faq"]) == ("1 day", "5 days", "1 of 1 entry")
    assert said["id1"] == "Pesan: 3. CSAT dari 1 penilaian." and said["idDays"] == "1 hari"


def test_axe_finds_nothing_serious_on_console_and_help_pages(
    laptop: Page, shop: Page, live_server: ServerProcess
) -> None:
    missing: list[str] = []
    laptop.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    found: dict[str, str] = {}

    def check(name: str) -> None:
        violations = axe_violations(laptop)
        if violations:
            found[name] = describe(violations)

    laptop.goto(f"{live_server.url}/console/login")
    check("login")

    text = unique("Apakah bisa COD?")
    shopper_says(shop, text)
    login(laptop, live_server)
    room_id = wait_for_room(laptop, text)
    laptop.locator(f'[data-testid="inbox-item"][data-room-id="{room_id}"]').click()
    expect(laptop.get_by_test_id("message").filter(has_text=text)).to_be_visible()
    check("inbox with a conversation")
    # The skip links lead to the list and the reply box.
    for link, target in ((0, "#inbox-list"), (1, "#reply-input")):
        skip = laptop.locator(".skip-link").nth(link)
        skip.focus()
        expect(skip).to_be_in_viewport()
        skip.press("Enter")
        expect(laptop.locator(target)).to_be_focused()

    laptop.goto(f"{live_server.url}/console/faq")
    expect(laptop.get_by_test_id("faq-item").first).to_be_visible()
    check("faq")
    laptop.goto(f"{live_server.url}/console/customers")
    row = laptop.get_by_test_id("customers-row-link").first
    expect(row).to_be_visible()
    check("customers")
    row.click()
    expect(laptop.get_by_test_id("customer-name")).to_be_visible()
    check("customer record")
    laptop.goto(f"{live_server.url}/console/settings")
    expect(laptop.get_by_test_id("settings-name")).not_to_have_value("")
    check("settings")
    laptop.goto(f"{live_server.url}/console/agents")
    expect(laptop.get_by_test_id("agent-row").first).to_be_visible()
    check("team")
    laptop.goto(f"{live_server.url}/console/account")
    expect(laptop.get_by_test_id("session").first).to_be_visible()
    check("account")
    laptop.goto(f"{live_server.url}/console/audit")
    expect(laptop.get_by_test_id("audit-row").first).to_be_visible()
    check("audit log")

    laptop.goto(f"{live_server.url}/help/{live_server.site_key}")
    check("help center")
    laptop.locator("main a").first.click()
    expect(laptop.locator("h1")).to_have_count(1)
    check("help entry")

    laptop.goto(f"{live_server.url}/demo?guest=1")
    expect(laptop.get_by_test_id("sapa-launcher")).to_be_visible()

    assert not found, "\n\n".join(f"{name}:\n{text}" for name, text in found.items())
    assert not missing, missing


def test_help_center_links_to_the_shop_and_opens_its_chat(
    laptop: Page, live_server: ServerProcess
) -> None:
    laptop.goto(f"{live_server.url}/help/{live_server.site_key}")
    # The demo shop is Indonesian: no English entries in its list.
    expect(laptop.get_by_test_id("help-category").filter(has_text="Shipping")).to_have_count(0)
    expect(laptop.get_by_test_id("help-shop-link")).to_have_attribute("href", "/demo")
    laptop.get_by_test_id("help-chat-link").click()
    expect(laptop).to_have_url(re.compile(r"/demo#sapa-open$"))
    expect(laptop.get_by_test_id("sapa-input")).to_be_visible()
    shot(laptop, "help-chat-link-opened")
