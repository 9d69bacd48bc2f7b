"""An agent's daily workflow in the console: canned responses with "/", and search."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.conftest import ServerProcess, timeout
from tests.e2e.shopper_client import Shopper
from tests.e2e.test_console import console_message, login, room_item, unique, wait_for_room


def owner_api(server: ServerProcess) -> httpx.Client:
    http = httpx.Client(base_url=server.url, timeout=timeout(10))
    res = http.post(
        "/api/v1/auth/login", json={"email": server.owner_email, "password": server.owner_password}
    )
    assert res.status_code == 200, res.text
    http.headers["X-CSRF-Token"] = res.json()["csrf_token"]
    http.headers["Origin"] = server.url
    return http


def test_an_agent_inserts_a_canned_response_with_a_slash(
    page: Page, live_server: ServerProcess
) -> None:
    http = owner_api(live_server)
    try:
        for shortcut, body in (
            ("salam", "Halo {{customer.name}}, saya {{agent.name}} dari {{site.name}}!"),
            ("ongkir", "Ongkir gratis untuk pesanan di atas Rp100.000."),
        ):
            made = http.post(
                "/api/v1/canned_responses",
                json={"shortcut": shortcut, "body": body, "scope": "site"},
            )
            assert made.status_code in (201, 409), made.text
        agents = http.get("/api/v1/agents").json()["items"]
        site_name = http.get("/api/v1/site").json()["name"]
    finally:
        http.close()
    owner_name = next(a["name"] for a in agents if a["email"] == live_server.owner_email)
    shopper = Shopper(live_server)
    text = unique("Kak, mau tanya ongkir")
    shopper.request("send", client_msg_id="c1", body=text)
    # An anonymous shopper is named as everywhere else ("Pengunjung 7F3A").
    filled = f"Halo Pengunjung {shopper.customer_id[-4:]}, saya {owner_name} dari {site_name}!"

    login(page, live_server)
    room_id = wait_for_room(page, text)
    room_item(page, room_id).click()
    box = page.get_by_test_id("reply-input")
    box.click()
    box.press_sequentially("/sal")
    options = page.get_by_test_id("canned-item")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("/salam")
    box.press("Enter")  # inserts; does not send
    expect(box).to_have_value(filled)
    expect(page.get_by_test_id("canned-list")).to_be_hidden()

    # Arrow keys choose among several; Escape closes without inserting.
    box.fill("")
    box.press_sequentially("Terima kasih. /")
    expect(options).to_have_count(2)
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(box).to_have_value(f"Terima kasih. {filled}")
    box.press("Enter")  # the list is closed: Enter sends
    expect(console_message(page, "Terima kasih. Halo Pengunjung")).to_be_visible()
    shopper.close()


def test_an_agent_searches_and_opens_a_result_at_the_message(
    page: Page, live_server: ServerProcess
) -> None:
    shopper = Shopper(live_server)
    needle = unique("Nomor resi Kalimantan")
    first = shopper.request("send", client_msg_id="s1", body=needle)
    for i in range(3):
        shopper.request("send", client_msg_id=f"s{i + 2}", body=f"pesan lain {i}")
    room_id = first["message"]["room_id"]

    login(page, live_server)
    box = page.get_by_test_id("search-input")
    box.fill(needle.split()[-1])  # the unique word
    box.press("Enter")
    results = page.get_by_test_id("search-result")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Kalimantan")
    expect(page.get_by_test_id("inbox-tab-all")).to_be_hidden()
    results.first.click()

    found = page.locator(f'[data-testid="message"][data-message-id="{first["message"]["id"]}"]')
    expect(found).to_have_attribute("data-found", "true")
    expect(found).to_be_in_viewport()
    assert room_id in page.url
    # Closing the search brings the inbox back.
    page.get_by_test_id("search-clear").click()
    expect(page.get_by_test_id("inbox-tab-all")).to_be_visible()
    shopper.close()


def test_an_agent_transfers_a_conversation_with_a_handover_note(
    page: Page, live_server: ServerProcess
) -> None:
    shopper = Shopper(live_server)
    text = unique("Mau refund pesanan")
    room_id = shopper.request("send", client_msg_id="t1", body=text)["message"]["room_id"]
    login(page, live_server)
    wait_for_room(page, text)
    room_item(page, room_id).click()
    page.get_by_test_id("transfer-btn").click()
    form = page.get_by_test_id("transfer-form")
    expect(form).to_be_visible()
    choice = page.get_by_test_id("transfer-agent").locator("option", has_text="Rina").first
    page.get_by_test_id("transfer-agent").select_option(choice.get_attribute("value"))
    page.get_by_test_id("transfer-note").fill("Sudah dicek, tinggal proses refund")
    page.get_by_test_id("transfer-submit").click()
    expect(form).to_be_hidden()
    note = page.locator('[data-testid="message"][data-kind="note"]').filter(
        has_text="Sudah dicek, tinggal proses refund"
    )
    expect(note).to_be_visible()
    expect(page.locator("#conv-assignee")).to_contain_text("Rina")
    # The shopper never sees the note.
    seen = [f for f in shopper.events if f.get("type") == "message"]
    assert all(f["message"]["kind"] != "note" for f in seen)
    shopper.close()


def test_an_agent_snoozes_a_conversation_and_sees_it_come_back(
    page: Page, live_server: ServerProcess
) -> None:
    shopper = Shopper(live_server)
    text = unique("Nanti saya kabari nomor resinya")
    room_id = shopper.request("send", client_msg_id="s1", body=text)["message"]["room_id"]
    login(page, live_server)
    wait_for_room(page, text)
    room_item(page, room_id).click()
    page.get_by_test_id("snooze-btn").click()
    form = page.get_by_test_id("snooze-form")
    expect(form).to_be_visible()
    page.get_by_test_id("snooze-preset").select_option("reply")
    page.get_by_test_id("snooze-submit").click()
    expect(form).to_be_hidden()
    expect(page.get_by_test_id("snoozed-pill")).to_be_visible()
    # It left the open tabs for "Snoozed".
    page.get_by_test_id("inbox-tab-all").click()
    expect(room_item(page, room_id)).to_have_count(0)
    page.get_by_test_id("inbox-tab-snoozed").click()
    expect(room_item(page, room_id)).to_be_visible()
    # The shopper writes: it is back in the open inbox, live.
    shopper.request("send", client_msg_id="s2", body=unique("Ini resinya kak"))
    expect(room_item(page, room_id)).to_have_count(0)
    page.get_by_test_id("inbox-tab-all").click()
    expect(room_item(page, room_id)).to_be_visible()
    expect(page.get_by_test_id("snoozed-pill")).to_be_hidden()
    shopper.close()
