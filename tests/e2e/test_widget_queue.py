"""A waiting shopper watches their place in the queue drop as agents free their slots."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.conftest import ServerProcess
from tests.e2e.shopper_client import Shopper
from tests.e2e.staff_client import staff_socket
from tests.e2e.test_widget_page import open_widget, send


def test_a_shopper_sees_their_place_in_the_queue_drop(
    page: Page, live_server: ServerProcess
) -> None:
    with staff_socket(live_server) as staff:
        # One conversation at a time: everyone else waits in line.
        routed = staff.http.put(
            "/api/v1/site",
            json={"routing": {"mode": "round_robin", "default_cap": 1}},
            headers={"origin": live_server.url},
        )
        assert routed.status_code == 200, routed.text
        staff.request({"type": "status", "status": "away"})
        ahead = [Shopper(live_server) for _ in range(2)]
        rooms = [
            s.request("send", client_msg_id="m1", body=f"halo {i}")["message"]["room_id"]
            for i, s in enumerate(ahead)
        ]
        open_widget(page, live_server.url)
        send(page, "Halo, pesanan saya belum sampai")
        queue = page.get_by_test_id("sapa-queue")
        expect(queue).to_be_visible()
        expect(queue).to_have_attribute("data-position", "3")
        expect(queue).to_contain_text("3")

        # The agent comes back: the first in line is theirs, everyone moves up.
        staff.request({"type": "status", "status": "online"})
        expect(queue).to_have_attribute("data-position", "2")
        staff.request({"type": "resolve", "room_id": rooms[0]})
        expect(queue).to_have_attribute("data-position", "1")
        expect(queue).to_contain_text("1")
        # Their turn: the line disappears once an agent has the conversation.
        staff.request({"type": "resolve", "room_id": rooms[1]})
        expect(queue).to_be_hidden()
        for shopper in ahead:
            shopper.close()
