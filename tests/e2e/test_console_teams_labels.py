"""Teams and labels in the console: label a conversation on the fly, filter the inbox by
the label, and hand the conversation to a team."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.conftest import ServerProcess
from tests.e2e.shopper_client import Shopper
from tests.e2e.test_console import login, room_item, unique, wait_for_room
from tests.e2e.test_console_workflow import owner_api


def test_an_agent_labels_a_conversation_filters_by_it_and_hands_it_to_a_team(
    page: Page, live_server: ServerProcess
) -> None:
    http = owner_api(live_server)
    try:
        made = http.post("/api/v1/teams", json={"name": "Pengiriman"})
        assert made.status_code == 201, made.text
    finally:
        http.close()
    team_id = made.json()["id"]
    shopper = Shopper(live_server)
    text = unique("Paket saya belum sampai")
    shopper.request("send", client_msg_id="t1", body=text)

    login(page, live_server)
    room_id = wait_for_room(page, text)
    room_item(page, room_id).click()
    add = page.get_by_test_id("label-add")
    add.fill("Retur")
    add.press("Enter")
    chip = page.get_by_test_id("conv-labels").get_by_test_id("label-chip")
    expect(chip).to_have_text("Retur×")

    # The label filter narrows the inbox to the labelled conversation.
    label_filter = page.get_by_test_id("inbox-label-filter")
    expect(label_filter.locator("option", has_text="Retur")).to_have_count(1)
    label_filter.select_option(label="Retur")
    page.get_by_test_id("inbox-tab-all").click()
    expect(page.get_by_test_id("inbox-item")).to_have_count(1)
    expect(room_item(page, room_id)).to_be_visible()

    page.get_by_test_id("transfer-btn").click()
    page.get_by_test_id("transfer-agent").select_option(f"team:{team_id}")
    page.get_by_test_id("transfer-note").fill("Cek resi dengan kurir")
    page.get_by_test_id("transfer-submit").click()
    expect(page.get_by_test_id("conv-team")).to_contain_text("Pengiriman")
    page.get_by_test_id("inbox-team-filter").select_option(team_id)
    expect(room_item(page, room_id)).to_be_visible()
    shopper.close()
