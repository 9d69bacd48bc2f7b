"""After a resolve the shopper starts a new conversation; the earlier one opens read-only."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.conftest import ServerProcess
from tests.e2e.staff_client import staff_socket
from tests.e2e.test_widget_demo import TIMEOUT, room_of, sent, start_chat
from tests.e2e.test_widget_page import send


def test_a_shopper_starts_a_new_conversation_and_reads_the_past_one(
    page: Page, live_server: ServerProcess
) -> None:
    first_text = "Paket saya belum sampai"
    start_chat(page, f"{live_server.url}/demo?guest=1", first_text)
    with staff_socket(live_server) as staff:
        first = room_of(staff, first_text)
        staff.request({"type": "resolve", "room_id": first["id"]})
    start_over = page.get_by_test_id("sapa-new-conversation")
    expect(start_over).to_have_text("Mulai percakapan baru", timeout=TIMEOUT)
    expect(page.get_by_test_id("sapa-rating")).to_be_visible()
    start_over.click()

    # A fresh conversation: the old messages leave the chat, the next one starts anew.
    expect(sent(page).filter(has_text=first_text)).to_have_count(0, timeout=TIMEOUT)
    expect(start_over).to_be_hidden()
    send(page, "Mau tanya ukuran baju")
    expect(sent(page).filter(has_text="Mau tanya ukuran baju")).to_have_attribute(
        "data-state", "sent", timeout=TIMEOUT
    )

    # The earlier conversation is listed and opens read-only, with its own rating.
    past = page.get_by_test_id("sapa-past")
    past.locator("summary").click()
    item = page.get_by_test_id("sapa-past-item")
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-room-id", first["id"])
    item.click()
    view = page.get_by_test_id("sapa-past-view")
    expect(view.get_by_test_id("sapa-message").filter(has_text=first_text)).to_be_visible(
        timeout=TIMEOUT
    )
    expect(view).not_to_contain_text("Mau tanya ukuran baju")
    expect(page.get_by_test_id("sapa-input")).to_be_hidden()
    # Staff may still write into it: the open view follows live.
    with staff_socket(live_server) as staff:
        staff.say(first["id"], "Paketnya sudah kami lacak")
    expect(view.get_by_test_id("sapa-message").filter(has_text="sudah kami lacak")).to_be_visible(
        timeout=TIMEOUT
    )
    view.get_by_test_id("sapa-past-rating").locator("button[data-score='5']").click()
    expect(view.get_by_test_id("sapa-past-rating")).to_contain_text("Terima kasih")
    page.get_by_test_id("sapa-past-back").click()
    expect(page.get_by_test_id("sapa-input")).to_be_visible()
