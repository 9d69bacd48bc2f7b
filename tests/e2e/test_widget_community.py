"""The Community tab of the shopper widget: public rooms, driven in real browsers.

Two shoppers (two browser contexts) read and post in the demo's default room; the shop's
staff answer and moderate over the agent WebSocket, from Python, as the console would.
Fixtures (tests/e2e/conftest.py): `live_server` is a fresh `sapa serve --demo`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, WebSocketRoute, expect

from tests.conftest import ServerProcess, timeout
from tests.e2e.staff_client import StaffSocket, staff_socket

TIMEOUT = timeout(10) * 1000  # ms
DEFAULT_ROOM = "Tanya Jawab"


@pytest.fixture
def staff(live_server: ServerProcess) -> Iterator[StaffSocket]:
    with staff_socket(live_server) as socket:
        yield socket


@pytest.fixture
def second_page(browser: Browser) -> Iterator[Page]:
    """Another shopper: a browser context of its own (its own storage, its own token)."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT)
    yield context.new_page()
    context.close()


def open_community(page: Page, url: str, reload: bool = False) -> None:
    if reload:
        page.reload()  # the panel was open, so it comes back open
        expect(page.get_by_test_id("sapa-panel")).to_be_visible()
    else:
        page.goto(f"{url}/demo?guest=1")
        page.get_by_test_id("sapa-launcher").click()
    expect(page.get_by_test_id("sapa-status")).to_have_attribute(
        "data-state", "connected", timeout=TIMEOUT
    )
    page.get_by_test_id("sapa-tab-community").click()
    expect(page.get_by_test_id("sapa-tab-community")).to_have_attribute("aria-selected", "true")


def room_row(page: Page, name: str = DEFAULT_ROOM) -> Locator:
    return page.get_by_test_id("sapa-room").filter(has_text=name)


def open_room(page: Page, name: str = DEFAULT_ROOM) -> str:
    row = room_row(page, name)
    room_id = row.get_attribute("data-room-id") or ""
    row.click()
    view = page.get_by_test_id("sapa-room-view")
    expect(view).to_be_visible()
    expect(view).to_contain_text(name)
    return room_id


def room_messages(page: Page) -> Locator:
    return page.get_by_test_id("sapa-room-view").get_by_test_id("sapa-room-message")


def message_with(page: Page, text: str) -> Locator:
    return room_messages(page).filter(has_text=text)


def message_by_id(page: Page, message_id: str) -> Locator:
    return page.get_by_test_id("sapa-room-view").locator(
        f'[data-testid="sapa-room-message"][data-message-id="{message_id}"]'
    )


def post(page: Page, text: str) -> None:
    box = page.get_by_test_id("sapa-room-input")
    box.fill(text)
    box.press("Enter")


def test_shoppers_ask_staff_answer_and_moderate_live(
    page: Page, second_page: Page, live_server: ServerProcess, staff: StaffSocket
) -> None:
    asker, reader = page, second_page
    open_community(asker, live_server.url)
    open_community(reader, live_server.url)
    room_id = open_room(asker)
    assert open_room(reader) == room_id
    # Reading needs no name.
    expect(reader.get_by_test_id("sapa-name-input")).to_be_hidden()

    question = "Ada yang pernah beli Sneakers Kanvas? Ukuran 42 pas di kaki lebar?"
    post(asker, question)

    # Posting asks once for a display name; one that imitates the staff is refused.
    name_box = asker.get_by_test_id("sapa-name-input")
    expect(name_box).to_be_visible()
    name_box.fill("Admin Toko")
    asker.get_by_test_id("sapa-name-save").click()
    error = asker.get_by_test_id("sapa-room-error")
    expect(error).to_contain_text("mirip staf toko")
    expect(error).to_have_attribute("data-code", "forbidden")
    expect(message_with(asker, question)).to_have_count(0)

    name_box.fill("Dewi")
    asker.get_by_test_id("sapa-name-save").click()

    # The waiting text goes out once the name is saved; the other shopper sees it live.
    mine = message_with(asker, question)
    expect(mine).to_have_count(1)
    expect(name_box).to_be_hidden()
    expect(error).to_be_hidden()
    expect(asker.get_by_test_id("sapa-room-input")).to_have_value("")
    seen = message_with(reader, question)
    expect(seen).to_have_count(1)
    expect(seen).to_contain_text("Dewi")
    expect(seen).to_have_attribute("data-author-kind", "customer")
    question_id = seen.get_attribute("data-message-id") or ""
    assert mine.get_attribute("data-message-id") == question_id

    # Staff answer the question: both shoppers see the answer, badged, under a quote of it.
    answer_text = "Halo Kak Dewi, untuk kaki lebar sebaiknya naik satu ukuran (43)."
    answer_id = staff.say(room_id, answer_text, reply_to=question_id)["id"]
    for shopper in (asker, reader):
        answer = message_by_id(shopper, answer_id)
        expect(answer).to_have_count(1)
        expect(answer).to_have_attribute("data-author-kind", "agent")
        expect(answer.get_by_test_id("sapa-staff-badge")).to_have_text("Tim Toko")
        expect(answer).to_contain_text(staff.name)
        quote = answer.get_by_test_id("sapa-reply-to")
        expect(quote).to_contain_text("Dewi")
        expect(quote).to_contain_text("Ukuran 42 pas di kaki lebar")
        # Below its question, which is marked answered.
        assert answer.evaluate(
            "(el, id) => el.parentNode.querySelector(`[data-message-id='${id}']`)"
            ".compareDocumentPosition(el) === Node.DOCUMENT_POSITION_FOLLOWING",
            question_id,
        )
        asked = message_by_id(shopper, question_id)
        expect(asked).to_contain_text("Dijawab Tim Toko")
        expect(asked.get_by_test_id("sapa-staff-badge")).to_have_count(0)

    # A shopper replies to the answer with the Reply action.
    message_by_id(reader, answer_id).get_by_test_id("sapa-reply-btn").click()
    expect(reader.get_by_test_id("sapa-room-view")).to_contain_text("Membalas")
    post(reader, "Makasih infonya!")
    name_box = reader.get_by_test_id("sapa-name-input")
    expect(name_box).to_be_visible()
    name_box.fill("Rudi")
    reader.get_by_test_id("sapa-name-save").click()
    thanks = message_with(asker, "Makasih infonya!")
    expect(thanks).to_have_count(1)
    expect(thanks.get_by_test_id("sapa-reply-to")).to_contain_text("naik satu ukuran")
    expect(thanks).to_contain_text("Rudi")

    # The staff hide the question: it vanishes live from both; the answer no longer quotes it.
    staff.request(
        {"type": "moderate", "room_id": room_id, "message_id": question_id, "action": "hide"}
    )
    for shopper in (asker, reader):
        expect(message_by_id(shopper, question_id)).to_have_count(0)
        quote = message_by_id(shopper, answer_id).get_by_test_id("sapa-reply-to")
        expect(quote).to_have_text("Pesan ini sudah dihapus.")
        expect(quote).not_to_contain_text("Ukuran 42")

    # Pinned by the staff: shown on top of the room.
    staff.request({"type": "room_settings", "room_id": room_id, "pinned_message_id": answer_id})
    pinned = reader.get_by_test_id("sapa-pinned")
    expect(pinned).to_be_visible()
    expect(pinned).to_contain_text("naik satu ukuran")
    expect(pinned).to_have_attribute("data-message-id", answer_id)

    # A reload remembers the name: posting needs no second prompt.
    open_community(asker, live_server.url, reload=True)
    open_room(asker)
    expect(message_by_id(asker, answer_id)).to_have_count(1)
    expect(message_by_id(asker, question_id)).to_have_count(0)
    post(asker, "Siap, saya ambil 43.")
    expect(message_with(reader, "Siap, saya ambil 43.")).to_have_count(1)
    expect(asker.get_by_test_id("sapa-name-input")).to_be_hidden()


def test_unread_counts_slow_mode_and_refusals(
    page: Page, second_page: Page, live_server: ServerProcess, staff: StaffSocket
) -> None:
    reader, writer = page, second_page
    open_community(reader, live_server.url)
    open_community(writer, live_server.url)
    room_id = open_room(writer)
    post(writer, "Halo semua")
    writer.get_by_test_id("sapa-name-input").fill("Putri")
    writer.get_by_test_id("sapa-name-save").click()
    expect(message_with(writer, "Halo semua")).to_have_count(1)

    # The reader is on the room list: new messages count per room and on the tab.
    badge = room_row(reader).get_by_test_id("sapa-room-unread")
    expect(room_row(reader)).to_contain_text("Halo semua")
    expect(badge).to_have_text("1")
    staff.say(room_id, "Selamat datang di Tanya Jawab!")
    expect(badge).to_have_text("2")
    expect(reader.get_by_test_id("sapa-tab-community")).to_contain_text("2")
    reader.get_by_test_id("sapa-tab-chat").click()
    post_text = "Ada promo ongkir?"
    post(writer, post_text)
    reader.get_by_test_id("sapa-tab-community").click()
    expect(badge).to_have_text("3")

    open_room(reader)
    expect(message_with(reader, post_text)).to_have_count(1)
    reader.get_by_test_id("sapa-room-back").click()
    expect(room_row(reader)).to_be_visible()
    expect(badge).to_be_hidden()

    # Slow mode: the second post within the window is refused, and said so by the input.
    staff.request({"type": "room_settings", "room_id": room_id, "slow_mode_seconds": 600})
    post(writer, "Pesan kedua terlalu cepat")
    error = writer.get_by_test_id("sapa-room-error")
    expect(error).to_contain_text("Mode lambat")
    expect(error).to_have_attribute("data-code", "rate_limited")
    expect(writer.get_by_test_id("sapa-room-input")).to_have_value("Pesan kedua terlalu cepat")
    staff.request({"type": "room_settings", "room_id": room_id, "slow_mode_seconds": 0})

    # Muted: refused with the time it ends (the staff find the author by a message of theirs).
    writer_message = message_with(writer, "Halo semua").get_attribute("data-message-id")
    history = staff.request({"type": "sync", "room_id": room_id, "after_seq": 0})["messages"]
    writer_customer = next(m["author"]["id"] for m in history if m["id"] == writer_message)
    staff.request(
        {"type": "mute", "room_id": room_id, "customer_id": writer_customer, "minutes": 30}
    )
    expect(error).to_contain_text("tidak bisa menulis di ruang ini sampai")
    writer.get_by_test_id("sapa-room-send").click()
    expect(error).to_contain_text("sampai")
    expect(message_with(reader, "Pesan kedua terlalu cepat")).to_have_count(0)

    # Archived (owners): read-only, said by the input, for everyone in the room.
    open_room(reader)
    staff.request({"type": "room_settings", "room_id": room_id, "archived": True})
    try:
        for shopper in (reader, writer):
            expect(shopper.get_by_test_id("sapa-room-error")).to_contain_text("diarsipkan")
            expect(shopper.get_by_test_id("sapa-room-input")).to_be_disabled()
        expect(message_with(reader, "Ada promo ongkir?")).to_have_count(1)
    finally:  # the module's later tests use this room
        staff.request({"type": "room_settings", "room_id": room_id, "archived": False})
    expect(reader.get_by_test_id("sapa-room-input")).to_be_enabled()


def test_a_private_reply_while_in_the_community_shows_on_the_chat_tab(
    page: Page, live_server: ServerProcess, staff: StaffSocket
) -> None:
    page.goto(f"{live_server.url}/demo?guest=1")
    page.get_by_test_id("sapa-launcher").click()
    box = page.get_by_test_id("sapa-input")
    box.fill("Kak, pesanan saya kapan dikirim?")
    box.press("Enter")
    mine = page.get_by_test_id("sapa-message").filter(has_text="pesanan saya kapan")
    expect(mine).to_have_attribute("data-state", "sent", timeout=TIMEOUT)
    rooms = staff.http.get("/api/v1/rooms", params={"kind": "private"}).json()["items"]
    room_id = next(r["id"] for r in rooms if "pesanan saya kapan" in r["last_message"]["body"])
    page.get_by_test_id("sapa-tab-community").click()
    expect(page.get_by_test_id("sapa-room").first).to_be_visible()

    staff.say(room_id, "Hari ini dikirim ya Kak")

    chat_tab = page.get_by_test_id("sapa-tab-chat")
    expect(chat_tab).to_contain_text("1")
    chat_tab.click()
    expect(page.get_by_test_id("sapa-message").filter(has_text="Hari ini dikirim")).to_be_visible()
    expect(chat_tab).to_have_text("Chat")


def test_scrolling_up_loads_older_messages_and_new_rooms_appear(
    page: Page, live_server: ServerProcess, staff: StaffSocket
) -> None:
    open_community(page, live_server.url)
    res = staff.http.post("/api/v1/rooms", json={"name": "Info Stok"})
    assert res.status_code in (200, 201), res.text
    room_id = res.json()["id"]
    expect(room_row(page, "Info Stok")).to_be_visible()  # live, from the `room` event

    for n in range(1, 71):
        staff.say(room_id, f"Stok update nomor {n:02d}")
    expect(room_row(page, "Info Stok").get_by_test_id("sapa-room-unread")).to_have_text("70")

    # A later visit: the join brings the newest 50, scrolling up brings the rest.
    open_community(page, live_server.url, reload=True)
    open_room(page, "Info Stok")
    expect(message_with(page, "nomor 70")).to_be_visible()
    expect(room_messages(page)).to_have_count(50)  # what a join answers
    expect(message_with(page, "nomor 01")).to_have_count(0)

    body = page.get_by_test_id("sapa-room-view").locator(".rbody")
    body.evaluate("el => { el.scrollTop = 0; }")
    expect(message_with(page, "nomor 20")).to_have_count(1)
    body.evaluate("el => { el.scrollTop = 0; }")
    expect(message_with(page, "nomor 01")).to_have_count(1)
    expect(room_messages(page)).to_have_count(70)
    seqs = [int(s) for s in room_messages(page).evaluate_all("els => els.map(e => e.dataset.seq)")]
    assert seqs == sorted(seqs)


class Outage:
    """The widget's socket, cut and restored at will: its WebSocket goes through here (made
    before the page opens the widget)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.down = False
        self.live: list[WebSocketRoute] = []
        page.route_web_socket(re.compile(r"/ws/widget$"), self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        if self.down:
            ws.close(code=1012)
            return
        ws.connect_to_server()
        self.live.append(ws)

    def begin(self) -> None:
        self.down = True
        for ws in self.live:
            ws.close(code=1012)
        status = self.page.get_by_test_id("sapa-status")
        expect(status).not_to_have_attribute("data-state", "connected")

    def end(self) -> None:
        self.down = False
        self.page.evaluate("window.dispatchEvent(new Event('online'))")  # skip the backoff wait
        status = self.page.get_by_test_id("sapa-status")
        expect(status).to_have_attribute("data-state", "connected", timeout=TIMEOUT)


def test_reconnect_rejoins_and_catches_up(
    page: Page, live_server: ServerProcess, staff: StaffSocket
) -> None:
    outage = Outage(page)
    open_community(page, live_server.url)
    room_id = open_room(page)
    before = staff.say(room_id, "Sebelum koneksi putus")
    expect(message_with(page, "Sebelum koneksi putus")).to_have_count(1)

    outage.begin()
    staff.say(room_id, "Dikirim saat pembeli offline")
    staff.request(
        {"type": "moderate", "room_id": room_id, "message_id": before["id"], "action": "hide"}
    )

    outage.end()
    expect(message_with(page, "Dikirim saat pembeli offline")).to_have_count(1)
    # Hidden while away: gone after the rejoin too.
    expect(message_with(page, "Sebelum koneksi putus")).to_have_count(0)
    staff.say(room_id, "Setelah tersambung lagi")
    expect(message_with(page, "Setelah tersambung lagi")).to_have_count(1)


def test_what_was_hidden_or_unhidden_while_offline_shows_so_after_reconnect(
    page: Page, live_server: ServerProcess, staff: StaffSocket
) -> None:
    outage = Outage(page)
    open_community(page, live_server.url)
    room_id = open_room(page)
    question = staff.say(room_id, "Soal ongkir ke Bali?")
    staff.say(room_id, "Ongkir ke Bali 20 ribu", reply_to=question["id"])
    spam = staff.say(room_id, "Pesan keliru yang disembunyikan")
    staff.say(room_id, "Keliru, yang benar 25 ribu", reply_to=spam["id"])
    staff.request(
        {"type": "moderate", "room_id": room_id, "message_id": spam["id"], "action": "hide"}
    )
    last = staff.say(room_id, "Pesan terakhir sebelum putus")
    expect(message_with(page, "Pesan terakhir sebelum putus")).to_have_count(1)
    expect(message_with(page, "Pesan keliru yang disembunyikan")).to_have_count(0)
    fix = message_with(page, "Keliru, yang benar 25 ribu")
    expect(fix.get_by_test_id("sapa-reply-to")).to_have_class(re.compile(r"\bgone\b"))

    outage.begin()
    # While away: one message hidden, the other shown again, and a full join page of new
    # ones, so neither is in what the rejoin answers.
    staff.request(
        {"type": "moderate", "room_id": room_id, "message_id": question["id"], "action": "hide"}
    )
    staff.request(
        {"type": "moderate", "room_id": room_id, "message_id": spam["id"], "action": "unhide"}
    )
    for i in range(50):
        staff.say(room_id, f"Kabar baru nomor {i}")

    outage.end()
    expect(message_with(page, "Kabar baru nomor 49")).to_have_count(1)
    expect(message_with(page, "Soal ongkir ke Bali?")).to_have_count(0)
    answer = message_with(page, "Ongkir ke Bali 20 ribu")
    expect(answer.get_by_test_id("sapa-reply-to")).to_have_class(re.compile(r"\bgone\b"))
    back = message_by_id(page, spam["id"])
    expect(back).to_have_count(1)
    expect(fix.get_by_test_id("sapa-reply-to")).to_contain_text("Pesan keliru yang disembunyikan")
    seqs = [int(s) for s in room_messages(page).evaluate_all("els => els.map(e => e.dataset.seq)")]
    assert seqs == sorted(seqs) and spam["seq"] in seqs and last["seq"] in seqs


def test_a_message_unhidden_live_comes_back_with_its_quote(
    page: Page, live_server: ServerProcess, staff: StaffSocket
) -> None:
    open_community(page, live_server.url)
    room_id = open_room(page)
    asked = staff.say(room_id, "Pertanyaan yang sempat disembunyikan")
    staff.say(room_id, "Jawaban atas pertanyaan itu", reply_to=asked["id"])
    staff.say(room_id, "Pesan paling baru")
    answer = message_with(page, "Jawaban atas pertanyaan itu")
    expect(message_with(page, "Pesan paling baru")).to_have_count(1)

    staff.request(
        {"type": "moderate", "room_id": room_id, "message_id": asked["id"], "action": "hide"}
    )
    expect(message_by_id(page, asked["id"])).to_have_count(0)
    expect(answer.get_by_test_id("sapa-reply-to")).to_have_class(re.compile(r"\bgone\b"))

    staff.request(
        {"type": "moderate", "room_id": room_id, "message_id": asked["id"], "action": "unhide"}
    )
    expect(message_by_id(page, asked["id"])).to_have_count(1)
    quote = answer.get_by_test_id("sapa-reply-to")
    expect(quote).to_contain_text("Pertanyaan yang sempat disembunyikan")
    expect(quote).not_to_have_class(re.compile(r"\bgone\b"))


def test_english_labels(page: Page, live_server: ServerProcess) -> None:
    page.add_init_script(
        """new MutationObserver((_, obs) => {
            if (!document.documentElement) return;
            document.documentElement.lang = 'en';
            obs.disconnect();
        }).observe(document, {childList: true});"""
    )
    page.goto(f"{live_server.url}/demo?guest=1")
    page.get_by_test_id("sapa-launcher").click()
    expect(page.get_by_test_id("sapa-tab-community")).to_have_text("Community")
    page.get_by_test_id("sapa-tab-community").click()
    open_room(page)
    expect(page.get_by_test_id("sapa-room-input")).to_have_attribute(
        "placeholder", "Write a question or an answer…"
    )
    post(page, "Hello")
    page.get_by_test_id("sapa-name-input").fill("Shop Official")
    page.get_by_test_id("sapa-name-save").click()
    expect(page.get_by_test_id("sapa-room-error")).to_contain_text("look like the shop staff")


def test_visitors_post_photos_where_the_room_allows_them_and_hiding_withdraws_them(
    page: Page, second_page: Page, live_server: ServerProcess, staff: StaffSocket
) -> None:
    reader, writer = page, second_page
    open_community(reader, live_server.url)
    open_community(writer, live_server.url)
    room_id = open_room(writer)
    open_room(reader)
    attach = writer.get_by_test_id("sapa-room-attach")
    expect(attach).to_be_hidden()  # off by default
    staff.request({"type": "room_settings", "room_id": room_id, "visitor_images": True})
    try:
        expect(attach).to_be_visible()
        out = io.BytesIO()
        Image.new("RGB", (640, 480), (220, 120, 20)).save(out, "PNG")
        # A PDF is the chat's business: here it stays out of the tray, said so.
        writer.get_by_test_id("sapa-room-file").set_input_files(
            [
                {"name": "warna.png", "mimeType": "image/png", "buffer": out.getvalue()},
                {"name": "nota.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n"},
            ]
        )
        expect(writer.get_by_test_id("sapa-room-error")).to_contain_text("hanya foto")
        expect(
            writer.get_by_test_id("sapa-room-tray").get_by_test_id("sapa-tray-item")
        ).to_have_count(1)
        post(writer, "Warnanya beda dengan foto toko")
        writer.get_by_test_id("sapa-name-input").fill("Sari")
        writer.get_by_test_id("sapa-name-save").click()
        expect(writer.get_by_test_id("sapa-room-tray")).to_be_hidden()

        seen = message_with(reader, "Warnanya beda")
        photo = seen.get_by_test_id("sapa-image")
        expect(photo).to_have_count(1)
        expect(photo.locator("img")).to_have_js_property("complete", True)
        assert photo.locator("img").evaluate("img => img.naturalWidth") > 0
        photo.click()
        full = reader.get_by_test_id("sapa-lightbox").locator("img")
        expect(full).to_have_js_property("complete", True)
        assert full.evaluate("img => img.naturalWidth") == 640
        reader.get_by_test_id("sapa-lightbox-close").click()

        # The staff hide it: gone for the visitors, its links with it.
        message_id = seen.get_attribute("data-message-id") or ""
        link = photo.locator("img").get_attribute("src") or ""
        staff.request(
            {"type": "moderate", "room_id": room_id, "message_id": message_id, "action": "hide"}
        )
        expect(message_by_id(reader, message_id)).to_have_count(0)
        assert reader.request.get(link).status == 404
    finally:  # the module's later tests use this room
        staff.request({"type": "room_settings", "room_id": room_id, "visitor_images": False})
    expect(attach).to_be_hidden()
