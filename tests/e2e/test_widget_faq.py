"""FAQ answers in the shopper widget: live while typing, a card while waiting, feedback.

Runs against a real `sapa serve --demo` (fixtures in tests/e2e/conftest.py). The demo
seeds its own FAQ; so as not to depend on that text, the tests add their own entry
through the REST API as the demo owner and look for it by id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Dialog, Locator, Page, WebSocketRoute, expect

from tests.conftest import ServerProcess, timeout

TIMEOUT = timeout(10) * 1000  # ms

QUESTION = "Apakah bisa bayar di tempat (COD) ke Medan?"
# Markdown, a relative link and raw HTML, which must arrive as text.
ANSWER = (
    "**Bisa**, COD ke Medan diantar kurir Kilat Deli sampai Rp3.000.000. "
    "[Syarat COD](/help/syarat-cod) <img src=x onerror=alert(1)>"
)
DISTINCT = "kurir Kilat Deli"
ASKING = "bisa cod ke medan gk kak?"


@pytest.fixture(scope="module")
def owner(live_server: ServerProcess) -> Iterator[httpx.Client]:
    """The demo owner's console session: cookie plus the CSRF header."""
    with httpx.Client(base_url=live_server.url, timeout=timeout(10)) as client:
        res = client.post(
            "/api/v1/auth/login",
            json={"email": live_server.owner_email, "password": live_server.owner_password},
        )
        assert res.status_code == 200, res.text
        client.headers["X-CSRF-Token"] = res.json()["csrf_token"]
        yield client


@pytest.fixture(scope="module")
def cod_faq(owner: httpx.Client) -> dict[str, Any]:
    res = owner.post(
        "/api/v1/faq",
        json={
            "question": QUESTION,
            "answer": ANSWER,
            "category": "Pembayaran",
            "tags": ["cod", "medan"],
            "lang": "id",
            "status": "published",
        },
    )
    assert res.status_code == 201, res.text
    entry: dict[str, Any] = res.json()
    return entry


def open_widget(page: Page, url: str) -> None:
    page.goto(f"{url}/demo?guest=1")
    page.get_by_test_id("sapa-launcher").click()
    expect(page.get_by_test_id("sapa-panel")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_test_id("sapa-status")).to_have_attribute(
        "data-state", "connected", timeout=TIMEOUT
    )


def send(page: Page, text: str) -> Locator:
    """Send a message; return it once the server has stored it."""
    box = page.get_by_test_id("sapa-input")
    box.fill(text)
    box.press("Enter")
    mine = page.get_by_test_id("sapa-message").filter(has_text=text).last
    expect(mine).to_have_attribute("data-state", "sent", timeout=TIMEOUT)
    return mine


def live_item(page: Page, faq_id: str) -> Locator:
    return page.get_by_test_id("sapa-faq-live").locator(
        f'[data-testid="sapa-faq-live-item"][data-faq-id="{faq_id}"]'
    )


def card_for(page: Page, message: Locator) -> Locator:
    message_id = message.get_attribute("data-id")
    return page.locator(f'[data-testid="sapa-suggestions"][data-for-message-id="{message_id}"]')


def suggestion(card: Locator, faq_id: str) -> Locator:
    return card.locator(f'[data-testid="sapa-suggestion"][data-faq-id="{faq_id}"]')


def test_typing_a_question_offers_the_matching_answer_above_the_input(
    page: Page, live_server: ServerProcess, cod_faq: dict[str, Any]
) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    open_widget(page, live_server.url)
    live = page.get_by_test_id("sapa-faq-live")
    expect(live).to_be_hidden()

    page.get_by_test_id("sapa-input").fill(ASKING)

    item = live_item(page, cod_faq["id"])
    expect(item).to_be_visible(timeout=TIMEOUT)
    expect(live).to_contain_text("Mungkin membantu:")
    expect(item).to_contain_text(QUESTION)
    assert live.get_by_test_id("sapa-faq-live-item").count() <= 3
    # Just above the input.
    list_box = live.bounding_box()
    input_box = page.get_by_test_id("sapa-input").bounding_box()
    assert list_box and input_box and list_box["y"] + list_box["height"] <= input_box["y"]

    answer = item.get_by_test_id("sapa-faq-live-answer")
    expect(answer).to_be_hidden()
    item.get_by_role("button").click()
    expect(answer).to_be_visible()
    expect(answer).to_contain_text(DISTINCT)
    expect(answer.locator("strong")).to_have_text("Bisa")
    link = answer.get_by_role("link", name="Syarat COD")
    expect(link).to_have_attribute("href", f"{live_server.url}/help/syarat-cod")
    expect(link).to_have_attribute("target", "_blank")
    # Raw HTML in an answer is text, not markup.
    expect(answer).to_contain_text("<img src=x onerror=alert(1)>")
    assert answer.locator("img").count() == 0
    assert dialogs == []

    # Clearing the input clears the list.
    page.get_by_test_id("sapa-input").fill("")
    expect(live).to_be_hidden()
    expect(live.get_by_test_id("sapa-faq-live-item")).to_have_count(0)


def test_waiting_shopper_gets_a_card_and_helpful_feedback_is_learnt(
    page: Page, live_server: ServerProcess, cod_faq: dict[str, Any], owner: httpx.Client
) -> None:
    open_widget(page, live_server.url)
    page.get_by_test_id("sapa-input").fill(ASKING)
    expect(live_item(page, cod_faq["id"])).to_be_visible(timeout=TIMEOUT)

    mine = send(page, ASKING)

    # Sending hides the live list; the card answers the message that was sent.
    expect(page.get_by_test_id("sapa-faq-live")).to_be_hidden()
    card = card_for(page, mine)
    expect(card).to_be_visible(timeout=TIMEOUT)
    expect(card).to_contain_text("Mungkin ini membantu")
    assert card.evaluate("el => el.previousElementSibling.dataset.id") == mine.get_attribute(
        "data-id"
    )
    row = suggestion(card, cod_faq["id"])
    expect(row).to_contain_text(QUESTION)
    answer = row.get_by_test_id("sapa-suggestion-answer")
    expect(answer).to_be_hidden()

    row.get_by_role("button", name=QUESTION).click()
    expect(answer).to_be_visible()
    expect(answer).to_contain_text(DISTINCT)
    expect(row.get_by_test_id("sapa-feedback-no")).to_have_text("Tidak 👎")
    row.get_by_test_id("sapa-feedback-yes").click()

    done = row.get_by_test_id("sapa-feedback-done")
    expect(done).to_contain_text("Terima kasih!")
    expect(done).to_contain_text("Masih ada pertanyaan?")
    expect(answer).to_be_hidden()  # the card folds
    expect(row.get_by_test_id("sapa-feedback-yes")).to_have_count(0)
    expect(card.get_by_test_id("sapa-suggestion")).to_have_count(1)
    expect(card.get_by_test_id("sapa-suggestion").filter(visible=True)).to_have_count(1)

    # The shopper's message became a learnt phrasing of the entry.
    entry = owner.get(f"/api/v1/faq/{cod_faq['id']}").json()
    learnt = [p["text"] for p in entry["phrasings"] if p["source"] == "learnt"]
    assert ASKING in learnt

    # The card is in memory only, and stays put while the conversation goes on.
    later = send(page, "Oke, makasih kak")
    expect(card).to_be_visible()
    assert later.evaluate("el => el.previousElementSibling.dataset.testid") == "sapa-suggestions"


def test_not_helpful_keeps_the_conversation_open(
    page: Page, live_server: ServerProcess, cod_faq: dict[str, Any]
) -> None:
    open_widget(page, live_server.url)
    mine = send(page, "kak, COD ke Medan bisa nggak?")
    row = suggestion(card_for(page, mine), cod_faq["id"])
    expect(row).to_be_visible(timeout=TIMEOUT)

    row.get_by_role("button", name=QUESTION).click()
    row.get_by_test_id("sapa-feedback-no").click()

    done = row.get_by_test_id("sapa-feedback-done")
    expect(done).to_contain_text("Terima kasih!")
    expect(done).to_contain_text("Tim kami akan segera membalas")
    expect(row.get_by_test_id("sapa-feedback-yes")).to_have_count(0)
    expect(page.get_by_test_id("sapa-input")).to_be_enabled()
    send(page, "Masih mau tanya kak")


def test_a_greeting_gets_no_suggestions(
    page: Page, live_server: ServerProcess, cod_faq: dict[str, Any]
) -> None:
    open_widget(page, live_server.url)
    live = page.get_by_test_id("sapa-faq-live")

    page.get_by_test_id("sapa-input").fill("halo kak")
    # data-q names the query the list last answered: this one was asked, and found nothing.
    expect(live).to_have_attribute("data-q", "halo kak", timeout=TIMEOUT)
    expect(live).to_be_hidden()
    greeting = send(page, "halo kak")

    # A later question does get a card; by then the greeting would have had one too.
    question = send(page, ASKING)
    expect(suggestion(card_for(page, question), cod_faq["id"])).to_be_visible(timeout=TIMEOUT)
    expect(card_for(page, greeting)).to_have_count(0)
    expect(page.get_by_test_id("sapa-suggestions")).to_have_count(1)


def test_only_the_newest_search_fills_the_list(
    page: Page, live_server: ServerProcess, cod_faq: dict[str, Any]
) -> None:
    # The first search's answer is held back and delivered after the second one's.
    # Presence frames (nobody is online in the demo) mark the steps for the test.
    first_query = "metode pembayaran apa saja kak"
    held: dict[str, Any] = {"ref": None, "frame": None}

    def gateway(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_page(raw: str | bytes) -> None:
            frame = json.loads(raw)
            if frame.get("type") == "faq_search" and held["ref"] is None:
                held["ref"] = frame["ref"]
            server.send(raw)

        def from_server(raw: str | bytes) -> None:
            frame = json.loads(raw)
            if held["ref"] is not None and frame.get("ref") == held["ref"]:
                held["frame"] = raw
                ws.send(json.dumps({"type": "presence", "agents_online": 1}))
                return
            ws.send(raw)
            if frame.get("type") == "ack" and "items" in frame and held["frame"]:
                ws.send(held["frame"])  # stale
                held["frame"] = None
                ws.send(json.dumps({"type": "presence", "agents_online": 0}))

        ws.on_message(from_page)
        server.on_message(from_server)

    page.route_web_socket(re.compile(r"/ws/widget$"), gateway)
    open_widget(page, live_server.url)
    panel = page.get_by_test_id("sapa-panel")
    box = page.get_by_test_id("sapa-input")

    box.fill(first_query)
    expect(panel).to_contain_text("Kami sedang online", timeout=TIMEOUT)  # first answer held
    box.fill(ASKING)
    expect(panel).to_contain_text("Kami akan membalas secepatnya", timeout=TIMEOUT)  # stale sent

    live = page.get_by_test_id("sapa-faq-live")
    expect(live).to_have_attribute("data-q", ASKING)
    expect(live_item(page, cod_faq["id"])).to_be_visible()


def test_text_typed_offline_is_searched_once_back_and_cards_survive_a_reconnect(
    page: Page, live_server: ServerProcess, cod_faq: dict[str, Any]
) -> None:
    down = {"on": False}
    live_sockets: list[WebSocketRoute] = []
    searches: list[str] = []

    def gateway(ws: WebSocketRoute) -> None:
        if down["on"]:
            ws.close(code=1012)
            return
        server = ws.connect_to_server()

        def from_page(raw: str | bytes) -> None:
            frame = json.loads(raw)
            if frame.get("type") == "faq_search":
                searches.append(frame["q"])
            server.send(raw)

        ws.on_message(from_page)
        server.on_message(lambda raw: ws.send(raw))
        live_sockets.append(ws)

    # The page's timers run on a fake clock, so that the search's pause is known to
    # have passed while the socket was down.
    page.clock.install()
    page.route_web_socket(re.compile(r"/ws/widget$"), gateway)
    open_widget(page, live_server.url)
    mine = send(page, ASKING)
    card = card_for(page, mine)
    expect(suggestion(card, cod_faq["id"])).to_be_visible(timeout=TIMEOUT)
    searches.clear()

    down["on"] = True
    for ws in live_sockets:
        ws.close(code=1012)
    status = page.get_by_test_id("sapa-status")
    expect(status).not_to_have_attribute("data-state", "connected")
    page.get_by_test_id("sapa-input").fill("COD ke Medan gimana kak")
    page.clock.run_for(1000)
    expect(page.get_by_test_id("sapa-faq-live")).to_be_hidden()
    assert searches == []

    down["on"] = False
    page.evaluate("window.dispatchEvent(new Event('online'))")  # skip the backoff wait
    expect(status).to_have_attribute("data-state", "connected", timeout=TIMEOUT)
    page.clock.run_for(1000)

    expect(live_item(page, cod_faq["id"])).to_be_visible(timeout=TIMEOUT)
    assert searches == ["COD ke Medan gimana kak"]
    # Cards are kept in memory across the reconnect.
    expect(card).to_have_count(1)
    expect(suggestion(card, cod_faq["id"])).to_be_visible()


def test_answer_html_is_kept_to_safe_markup_in_the_widget_too(
    page: Page, live_server: ServerProcess
) -> None:
    # The server sanitises answer_html; the widget keeps a small allowlist of its own.
    # A suggestions frame with hostile HTML is slipped in after the shopper's message.
    hostile = (
        '<p onclick="alert(1)"><strong>Aman</strong> <img src=x onerror="alert(2)">'
        '<script>alert(3)</script><a href="javascript:alert(4)">jahat</a> '
        '<a href="/help/cod" onmouseover="alert(5)">baik</a>'
        "<svg><script>alert(6)</script><style>p{color:red}</style></svg>"
        '<iframe srcdoc="<script>alert(7)</script>"></iframe></p>'
    )
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def gateway(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_server(raw: str | bytes) -> None:
            ws.send(raw)
            frame = json.loads(raw)
            if frame.get("type") == "ack" and "message" in frame:
                message = frame["message"]
                item = {"faq_id": "faq_x", "question": "Tes", "answer": "", "answer_html": hostile}
                ws.send(
                    json.dumps(
                        {
                            "type": "suggestions",
                            "room_id": message["room_id"],
                            "for_message_id": message["id"],
                            "items": [item],
                        }
                    )
                )

        server.on_message(from_server)

    page.on("dialog", on_dialog)
    page.route_web_socket(re.compile(r"/ws/widget$"), gateway)
    open_widget(page, live_server.url)
    mine = send(page, "tes jawaban")
    row = suggestion(card_for(page, mine), "faq_x")
    row.get_by_role("button", name="Tes").click()
    answer = row.get_by_test_id("sapa-suggestion-answer").locator(".answer")

    expect(answer.locator("strong")).to_have_text("Aman")
    tags = answer.evaluate(
        "el => Array.from(el.querySelectorAll('*'), n => n.localName).sort().join(' ')"
    )
    assert tags == "a a p strong"
    names = answer.evaluate(
        "el => Array.from(el.querySelectorAll('*'), n => n.getAttributeNames()).flat()"
    )
    assert set(names) == {"href", "target", "rel"}  # on the good link only
    expect(answer.get_by_text("jahat")).not_to_have_attribute("href", re.compile(r"."))
    expect(answer.get_by_role("link", name="baik")).to_have_attribute(
        "href", f"{live_server.url}/help/cod"
    )
    assert dialogs == []


def test_help_center_link(page: Page, live_server: ServerProcess) -> None:
    open_widget(page, live_server.url)

    link = page.get_by_test_id("sapa-help-link")

    expect(link).to_be_visible()
    expect(link).to_have_text("Pusat bantuan")
    expect(link).to_have_attribute("href", f"{live_server.url}/help/{live_server.site_key}")
    expect(link).to_have_attribute("target", "_blank")
    assert page.request.get(link.get_attribute("href") or "").status == 200


def test_english_labels(page: Page, live_server: ServerProcess, cod_faq: dict[str, Any]) -> None:
    # An English shop page. (Not by routing the page: Chromium's local network checks
    # then block its WebSocket.)
    page.add_init_script(
        """new MutationObserver((_, obs) => {
            if (!document.documentElement) return;
            document.documentElement.lang = 'en';
            obs.disconnect();
        }).observe(document, {childList: true});"""
    )
    open_widget(page, live_server.url)
    page.get_by_test_id("sapa-input").fill(ASKING)
    expect(live_item(page, cod_faq["id"])).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_test_id("sapa-faq-live")).to_contain_text("This might help:")
    expect(page.get_by_test_id("sapa-help-link")).to_have_text("Help center")

    mine = send(page, ASKING)
    card = card_for(page, mine)
    expect(card).to_contain_text("These might help", timeout=TIMEOUT)
    row = suggestion(card, cod_faq["id"])
    row.get_by_role("button", name=QUESTION).click()
    expect(row.get_by_test_id("sapa-feedback-yes")).to_have_text("Helpful 👍")
    row.get_by_test_id("sapa-feedback-no").click()
    expect(row.get_by_test_id("sapa-feedback-done")).to_contain_text("Our team will reply soon")
