"""Unsend and edit in real browsers: the shopper edits their message and the console shows
it live; the agent deletes a reply and the widget shows "Pesan dihapus"."""

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
