"""Public rooms in the agent console, driven in real browsers against a real server.

Two shoppers (two browser contexts) sit in the demo's default room in the widget's
Community tab; the demo owner works the room from the console: sees the unanswered
count rise, answers as staff, pins, hides, mutes, sets slow mode, makes a FAQ draft
from an answered question, and creates, renames and archives rooms.
Fixtures (tests/e2e/conftest.py): `live_server` is a fresh `sapa serve --demo`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.conftest import ServerProcess, timeout

TIMEOUT = timeout(10) * 1000  # ms
DEFAULT_ROOM = "Tanya Jawab"


def _shopper(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT)
    yield context.new_page()
    context.close()


@pytest.fixture
def asker(browser: Browser) -> Iterator[Page]:
    yield from _shopper(browser)


@pytest.fixture
def reader(browser: Browser) -> Iterator[Page]:
    yield from _shopper(browser)


@pytest.fixture
def agent(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="id-ID")
    context.set_default_timeout(TIMEOUT)
    yield context.new_page()
    context.close()


def unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:6]}"


# ---- the widget (shadow DOM; get_by_test_id pierces it) ----------------------------


def open_community(page: Page, url: str) -> None:
    page.goto(f"{url}/demo?guest=1")
    # Sapa.open() rather than a click: after a reload the panel may come back open by itself,
    # and a click would then close it.
    page.wait_for_function("() => window.Sapa && typeof window.Sapa.open === 'function'")
    page.evaluate("() => window.Sapa.open()")
    expect(page.get_by_test_id("sapa-status")).to_have_attribute("data-state", "connected")
    page.get_by_test_id("sapa-tab-community").click()
    expect(page.get_by_test_id("sapa-tab-community")).to_have_attribute("aria-selected", "true")


def widget_room_row(page: Page, name: str = DEFAULT_ROOM) -> Locator:
    return page.get_by_test_id("sapa-room").filter(has_text=name)


def widget_open_room(page: Page, name: str = DEFAULT_ROOM) -> str:
    row = widget_room_row(page, name)
    room_id = row.get_attribute("data-room-id") or ""
    row.click()
    expect(page.get_by_test_id("sapa-room-view")).to_contain_text(name)
    return room_id


def widget_message(page: Page, text: str) -> Locator:
    return (
        page.get_by_test_id("sapa-room-view")
        .get_by_test_id("sapa-room-message")
        .filter(has_text=text)
    )


def widget_post(page: Page, text: str, name: str | None = None) -> None:
    box = page.get_by_test_id("sapa-room-input")
    box.fill(text)
    box.press("Enter")
    if name:
        name_box = page.get_by_test_id("sapa-name-input")
        expect(name_box).to_be_visible()
        name_box.fill(name)
        page.get_by_test_id("sapa-name-save").click()
    expect(widget_message(page, text)).to_have_count(1)


# ---- the console -----------------------------------------------------------------------


def login(page: Page, server: ServerProcess) -> None:
    page.goto(f"{server.url}/console/login")
    page.get_by_test_id("login-email").fill(server.owner_email)
    page.get_by_test_id("login-password").fill(server.owner_password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/console/?(#.*)?$"))
    expect(page.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")


def room_item(page: Page, name: str = DEFAULT_ROOM) -> Locator:
    return page.get_by_test_id("inbox-rooms").get_by_test_id("room-item").filter(has_text=name)


def console_message(page: Page, text: str) -> Locator:
    return page.get_by_test_id("room-view").get_by_test_id("room-message").filter(has_text=text)


def by_id(page: Page, message_id: str) -> Locator:
    return page.get_by_test_id("room-view").locator(
        f'[data-testid="room-message"][data-message-id="{message_id}"]'
    )


def test_agent_answers_moderates_and_slows_a_public_room(
    agent: Page, asker: Page, reader: Page, live_server: ServerProcess
) -> None:
    url = live_server.url
    open_community(asker, url)
    open_community(reader, url)
    room_id = widget_open_room(asker)
    assert widget_open_room(reader) == room_id

    login(agent, live_server)
    item = room_item(agent)
    expect(item).to_have_attribute("data-room-id", room_id)
    unanswered = item.get_by_test_id("room-unanswered")
    expect(unanswered).to_be_hidden()  # a fresh room: nothing waits

    # A shopper asks; the other sees it live; the console counts it as unanswered and unread.
    question = "Sneakers Kanvas ukuran 42 pas untuk kaki lebar?"
    widget_post(asker, question, name="Dewi")
    expect(widget_message(reader, question)).to_contain_text("Dewi")
    expect(unanswered).to_have_text("1")
    expect(unanswered).to_be_visible()
    expect(item.get_by_test_id("room-unread")).to_have_text("1")

    # The agent opens the room: the question is there with the visitor's name.
    item.click()
    view = agent.get_by_test_id("room-view")
    expect(view).to_be_visible()
    expect(view).to_have_attribute("data-room-id", room_id)
    expect(agent.locator("#room-name")).to_have_text(DEFAULT_ROOM)
    asked = console_message(agent, question)
    expect(asked).to_have_attribute("data-author-kind", "customer")
    expect(asked).to_have_attribute("data-answered", "false")
    expect(asked.get_by_test_id("room-author")).to_have_text("Dewi")
    question_id = asked.get_attribute("data-message-id") or ""
    asked = by_id(agent, question_id)  # answers quote it: find it by id from here on
    expect(item.get_by_test_id("room-unread")).to_be_hidden()  # read by opening
    # No private notes in a public room.
    expect(agent.get_by_test_id("note-toggle")).to_be_hidden()

    # The visitor's name leads to their customer record (every public post is in the CRM).
    href = asked.get_by_test_id("room-author").get_attribute("href") or ""
    assert re.fullmatch(r"/console/customers/[\w-]+", href), href

    # Reply to the question as staff.
    asked.get_by_test_id("room-reply-btn").click()
    replying = agent.get_by_test_id("room-replying-to")
    expect(replying).to_be_visible()
    expect(replying).to_contain_text("Membalas")
    expect(replying).to_contain_text("Dewi")
    answer_text = "Halo Kak Dewi, untuk kaki lebar sebaiknya naik satu ukuran (43)."
    agent.get_by_test_id("reply-input").fill(answer_text)
    agent.get_by_test_id("reply-send").click()
    expect(replying).to_be_hidden()
    answer = console_message(agent, answer_text)
    expect(answer).to_have_attribute("data-author-kind", "agent")
    expect(answer.get_by_test_id("room-quote")).to_contain_text("ukuran 42")
    expect(asked).to_have_attribute("data-answered", "true")
    answer_id = answer.get_attribute("data-message-id") or ""
    # Both shoppers see the staff answer attached to the question.
    for shopper in (asker, reader):
        shown = widget_message(shopper, answer_text)
        expect(shown).to_have_attribute("data-author-kind", "agent")
        expect(shown.get_by_test_id("sapa-staff-badge")).to_be_visible()
        expect(shown.get_by_test_id("sapa-reply-to")).to_contain_text("ukuran 42")
    expect(unanswered).to_be_hidden()
    expect(unanswered).to_have_text("0")

    # Make FAQ: a draft entry from the question and its staff answer.
    asked.get_by_test_id("room-faq-btn").click()
    created = asked.get_by_test_id("room-faq-created")
    expect(created).to_be_visible()
    expect(created).to_contain_text("Draf FAQ dibuat")
    link = created.locator("a").get_attribute("href") or ""
    m = re.fullmatch(r"/console/faq#faq=(.+)", link)
    assert m, link
    entries = agent.request.get(f"{url}/api/v1/faq").json()["items"]
    entry = next(e for e in entries if e["id"] == m.group(1))
    assert entry["status"] == "draft"
    assert "ukuran 42" in entry["question"]

    # Pin the answer: shown in the console's header and on top of the widget's room.
    answer.get_by_test_id("room-pin-btn").click()
    pinned = agent.get_by_test_id("room-pinned")
    expect(pinned).to_contain_text("naik satu ukuran")
    expect(reader.get_by_test_id("sapa-pinned")).to_contain_text("naik satu ukuran")

    # Hide a message: gone from both widgets, greyed and labelled in the console.
    spam = "Cek toko sebelah lebih murah!!! wa.me/0812"
    widget_post(reader, spam, name="Rudi")
    bad = console_message(agent, spam)
    expect(bad).to_have_count(1)
    bad.get_by_test_id("room-hide-btn").click()
    expect(bad).to_have_attribute("data-hidden", "true")
    expect(bad.get_by_test_id("room-hidden-label")).to_have_text("Disembunyikan")
    expect(bad.get_by_test_id("room-unhide-btn")).to_be_visible()
    for shopper in (asker, reader):
        expect(widget_message(shopper, spam)).to_have_count(0)
    # And back.
    bad.get_by_test_id("room-unhide-btn").click()
    expect(bad).to_have_attribute("data-hidden", "false")
    expect(widget_message(asker, spam)).to_have_count(1)
    bad.get_by_test_id("room-hide-btn").click()
    expect(widget_message(asker, spam)).to_have_count(0)

    # Mute the spammer for 10 minutes: their next post is refused.
    bad.get_by_test_id("room-mute-minutes").select_option("10")
    bad.get_by_test_id("room-mute-btn").click()
    expect(bad.get_by_test_id("room-muted-label")).to_be_visible()
    expect(bad.get_by_test_id("room-unmute-btn")).to_be_visible()
    box = reader.get_by_test_id("sapa-room-input")
    box.fill("Halo lagi semuanya")
    box.press("Enter")
    error = reader.get_by_test_id("sapa-room-error")
    expect(error).to_contain_text("sampai")
    expect(error).to_have_attribute("data-code", "forbidden")
    expect(console_message(agent, "Halo lagi semuanya")).to_have_count(0)

    # Slow mode from the console holds in the widget: Dewi asked less than 5 minutes ago.
    agent.get_by_test_id("room-slow-mode").select_option("300")
    expect(agent.locator("#room-sub")).to_contain_text("mode lambat")
    box = asker.get_by_test_id("sapa-room-input")
    box.fill("Boleh tanya satu lagi?")
    box.press("Enter")
    error = asker.get_by_test_id("sapa-room-error")
    expect(error).to_contain_text("Mode lambat")
    expect(error).to_have_attribute("data-code", "rate_limited")
    agent.get_by_test_id("room-slow-mode").select_option("0")
    expect(agent.locator("#room-sub")).not_to_contain_text("mode lambat")
    asker.get_by_test_id("sapa-room-send").click()
    expect(widget_message(reader, "Boleh tanya satu lagi?")).to_have_count(1)
    expect(console_message(agent, "Boleh tanya satu lagi?")).to_have_count(1)
    expect(unanswered).to_have_text("1")

    # A reload keeps all of it: hidden still flagged, pinned still pinned, answer still quoted.
    agent.reload()
    expect(agent.get_by_test_id("room-view")).to_be_visible()
    expect(console_message(agent, spam)).to_have_attribute("data-hidden", "true")
    expect(agent.get_by_test_id("room-pinned")).to_contain_text("naik satu ukuran")
    expect(by_id(agent, answer_id).get_by_test_id("room-quote")).to_contain_text("ukuran 42")
    expect(by_id(agent, question_id)).to_have_attribute("data-answered", "true")


def test_owner_creates_renames_and_archives_rooms(
    agent: Page, asker: Page, live_server: ServerProcess
) -> None:
    url = live_server.url
    login(agent, live_server)
    name = unique("Info Stok")
    agent.get_by_test_id("room-create-name").fill(name)
    agent.get_by_test_id("room-create-btn").click()
    item = room_item(agent, name)
    expect(item).to_have_count(1)
    expect(agent.get_by_test_id("room-view")).to_be_visible()  # opened for the owner
    expect(agent.locator("#room-name")).to_have_text(name)
    expect(agent.get_by_test_id("room-create-name")).to_have_value("")

    # A shopper's widget lists it (after loading the page).
    open_community(asker, url)
    expect(widget_room_row(asker, name)).to_be_visible()

    # Renamed: the widget follows live.
    new_name = unique("Stok Terbaru")
    agent.get_by_test_id("room-rename-btn").click()
    agent.get_by_test_id("room-rename-input").fill(new_name)
    agent.get_by_test_id("room-rename-input").press("Enter")
    expect(agent.locator("#room-name")).to_have_text(new_name)
    expect(room_item(agent, new_name)).to_have_count(1)
    expect(widget_room_row(asker, new_name)).to_be_visible()

    # Visitors' photos, off by default: the widget's attach button follows live.
    images = agent.get_by_test_id("room-visitor-images")
    expect(images).not_to_be_checked()
    widget_room_row(asker, new_name).click()
    attach = asker.get_by_test_id("sapa-room-attach")
    expect(attach).to_be_hidden()
    images.check()
    expect(attach).to_be_visible()
    images.uncheck()
    expect(attach).to_be_hidden()
    asker.get_by_test_id("sapa-room-back").click()

    # Moved above the default room.
    agent.get_by_test_id("room-move-up").click()
    names = agent.get_by_test_id("room-item").locator(".item__name")
    expect(names.first).to_have_text(new_name)

    # Archived: dropped from the widget, kept (marked) in the console; and back.
    archive = agent.get_by_test_id("room-archive-btn")
    expect(archive).to_have_text("Arsipkan")
    archive.click()
    expect(room_item(agent, new_name)).to_have_attribute("data-archived", "true")
    expect(archive).to_have_text("Buka arsip")
    # (A widget already showing the room keeps it, read-only, until it reloads.)
    asker.reload()
    open_community(asker, url)
    expect(widget_room_row(asker)).to_be_visible()
    expect(widget_room_row(asker, new_name)).to_have_count(0)
    archive.click()
    expect(room_item(agent, new_name)).not_to_have_attribute("data-archived", "true")
    expect(widget_room_row(asker, new_name)).to_be_visible()  # live, from the `room` event


def test_english_labels_and_visitor_record_link(agent: Page, live_server: ServerProcess) -> None:
    login(agent, live_server)
    agent.locator("#locale-toggle").click()
    expect(agent.get_by_test_id("inbox-rooms")).to_contain_text("Community")
    room_item(agent).click()
    expect(agent.get_by_test_id("room-slow-mode").locator("option").first).to_have_text("Off")
    expect(agent.get_by_test_id("room-archive-btn")).to_have_text(re.compile("Archive|Unarchive"))
    agent.locator("#locale-toggle").click()


def test_history_pages_and_faq_suggestions(
    agent: Page, asker: Page, live_server: ServerProcess
) -> None:
    login(agent, live_server)
    name = unique("Arsip Stok")
    agent.get_by_test_id("room-create-name").fill(name)
    agent.get_by_test_id("room-create-btn").click()
    expect(agent.locator("#room-name")).to_have_text(name)
    room_id = agent.get_by_test_id("room-view").get_attribute("data-room-id")
    agent.evaluate(
        """async (roomId) => {
            const socket = window.sapaConsole.socket;
            for (let i = 1; i <= 70; i++) {
                const body = `Stok update nomor ${String(i).padStart(2, "0")}`;
                await socket.request("send", {room_id: roomId, client_msg_id: `h${i}`, body, kind: "text"});
            }
        }""",
        room_id,
    )
    agent.reload()
    expect(agent.get_by_test_id("room-view")).to_have_attribute("data-room-id", room_id or "")
    messages = agent.get_by_test_id("room-view").get_by_test_id("room-message")
    expect(console_message(agent, "nomor 70")).to_be_visible()
    expect(messages).to_have_count(50)
    agent.locator("#conv-scroll").evaluate("el => { el.scrollTop = 0; }")
    expect(messages).to_have_count(70)
    seqs = [int(s) for s in messages.evaluate_all("els => els.map(e => e.dataset.seq)")]
    assert seqs == sorted(seqs)

    # A visitor's question brings FAQ suggestions to the console; using one answers it.
    open_community(asker, live_server.url)
    widget_open_room(asker, name)
    widget_post(asker, "Berapa ongkos kirim ke Medan kak?", name="Maya")
    panel = agent.get_by_test_id("suggestions-panel")
    expect(panel).to_be_visible()
    suggestion = panel.get_by_test_id("suggestion").first
    suggestion.click()
    expect(agent.get_by_test_id("reply-input")).not_to_have_value("")
    suggestion.click()  # a second click sends
    answer = (
        agent.get_by_test_id("room-view")
        .locator('[data-author-kind="agent"]')
        .filter(has=agent.get_by_test_id("room-quote").filter(has_text="ongkos kirim"))
    )
    expect(answer).to_have_count(1)
    expect(widget_message(asker, "Berapa ongkos kirim").first).to_be_visible()
