"""The console shows what arrived while nobody watched: suggestions for a waiting
conversation, system lines in the agent's own language, the shopper's FAQ cards and
rating in the transcript; the sidebar follows the room live; owners keep consent and
find the embed code in Settings.

The shopper here speaks the widget protocol over a real socket (tests/e2e/shopper_client.py);
the widget's own UI has its own tests.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import timeout
from tests.e2e.shopper_client import Shopper

TIMEOUT = timeout(10) * 1000
ARTIFACTS = "tests/e2e/artifacts"


@pytest.fixture
def shopper(live_server) -> Iterator[Shopper]:
    client = Shopper(live_server)
    yield client
    client.close()


def english(page: Page) -> None:
    page.add_init_script("localStorage.setItem('sapa.console.locale', 'en')")


def login(page: Page, server) -> None:
    page.goto(f"{server.url}/console/login")
    page.get_by_test_id("login-email").fill(server.owner_email)
    page.get_by_test_id("login-password").fill(server.owner_password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/console/?(#.*)?$"))
    expect(page.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")
    expect(page.locator("#inbox")).to_have_attribute("aria-busy", "false")


def open_room(page: Page, room_id: str) -> None:
    page.get_by_test_id("inbox-tab-all").click()
    page.locator(f'[data-testid="inbox-item"][data-room-id="{room_id}"]').click()
    expect(page.get_by_test_id("conversation-header")).to_be_visible()


def test_suggestions_show_for_a_conversation_that_waited_and_after_a_reload(
    page: Page, shopper: Shopper, live_server
) -> None:
    # The shopper asks before any console is open (the README's demo path).
    asked = shopper.say(f"kak bisa bayar di tempat (COD) gak? {uuid.uuid4().hex[:6]}")
    login(page, live_server)
    open_room(page, asked["room_id"])
    panel = page.get_by_test_id("suggestions-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_test_id("suggestion").first).to_contain_text("COD")
    page.reload()
    expect(page.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")
    expect(page.get_by_test_id("suggestions-panel")).to_be_visible()
    expect(page.get_by_test_id("suggestion").first).to_contain_text("COD")


def test_system_lines_transcript_and_sidebar_in_the_agents_language(
    page: Page, shopper: Shopper, live_server
) -> None:
    english(page)
    asked = shopper.say(f"ongkir ke kota saya berapa kak? {uuid.uuid4().hex[:6]}")
    room_id = asked["room_id"]
    shown = shopper.event("suggestions", for_message_id=asked["id"])
    login(page, live_server)
    open_room(page, room_id)
    sidebar_room = page.locator(
        f'[data-testid="customer-sidebar"] [data-testid="customer-room"][data-room-id="{room_id}"] .pill'
    )
    expect(sidebar_room).to_have_attribute("data-status", "queued")
    # The owner is online in their own assign menu, whatever their stored status says.
    me = page.locator("#sapa-boot").evaluate("el => JSON.parse(el.textContent).agent")
    own = page.locator(f'[data-testid="assign-select"] option[value="{me["id"]}"]')
    expect(own).to_have_text(me["name"])
    page.get_by_test_id("assign-me").click()
    # An Indonesian site: the server's body says "Ditangani oleh …"; this console speaks English.
    line = page.locator('[data-testid="message"][data-kind="event"] .msg__body').last
    expect(line).to_have_text(f"Assigned to {me['name']}")
    expect(sidebar_room).to_have_attribute("data-status", "assigned")
    # The card the shopper was shown is in the transcript; then their click, then the rating.
    card = page.locator('[data-testid="transcript-item"][data-activity-kind="faq-shown"]')
    expect(card).to_have_count(len(shown["items"]))
    expect(card.first).to_contain_text(f"Shown FAQ answer: {shown['items'][0]['question']}")
    shopper.request(
        "faq_feedback", faq_id=shown["items"][0]["faq_id"], helpful=True, for_message_id=asked["id"]
    )
    expect(page.locator('[data-activity-kind="faq-helpful"]')).to_contain_text("Found it helpful")
    page.get_by_test_id("resolve-btn").click()
    expect(sidebar_room).to_have_attribute("data-status", "resolved")
    shopper.event("room")
    shopper.request("rate", room_id=room_id, score=4, comment="cepat sekali")
    rating = page.locator('[data-testid="transcript-item"][data-activity-kind="rating"]')
    expect(rating).to_contain_text("Rated the conversation 4/5: “cepat sekali”")
    page.screenshot(path=f"{ARTIFACTS}/console-transcript.png")
    # Still there after a reload: the transcript comes from the server.
    page.reload()
    expect(page.locator('[data-testid="transcript-item"]')).to_have_count(len(shown["items"]) + 2)
    expect(
        page.locator('[data-testid="message"][data-kind="event"] .msg__body').first
    ).to_have_text(f"Assigned to {me['name']}")


def test_owner_records_and_withdraws_consent_and_never_seen_is_said(
    page: Page, live_server
) -> None:
    english(page)
    login(page, live_server)
    csrf = page.locator("#sapa-boot").evaluate("el => JSON.parse(el.textContent).csrf_token")
    external = f"imp-{uuid.uuid4().hex[:6]}"
    made = page.request.put(
        f"{live_server.url}/api/v1/customers/by-external-id/{external}",
        data={"name": "Sri Imported"},
        headers={"X-CSRF-Token": csrf},
    )
    assert made.ok, made.text()
    customer_id = made.json()["id"]
    page.goto(f"{live_server.url}/console/customers/{customer_id}")
    expect(page.get_by_test_id("customer-last-seen")).to_have_text("Never")
    consent = page.locator('[data-testid="customer-consent"][data-kind="marketing"]')
    expect(consent).to_have_attribute("data-state", "unknown")
    consent.get_by_test_id("customer-consent-toggle").click()
    expect(consent).to_have_attribute("data-state", "granted")
    expect(consent).to_contain_text("console")
    consent.get_by_test_id("customer-consent-toggle").click()
    expect(consent).to_have_attribute("data-state", "refused")
    page.reload()
    expect(
        page.locator('[data-testid="customer-consent"][data-kind="marketing"]')
    ).to_have_attribute("data-state", "refused")


def test_settings_shows_the_embed_code_and_where_the_widget_connected(
    page: Page, shopper: Shopper, live_server
) -> None:
    english(page)
    login(page, live_server)
    page.goto(f"{live_server.url}/console/settings")
    panel = page.get_by_test_id("install")
    expect(panel).to_be_visible()
    expect(panel.get_by_test_id("install-snippet")).to_have_text(
        f'<script src="{live_server.url}/widget.js" data-site="{live_server.site_key}" async></script>'
    )
    expect(panel.get_by_test_id("install-site-key")).to_have_text(live_server.site_key)
    expect(panel.get_by_test_id("install-help")).to_have_attribute(
        "href", f"{live_server.url}/help/{live_server.site_key}"
    )
    # The shopper fixture's socket came from this server's own address, an allowed domain.
    seen = panel.locator('[data-testid="install-seen-domain"][data-domain="127.0.0.1"]')
    expect(seen).to_have_attribute("data-state", "seen")
    expect(seen).to_contain_text(live_server.url)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    panel.get_by_test_id("install-copy").click()
    expect(panel.get_by_test_id("install-copied")).to_have_text("Copied.")
    assert "data-site" in page.evaluate("navigator.clipboard.readText()")
