"""The demo shop as a newcomer meets it, and the widget's own language on any site.

System lines carry their data (`event`), and the widget says them in its own language
whatever the site's; the /demo shopper is a sample customer whose record the agent sees.
Fixtures (tests/e2e/conftest.py): `live_server` is a fresh `sapa serve --demo` (an
Indonesian site); staff act over the agent socket (tests/e2e/staff_client.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, WebSocketRoute, expect

from chat_server.services.demo import DEMO_SHOPPER_ID
from tests.conftest import ServerProcess, timeout
from tests.e2e.staff_client import StaffSocket, staff_socket

TIMEOUT = timeout(10) * 1000  # ms
NEW_KEY = re.compile(r'"key":\s*"assigned"')


@pytest.fixture
def staff(live_server: ServerProcess) -> Iterator[StaffSocket]:
    with staff_socket(live_server) as socket:
        yield socket


def start_chat(page: Page, url: str, text: str) -> None:
    page.goto(url)
    page.get_by_test_id("sapa-launcher").click()
    expect(page.get_by_test_id("sapa-status")).to_have_attribute(
        "data-state", "connected", timeout=TIMEOUT
    )
    box = page.get_by_test_id("sapa-input")
    box.fill(text)
    box.press("Enter")
    expect(sent(page).filter(has_text=text)).to_have_attribute(
        "data-state", "sent", timeout=TIMEOUT
    )


def sent(page: Page) -> Locator:
    return page.get_by_test_id("sapa-messages").get_by_test_id("sapa-message")


def system_lines(page: Page) -> Locator:
    return sent(page).and_(page.locator("[data-author-kind=system]"))


def room_of(staff: StaffSocket, text: str) -> dict[str, Any]:
    rooms = staff.http.get("/api/v1/rooms", params={"kind": "private"}).json()["items"]
    room: dict[str, Any] = next(r for r in rooms if r["last_message"]["body"] == text)
    return room


def test_english_widget_on_an_indonesian_site_says_system_lines_in_english(
    page: Page, live_server: ServerProcess, staff: StaffSocket
) -> None:
    text = "Hello, is the size 42 in stock?"
    start_chat(page, f"{live_server.url}/demo?guest=1&locale=en", text)
    room = room_of(staff, text)

    staff.request({"type": "assign", "room_id": room["id"], "agent_id": staff.id})
    expect(system_lines(page)).to_have_count(1, timeout=TIMEOUT)
    expect(system_lines(page).nth(0)).to_contain_text(f"Assigned to {staff.name}")
    staff.request({"type": "resolve", "room_id": room["id"]})
    expect(system_lines(page)).to_have_count(2, timeout=TIMEOUT)
    expect(system_lines(page).nth(1)).to_contain_text(f"Resolved by {staff.name}")

    # The site speaks Indonesian: that is what the lines' `body` says on the wire.
    stored = staff.http.get(f"/api/v1/rooms/{room['id']}/messages").json()["items"]
    bodies = [m["body"] for m in stored if m["kind"] == "event"]
    assert bodies == [f"Ditangani oleh {staff.name}", f"Diselesaikan oleh {staff.name}"]
    # History after a reload is rendered the same way.
    page.reload()
    expect(system_lines(page)).to_have_count(2, timeout=TIMEOUT)
    expect(system_lines(page).nth(0)).to_contain_text(f"Assigned to {staff.name}")
    expect(page.get_by_test_id("sapa-messages")).not_to_contain_text("Ditangani")


def test_a_system_line_the_widget_does_not_know_shows_the_servers_words(
    page: Page, live_server: ServerProcess, staff: StaffSocket
) -> None:
    # A newer server may log lines this widget has no words for: their `body` is shown.
    def newer_server(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        server.on_message(
            lambda frame: ws.send(
                NEW_KEY.sub('"key":"escalated"', frame) if isinstance(frame, str) else frame
            )
        )

    page.route_web_socket(re.compile(r"/ws/widget$"), newer_server)
    text = "Hello, a line from the future?"
    start_chat(page, f"{live_server.url}/demo?guest=1&locale=en", text)
    room = room_of(staff, text)

    staff.request({"type": "assign", "room_id": room["id"], "agent_id": staff.id})
    expect(system_lines(page)).to_have_count(1, timeout=TIMEOUT)
    expect(system_lines(page).nth(0)).to_contain_text(f"Ditangani oleh {staff.name}")


def test_the_demo_shopper_is_a_sample_customer_with_orders_and_a_segment(
    page: Page, live_server: ServerProcess, staff: StaffSocket
) -> None:
    text = "Halo, pesanan jaket denim saya sudah dikirim?"
    start_chat(page, f"{live_server.url}/demo", text)
    expect(page.get_by_test_id("demo-shopper")).to_contain_text("Ani Lestari")

    # The identify call of the page (hashed by the demo server) made the visitor that
    # customer, so the agent's sidebar shows a buyer, not an empty anonymous record.
    room = room_of(staff, text)
    customer = staff.http.get(f"/api/v1/customers/{room['customer_id']}").json()
    assert customer["external_id"] == DEMO_SHOPPER_ID
    assert len(customer["orders"]) >= 1
    assert customer["rfm"]["segment"]

    # "Belanja sebagai tamu": the guest page logs the sample customer out of this browser.
    page.get_by_test_id("demo-shopper").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/demo\?guest=1$"))
    page.evaluate("Sapa.open()")
    expect(page.get_by_test_id("sapa-panel")).to_be_visible()
    expect(page.get_by_test_id("sapa-status")).to_have_attribute(
        "data-state", "connected", timeout=TIMEOUT
    )
    expect(sent(page)).to_have_count(0)
