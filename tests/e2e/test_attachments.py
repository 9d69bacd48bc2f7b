"""Photos and files in the widget and the console, in real Chromium against a real server.

A shopper pastes a photo and attaches a PDF; the agent sees the thumbnail, opens the
photo full size and the PDF; the agent replies with an image the shopper sees and opens.
At desktop size and at a phone's.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests.conftest import ServerProcess, timeout
from tests.e2e.test_console import console_message, login, room_item, unique, wait_for_room

TIMEOUT = timeout(10) * 1000
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 3,
    },
}

# A photo on the clipboard, pasted into the widget's text box (inside its shadow root).
PASTE_PHOTO = """async () => {
  const canvas = document.createElement('canvas');
  canvas.width = 640; canvas.height = 480;
  const g = canvas.getContext('2d');
  g.fillStyle = '#c0392b'; g.fillRect(0, 0, 640, 480);
  const blob = await new Promise((done) => canvas.toBlob(done, 'image/png'));
  const data = new DataTransfer();
  data.items.add(new File([blob], 'image.png', { type: 'image/png' }));
  const box = document.querySelector('#sapa-widget').shadowRoot.querySelector('[data-testid=sapa-input]');
  box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
}"""


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 90, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(params=sorted(SIZES))
def size(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def contexts(browser: Browser, size: str) -> Iterator[tuple[BrowserContext, BrowserContext]]:
    shop = browser.new_context(**SIZES[size])  # type: ignore[arg-type]
    console = browser.new_context(**SIZES[size])  # type: ignore[arg-type]
    for context in (shop, console):
        context.set_default_timeout(TIMEOUT)
    yield shop, console
    shop.close()
    console.close()


def test_a_photo_and_a_pdf_go_both_ways(
    contexts: tuple[BrowserContext, BrowserContext], live_server: ServerProcess, size: str
) -> None:
    shop_context, console_context = contexts
    shop: Page = shop_context.new_page()
    shop.goto(f"{live_server.url}/demo?guest=1")
    shop.get_by_test_id("sapa-launcher").click()
    expect(shop.get_by_test_id("sapa-status")).to_have_attribute("data-state", "connected")
    file_input = shop.get_by_test_id("sapa-file")
    # On a phone the picker offers the camera and the gallery.
    expected_accept = (
        "image/*" if size == "phone" else "image/*,application/pdf,text/plain,.pdf,.txt"
    )
    expect(file_input).to_have_attribute("accept", expected_accept)

    shop.evaluate(PASTE_PHOTO)
    file_input.set_input_files(
        files=[{"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    expect(shop.get_by_test_id("sapa-tray-item")).to_have_count(2)
    text = unique("paketnya rusak")
    shop.get_by_test_id("sapa-input").fill(text)
    shop.get_by_test_id("sapa-send").click()
    sent = shop.get_by_test_id("sapa-message").filter(has_text=text)
    expect(sent).to_have_attribute("data-state", "sent")
    expect(sent.get_by_test_id("sapa-image")).to_have_count(1)
    expect(sent.get_by_test_id("sapa-file-link")).to_have_text("receipt.pdf")
    expect(shop.get_by_test_id("sapa-tray")).to_be_hidden()

    page = console_context.new_page()
    login(page, live_server)
    room_id = wait_for_room(page, text)
    room_item(page, room_id).click()
    message = console_message(page, text)
    thumb = message.get_by_test_id("message-image")
    expect(thumb).to_be_visible()
    page.wait_for_function(
        "el => el.complete && el.naturalWidth > 0", arg=thumb.locator("img").element_handle()
    )
    thumb.click()
    full = page.get_by_test_id("lightbox").locator("img")
    expect(full).to_be_visible()
    page.wait_for_function(
        "el => el.complete && el.naturalWidth === 640", arg=full.element_handle()
    )
    page.get_by_test_id("lightbox-close").click()
    expect(page.get_by_test_id("lightbox")).to_be_hidden()
    link = message.get_by_test_id("message-file")
    with page.expect_popup() as opened:
        link.click()
    pdf = page.request.get(link.evaluate("a => a.href"))
    assert pdf.ok and pdf.body() == PDF
    assert pdf.headers["content-disposition"].startswith("attachment")
    opened.value.close()

    # The agent answers with an image (a size chart), dropped in through the picker.
    page.get_by_test_id("attach-input").set_input_files(
        files=[{"name": "size-chart.png", "mimeType": "image/png", "buffer": png(900, 600)}]
    )
    expect(page.get_by_test_id("attach-item")).to_have_attribute("data-ready", "true")
    answer = unique("ini tabel ukurannya")
    page.get_by_test_id("reply-input").fill(answer)
    page.get_by_test_id("reply-input").press("Enter")
    expect(console_message(page, answer).get_by_test_id("message-image")).to_be_visible()

    reply = shop.get_by_test_id("sapa-message").filter(has_text=answer)
    image = reply.get_by_test_id("sapa-image")
    expect(image).to_be_visible()
    shop.wait_for_function(
        "el => el.complete && el.naturalWidth > 0", arg=image.locator("img").element_handle()
    )
    image.click()
    big = shop.get_by_test_id("sapa-lightbox")
    expect(big).to_be_visible()
    shop.wait_for_function(
        "el => el.complete && el.naturalWidth === 900", arg=big.locator("img").element_handle()
    )
    shop.get_by_test_id("sapa-lightbox-close").click()
    expect(big).to_be_hidden()


def test_a_failed_upload_is_retried_or_shown_with_a_retry_button(
    page: Page, live_server: ServerProcess
) -> None:
    page.goto(f"{live_server.url}/demo?guest=1")
    page.get_by_test_id("sapa-launcher").click()
    expect(page.get_by_test_id("sapa-status")).to_have_attribute("data-state", "connected")
    calls: list[str] = []

    def flaky(route: Route) -> None:
        calls.append(route.request.url)
        if len(calls) == 1:
            route.abort("internetdisconnected")  # offline for a moment: retried
        elif len(calls) == 2:
            route.fulfill(
                status=413,
                content_type="application/json",
                body='{"error": {"code": "too_large", "message": "the file is over 10 bytes"}}',
            )
        else:
            route.continue_()

    page.route("**/api/widget/uploads", flaky)
    page.get_by_test_id("sapa-file").set_input_files(
        files=[{"name": "a.png", "mimeType": "image/png", "buffer": png(50, 50)}]
    )
    text = unique("foto")
    page.get_by_test_id("sapa-input").fill(text)
    page.get_by_test_id("sapa-send").click()
    pending = page.get_by_test_id("sapa-message").filter(has_text=text)
    # The second attempt is refused: the message says so and offers a retry.
    expect(pending).to_have_attribute("data-state", "failed")
    expect(pending.get_by_test_id("sapa-failed-reason")).to_contain_text("over 10 bytes")
    pending.get_by_test_id("sapa-retry").click()
    expect(pending).to_have_attribute("data-state", "sent")
    expect(pending.get_by_test_id("sapa-image")).to_have_count(1)
    assert len(calls) == 3
