"""Who the shopper is: `Sapa.identify` and the pre-chat form, in real browsers.

The shop vouches for a logged-in shopper with user_hash = HMAC-SHA256(the site's identity
secret, external_id); the test reads the demo site's secret from its SQLite file, as the
shop's server would hold it. Fixtures: tests/e2e/conftest.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.conftest import ServerProcess, timeout

TIMEOUT = timeout(10) * 1000  # ms

# Page code that records the widget's events, queued before the script loads.
LISTEN = """window.seen = {errors: [], identified: []};
window.Sapa = {q: [
    ['on', 'error', e => window.seen.errors.push(e)],
    ['on', 'identified', e => window.seen.identified.push(e)],
]};"""


def user_hash(server: ServerProcess, external_id: str) -> str:
    with sqlite3.connect(server.db_path) as db:
        (secret,) = db.execute("SELECT identity_secret FROM sites").fetchone()
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


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


@pytest.fixture
def other_device(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT)
    yield context.new_page()
    context.close()


def open_widget(page: Page, url: str) -> None:
    page.goto(f"{url}/demo?guest=1")
    page.get_by_test_id("sapa-launcher").click()
    expect(page.get_by_test_id("sapa-status")).to_have_attribute(
        "data-state", "connected", timeout=TIMEOUT
    )


def send(page: Page, text: str) -> Locator:
    box = page.get_by_test_id("sapa-input")
    box.fill(text)
    box.press("Enter")
    mine = messages(page).filter(has_text=text)
    expect(mine).to_have_attribute("data-state", "sent", timeout=TIMEOUT)
    return mine


def messages(page: Page) -> Locator:
    return page.get_by_test_id("sapa-messages").get_by_test_id("sapa-message")


def token_of(page: Page) -> Any:
    return page.evaluate(
        "() => localStorage.getItem(Object.keys(localStorage).find(k => k.endsWith(':token')))"
    )


def test_identify_with_a_wrong_hash_changes_nothing(page: Page, live_server: ServerProcess) -> None:
    page.add_init_script(LISTEN)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    open_widget(page, live_server.url)
    send(page, "Halo, saya tamu")
    token = token_of(page)

    ok = page.evaluate(
        "Sapa.identify({external_id: 'cust-wrong', user_hash: 'ab'.repeat(32), name: 'Palsu'})"
    )

    assert ok is False
    errors = page.evaluate("window.seen.errors")
    assert [(e["op"], e["code"]) for e in errors] == [("identify", "forbidden")]
    assert page.evaluate("window.seen.identified") == []
    assert token_of(page) == token
    assert len(sockets) == 1  # no reconnect
    expect(page.get_by_test_id("sapa-status")).to_have_attribute("data-state", "connected")
    expect(messages(page)).to_have_count(1)
    send(page, "Masih tamu yang sama")
    expect(messages(page)).to_have_count(2)


def test_identified_conversation_continues_and_follows_to_another_device(
    page: Page, other_device: Page, live_server: ServerProcess, owner: httpx.Client
) -> None:
    external_id = "cust-1001"
    digest = user_hash(live_server, external_id)
    page.add_init_script(LISTEN)
    open_widget(page, live_server.url)
    send(page, "Pesanan #1001 belum sampai")

    ok = page.evaluate(
        "args => Sapa.identify(args)",
        {"external_id": external_id, "user_hash": digest, "name": "Budi Santoso"},
    )

    assert ok is True
    [identified] = page.evaluate("window.seen.identified")
    assert page.evaluate("window.seen.errors") == []
    # The conversation is loaded again from the start, once, and goes on.
    expect(page.get_by_test_id("sapa-status")).to_have_attribute(
        "data-state", "connected", timeout=TIMEOUT
    )
    expect(messages(page)).to_have_count(1)
    send(page, "Nomor resi belum muncul")
    expect(messages(page)).to_have_count(2)
    record = owner.get(f"/api/v1/customers/{identified['customer_id']}").json()
    assert record["external_id"] == external_id
    assert record["name"] == "Budi Santoso"

    # Another device: an anonymous visitor who identifies (queued before the script loads)
    # as the same shopper sees the same conversation, and both see what follows live.
    other_device.add_init_script(
        LISTEN
        + "window.Sapa.q.push(['identify', "
        + json.dumps({"external_id": external_id, "user_hash": digest})
        + "]);"
    )
    other_device.goto(f"{live_server.url}/demo?guest=1")
    other_device.get_by_test_id("sapa-launcher").click()
    other_device.wait_for_function("window.seen.identified.length === 1", timeout=TIMEOUT)
    assert (
        other_device.evaluate("window.seen.identified[0].customer_id") == identified["customer_id"]
    )
    expect(messages(other_device)).to_have_count(2, timeout=TIMEOUT)
    expect(messages(other_device).nth(0)).to_contain_text("Pesanan #1001 belum sampai")
    expect(messages(other_device).nth(1)).to_contain_text("Nomor resi belum muncul")
    expect(messages(other_device).nth(0)).to_have_attribute("data-author-kind", "customer")

    send(other_device, "Saya tulis dari HP")
    expect(messages(page).filter(has_text="Saya tulis dari HP")).to_have_count(1)
    expect(messages(page)).to_have_count(3)


@pytest.fixture
def prechat_on(owner: httpx.Client) -> Iterator[None]:
    """The owner asks for name and email with a consent box; switched off afterwards."""
    settings = {"enabled": True, "fields": ["name", "email"], "consent": True}
    res = owner.put("/api/v1/site", json={"prechat": settings})
    assert res.status_code == 200, res.text
    yield
    owner.put("/api/v1/site", json={"prechat": {**settings, "enabled": False}})


def test_prechat_form_comes_before_the_first_message(
    page: Page, live_server: ServerProcess, owner: httpx.Client, prechat_on: None
) -> None:
    open_widget(page, live_server.url)
    form = page.get_by_test_id("sapa-prechat")
    expect(form).to_be_visible()
    expect(page.get_by_test_id("sapa-input")).to_be_hidden()
    expect(form).to_contain_text("Email (opsional)")
    expect(form.get_by_test_id("sapa-prechat-consent")).not_to_be_checked()
    expect(form).to_contain_text("Saya setuju menerima info promo")
    page.screenshot(path="/tmp/widget-prechat-test.png")

    submit = page.get_by_test_id("sapa-prechat-submit")
    submit.click()
    expect(form).to_contain_text("Nama wajib diisi.")
    expect(page.get_by_test_id("sapa-prechat-name")).to_be_focused()
    page.get_by_test_id("sapa-prechat-name").fill("Siti Rahma")
    page.get_by_test_id("sapa-prechat-email").fill("siti@rahma")
    submit.click()
    expect(form).to_contain_text("Format email belum benar")
    expect(page.get_by_test_id("sapa-prechat-email")).to_have_attribute("aria-invalid", "true")
    page.get_by_test_id("sapa-prechat-email").fill("siti@rahma.id")
    page.get_by_test_id("sapa-prechat-consent").check()
    submit.click()

    expect(form).to_be_hidden()
    expect(page.get_by_test_id("sapa-input")).to_be_visible()
    send(page, "Mau tanya stok batik ukuran L")

    found = owner.get("/api/v1/customers", params={"q": "siti@rahma.id"}).json()["items"]
    assert len(found) == 1
    record = owner.get(f"/api/v1/customers/{found[0]['id']}").json()
    assert record["name"] == "Siti Rahma"
    assert record["email"] == "siti@rahma.id"
    marketing = [c for c in record["consents"] if c["kind"] == "marketing"]
    assert marketing and marketing[0]["granted"] is True
    assert len(record["rooms"]) == 1

    # Asked once: a reload goes straight to the conversation.
    page.reload()  # the panel was open, so it comes back open
    expect(messages(page)).to_have_count(1, timeout=TIMEOUT)
    expect(form).to_be_hidden()
    expect(page.get_by_test_id("sapa-input")).to_be_visible()


def test_prechat_shows_the_servers_refusal(
    page: Page, live_server: ServerProcess, prechat_on: None
) -> None:
    # An address the widget's own check lets through and the server refuses (its domain
    # part is over 190 characters).
    too_long = "agus@" + "b" * 200 + ".id"
    open_widget(page, live_server.url)
    page.get_by_test_id("sapa-prechat-name").fill("Agus")
    page.get_by_test_id("sapa-prechat-email").fill(too_long)
    page.get_by_test_id("sapa-prechat-submit").click()
    form = page.get_by_test_id("sapa-prechat")
    expect(form).to_contain_text("Gagal menyimpan")
    expect(form).to_contain_text("'email' is not an email address")
    expect(page.get_by_test_id("sapa-input")).to_be_hidden()
