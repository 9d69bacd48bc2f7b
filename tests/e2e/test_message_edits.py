"""Unsend and edit in real browsers: the shopper edits their message and the console shows
it live; the agent deletes a reply and the widget shows "Pesan dihapus"; a member of a public
room edits and deletes their post and another member sees both."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_console import (
    TIMEOUT,
    console_message,
    login,
    reply,
    room_item,
    shopper,  # noqa: F401 (fixture)
    shopper_says,
    unique,
    wait_for_room,
    widget_messages,
)
from tests.e2e.test_widget_community import (
    message_with,
    open_community,
    open_room,
    post,
    second_page,  # noqa: F401 (fixture)
)


def test_edit_and_unsend_show_live_on_the_other_side(
    page: Page,
    shopper: Page,  # noqa: F811
    live_server,
) -> None:
    login(page, live_server)
    first = unique("ukuran kemeja L")
    shopper_says(shopper, first)
    room_id = wait_for_room(page, first)
    room_item(page, room_id).click()
    expect(console_message(page, first)).to_be_visible()

    # The shopper edits: Escape cancels, Enter saves; the console shows it marked.
    own = widget_messages(shopper).filter(has_text=first)
    own.hover()
    own.get_by_test_id("sapa-edit").click()
    box = shopper.get_by_test_id("sapa-edit-box")
    box.press("Escape")
    expect(box).to_have_count(0)
    own.hover()
    own.get_by_test_id("sapa-edit").click()
    fixed = unique("ukuran kemeja XL")
    shopper.get_by_test_id("sapa-edit-box").fill(fixed)
    shopper.get_by_test_id("sapa-edit-box").press("Enter")
    edited = console_message(page, fixed)
    expect(edited).to_contain_text(re.compile(r"\((edited|diedit)\)"), timeout=TIMEOUT)
    expect(console_message(page, first)).to_have_count(0)

    # The agent deletes a reply (Delete asks once more); the shopper sees a tombstone.
    answer = unique("salah kirim")
    reply(page, answer)
    mine = console_message(page, answer)
    expect(mine).to_have_attribute("data-state", "sent", timeout=TIMEOUT)
    expect(widget_messages(shopper).filter(has_text=answer)).to_be_visible(timeout=TIMEOUT)
    mine.hover()
    mine.get_by_test_id("msg-unsend").click()
    mine.get_by_test_id("msg-unsend").click()
    expect(page.locator(".msg--deleted")).to_have_count(1, timeout=TIMEOUT)
    expect(widget_messages(shopper).filter(has_text=answer)).to_have_count(0, timeout=TIMEOUT)
    expect(
        widget_messages(shopper).filter(has_text=re.compile("Pesan dihapus|Message deleted"))
    ).to_have_count(1)


def test_a_member_changes_a_public_post_and_every_reader_sees_it(
    page: Page,
    second_page: Page,  # noqa: F811
    live_server,
) -> None:
    for reader in (page, second_page):
        open_community(reader, live_server.url)
        open_room(reader)
    first = unique("jual kain Cendana")
    post(page, first)
    page.get_by_test_id("sapa-name-input").fill("Sari")  # posting asks once for a name
    page.get_by_test_id("sapa-name-save").click()
    theirs = message_with(second_page, first)
    expect(theirs).to_have_count(1, timeout=TIMEOUT)
    expect(theirs.get_by_test_id("sapa-unsend")).to_have_count(0)  # not theirs to change

    mine = message_with(page, first)
    mine.hover()
    mine.get_by_test_id("sapa-edit").click()
    fixed = unique("jual kain Cendana asli")
    page.get_by_test_id("sapa-edit-box").fill(fixed)
    page.get_by_test_id("sapa-edit-box").press("Enter")
    seen = message_with(second_page, fixed)
    expect(seen).to_contain_text(re.compile(r"\((edited|diedit)\)"), timeout=TIMEOUT)

    mine = message_with(page, fixed)
    mine.hover()
    mine.get_by_test_id("sapa-unsend").click()
    mine.get_by_test_id("sapa-unsend").click()
    expect(message_with(second_page, fixed)).to_have_count(0, timeout=TIMEOUT)
    gone = message_with(second_page, re.compile("Pesan dihapus|Message deleted"))
    expect(gone).to_have_count(1)
    expect(gone.get_by_test_id("sapa-reply-btn")).to_have_count(0)
