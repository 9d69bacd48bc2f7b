"""The customer record in the console — the sidebar beside a conversation, the
customers list, a customer's page with the full timeline, export and erasure,
and the settings page — in a real browser against a real `sapa serve --demo`.

Data is seeded through REST the way a shop's own server would send it. The demo
does not print its API token, so the "shop" is the owner's console session
(login JSON → cookie + csrf_token), which has the same owner rights. One server
per module, so customers pile up: every test works with its own unique tag.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.conftest import timeout

TIMEOUT = timeout(10) * 1000
DEMO_AGENT = "rina@demo.sapa"  # `sapa serve --demo`'s agent, same password as the owner


# ---- the shop's side: REST seeding, a shopper, identify -------------------------------


@pytest.fixture(scope="module")
def shop_api(live_server) -> Iterator[httpx.Client]:
    """REST as the shop's server: the owner's console session plus its CSRF token."""
    client = httpx.Client(base_url=live_server.url, timeout=timeout(10))
    r = client.post(
        "/api/v1/auth/login",
        json={"email": live_server.owner_email, "password": live_server.owner_password},
    )
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    yield client
    client.close()


def unique() -> str:
    return uuid.uuid4().hex[:8]


def days_ago(n: float) -> str:
    return (datetime.now(UTC) - timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def seed_customer(
    api: httpx.Client,
    tag: str,
    *,
    name: str | None = None,
    orders: tuple[tuple[float, float], ...] = (),
    tags: tuple[str, ...] = (),
    attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Upserts customer `shop-<tag>` with orders (total, days ago); returns the full record."""
    external_id = f"shop-{tag}"
    r = api.put(
        f"/api/v1/customers/by-external-id/{external_id}",
        json={
            "name": name or f"Dewi Lestari {tag}",
            "email": f"dewi.{tag}@contoh.id",
            "phone": "+62 812 3456 7890",
            "tags": list(tags),
            "attributes": attributes or {},
        },
    )
    assert r.status_code == 200, r.text
    for i, (total, age) in enumerate(orders):
        r = api.post(
            f"/api/v1/customers/by-external-id/{external_id}/orders",
            json={
                "order_id": f"INV-{tag}-{i}",
                "total": total,
                "currency": "IDR",
                "items": [
                    {"sku": "BTK-L", "name": "Kemeja batik", "quantity": 2, "price": total / 2},
                    {"sku": "TAS", "name": "Tas anyaman", "quantity": 1, "price": 0},
                ],
                "placed_at": days_ago(age),
            },
        )
        assert r.status_code == 201, r.text
    return record(api, customer_id_of(api, external_id))


def customer_id_of(api: httpx.Client, external_id: str) -> str:
    r = api.put(f"/api/v1/customers/by-external-id/{external_id}", json={})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def record(api: httpx.Client, customer_id: str) -> dict[str, Any]:
    r = api.get(f"/api/v1/customers/{customer_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


@pytest.fixture
def shopper(browser: Browser, live_server) -> Iterator[Page]:
    """A shopper on the demo shop page with the chat panel open."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT)
    shop = context.new_page()
    shop.goto(f"{live_server.url}/demo?guest=1")
    shop.get_by_test_id("sapa-launcher").click()
    expect(shop.get_by_test_id("sapa-input")).to_be_visible()
    yield shop
    context.close()


def shopper_says(shop: Page, text: str) -> None:
    shop.get_by_test_id("sapa-input").fill(text)
    shop.get_by_test_id("sapa-send").click()
    expect(shop.get_by_test_id("sapa-message").filter(has_text=text)).to_have_attribute(
        "data-state", "sent"
    )


def identify(shop: Page, server, external_id: str) -> str:
    """What the shop's page does once the shopper logs in: POST /api/widget/identify
    with the widget's token and the HMAC of the shop's user id."""
    with closing(sqlite3.connect(server.db_path)) as db:
        secret = db.execute("SELECT identity_secret FROM sites").fetchone()[0]
    raw = shop.evaluate("key => localStorage.getItem(key)", f"sapa:{server.site_key}:token")
    assert raw, "the widget keeps its token in localStorage"
    try:
        token = json.loads(raw)
    except ValueError:
        token = raw
    user_hash = hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()
    r = httpx.post(
        f"{server.url}/api/widget/identify",
        json={"external_id": external_id, "user_hash": user_hash},
        headers={"Authorization": f"Bearer {token}"},
        timeout=timeout(10),
    )
    assert r.status_code == 200, r.text
    return str(r.json()["customer_id"])


# ---- the console -----------------------------------------------------------------------------


def login(page: Page, server, email: str | None = None) -> None:
    page.goto(f"{server.url}/console/login")
    page.get_by_test_id("login-email").fill(email or server.owner_email)
    page.get_by_test_id("login-password").fill(server.owner_password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/console/?(#.*)?$"))
    expect(page.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")
    expect(page.locator("#inbox")).to_have_attribute("aria-busy", "false")


def open_room(page: Page, text: str) -> str:
    page.get_by_test_id("inbox-tab-all").click()
    item = page.get_by_test_id("inbox-item").filter(has_text=text)
    expect(item).to_have_count(1)
    room_id = item.get_attribute("data-room-id")
    assert room_id
    item.click()
    expect(page.get_by_test_id("conversation-header")).to_be_visible()
    return room_id


def sidebar(page: Page) -> Locator:
    return page.get_by_test_id("customer-sidebar")


def sidebar_for(page: Page, customer_id: str) -> Locator:
    box = sidebar(page)
    expect(box).to_have_attribute("data-state", "ready")
    expect(box).to_have_attribute("data-customer-id", customer_id)
    return box


def reload_console(page: Page) -> None:
    """Reload and wait until the sidebar shows the stored record again."""
    page.reload()
    expect(page.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")


# ---- tests -----------------------------------------------------------------------------------


def test_agent_sees_the_customer_beside_the_conversation_and_edits_persist(
    page: Page, shopper: Page, live_server, shop_api: httpx.Client
) -> None:
    tag = unique()
    seeded = seed_customer(
        shop_api,
        tag,
        orders=((1_250_000, 40), (350_000, 12), (725_500, 2)),
        tags=("vip",),
        attributes={"kota": "Bandung"},
    )
    question = f"Kak, kemeja batik ukuran L masih ada? {tag}"
    shopper_says(shopper, question)
    customer_id = identify(shopper, live_server, f"shop-{tag}")
    assert customer_id == seeded["id"]
    expected = record(shop_api, customer_id)

    login(page, live_server, DEMO_AGENT)  # an agent, not the owner: agents edit the record too
    open_room(page, tag)
    box = sidebar_for(page, customer_id)

    expect(box.get_by_test_id("customer-name")).to_have_text(f"Dewi Lestari {tag}")
    expect(box.get_by_test_id("customer-email")).to_have_text(f"dewi.{tag}@contoh.id")
    expect(box.get_by_test_id("customer-external-id")).to_have_text(f"shop-{tag}")
    expect(box.get_by_test_id("customer-segment")).to_have_attribute(
        "data-segment", expected["rfm"]["segment"]
    )
    expect(box.get_by_test_id("customer-segment")).not_to_be_empty()
    expect(box.get_by_test_id("customer-ltv")).to_have_text("Rp2.325.500")
    expect(box.get_by_test_id("customer-orders-count")).to_have_text("3")
    orders = box.get_by_test_id("customer-order")
    expect(orders).to_have_count(3)
    # Newest first, with its total and item count.
    expect(orders.first).to_have_attribute("data-order-id", f"INV-{tag}-2")
    expect(orders.first).to_contain_text("Rp725.500")
    expect(orders.first).to_contain_text(re.compile(r"3 (items|barang)"))
    rooms = box.get_by_test_id("customer-room")
    expect(rooms).to_have_count(1)
    expect(rooms.first).to_have_attribute("data-current", "true")

    # Tag, note and attribute, written by the agent.
    box.get_by_test_id("customer-tag-input").fill("Grosir")
    box.get_by_test_id("customer-tag-add").click()
    expect(box.locator('[data-testid="customer-tag"][data-tag="grosir"]')).to_be_visible()
    expect(box.locator('[data-testid="customer-tag"][data-tag="vip"]')).to_be_visible()
    note = f"Suka batik tulis <b>{tag}</b>, kirim via JNE"
    box.get_by_test_id("customer-note-input").fill(note)
    box.get_by_test_id("customer-note-add").click()
    expect(box.get_by_test_id("customer-note")).to_have_count(1)
    box.get_by_test_id("customer-attr-key").fill("ukuran")
    box.get_by_test_id("customer-attr-value").fill("XL")
    box.get_by_test_id("customer-attr-add").click()
    expect(box.locator('[data-testid="customer-attr"][data-key="ukuran"]')).to_contain_text("XL")
    expect(box.get_by_test_id("customer-error")).to_be_hidden()

    # All of it is stored: a reload shows the same, and the note is text, not HTML.
    reload_console(page)
    box = sidebar_for(page, customer_id)
    expect(box.locator('[data-testid="customer-tag"][data-tag="grosir"]')).to_be_visible()
    expect(box.get_by_test_id("customer-note").locator(".crm-note__body")).to_have_text(note)
    expect(box.get_by_test_id("customer-note")).to_contain_text("Rina")
    expect(box.locator("b")).to_have_count(0)
    expect(box.locator('[data-testid="customer-attr"][data-key="ukuran"]')).to_contain_text("XL")
    stored = record(shop_api, customer_id)
    assert set(stored["tags"]) == {"vip", "grosir"}
    assert stored["attributes"] == {"kota": "Bandung", "ukuran": "XL"}
    assert [n["body"] for n in stored["notes"]] == [note]

    # Removing a tag and an attribute.
    box.locator('[data-testid="customer-tag"][data-tag="vip"]').get_by_test_id(
        "customer-tag-remove"
    ).click()
    expect(box.locator('[data-testid="customer-tag"][data-tag="vip"]')).to_have_count(0)
    box.locator('[data-testid="customer-attr"][data-key="kota"]').get_by_test_id(
        "customer-attr-remove"
    ).click()
    expect(box.locator('[data-testid="customer-attr"][data-key="kota"]')).to_have_count(0)
    stored = record(shop_api, customer_id)
    assert stored["tags"] == ["grosir"]
    assert stored["attributes"] == {"ukuran": "XL"}


def test_sidebar_follows_the_visitor_who_logs_in(
    page: Page, shopper: Page, live_server, shop_api: httpx.Client
) -> None:
    tag = unique()
    known = seed_customer(shop_api, tag, orders=((480_000, 5),))
    first = f"Halo, mau tanya ongkir ke Medan {tag}"
    shopper_says(shopper, first)

    login(page, live_server)
    open_room(page, tag)
    box = sidebar(page)
    expect(box).to_have_attribute("data-state", "ready")
    anonymous_id = box.get_attribute("data-customer-id")
    assert anonymous_id and anonymous_id != known["id"]
    expect(box.get_by_test_id("customer-segment")).to_have_attribute("data-segment", "prospect")
    expect(box.get_by_test_id("customer-name")).to_have_text(re.compile(r"^(Visitor|Pengunjung) "))

    # The shopper logs in on the shop; their next message comes from the known customer.
    assert identify(shopper, live_server, f"shop-{tag}") == known["id"]
    shopper_says(shopper, f"Saya sudah login {tag}")

    box = sidebar_for(page, known["id"])
    expect(box.get_by_test_id("customer-name")).to_have_text(f"Dewi Lestari {tag}")
    expect(box.get_by_test_id("customer-ltv")).to_have_text("Rp480.000")
    expect(box.get_by_test_id("customer-order")).to_have_count(1)


def test_customers_list_filters_by_segment_tag_attribute_and_search(
    page: Page, live_server, shop_api: httpx.Client
) -> None:
    tag = unique()
    buyer = seed_customer(
        shop_api,
        f"{tag}-a",
        name=f"Budi Pembeli {tag}",
        orders=((2_000_000, 3), (150_000, 1)),
        tags=(f"grosir-{tag}",),
        attributes={"kota": f"Medan{tag}"},
    )
    prospect = seed_customer(shop_api, f"{tag}-b", name=f"Citra Prospek {tag}")
    buyer_segment = record(shop_api, buyer["id"])["rfm"]["segment"]
    assert buyer_segment != "prospect"

    login(page, live_server)
    page.get_by_test_id("nav-customers").click()
    expect(page).to_have_url(re.compile(r"/console/customers$"))
    expect(page.get_by_test_id("nav-customers")).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("customers-row").first).to_be_visible()

    rows = page.get_by_test_id("customers-row")
    total = page.get_by_test_id("customers-total")
    page.get_by_test_id("customers-search").fill(tag)
    expect(total).to_have_attribute("data-total", "2")
    expect(rows).to_have_count(2)
    buyer_row = page.locator(f'[data-testid="customers-row"][data-customer-id="{buyer["id"]}"]')
    expect(buyer_row).to_contain_text(f"Budi Pembeli {tag}")
    expect(buyer_row).to_contain_text(f"dewi.{tag}-a@contoh.id")
    expect(buyer_row).to_contain_text("Rp2.150.000")
    expect(buyer_row.get_by_test_id("customers-row-segment")).to_have_attribute(
        "data-segment", buyer_segment
    )

    segment = page.get_by_test_id("customers-segment")
    segment.select_option(buyer_segment)
    expect(total).to_have_attribute("data-total", "1")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-customer-id", buyer["id"])

    segment.select_option("prospect")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-customer-id", prospect["id"])

    segment.select_option("")
    page.get_by_test_id("customers-tag").fill(f"grosir-{tag}")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-customer-id", buyer["id"])
    page.get_by_test_id("customers-tag").fill("")
    page.get_by_test_id("customers-attr").fill(f"kota:Medan{tag}")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-customer-id", buyer["id"])
    page.get_by_test_id("customers-attr").fill("")
    expect(total).to_have_attribute("data-total", "2")

    page.get_by_test_id("customers-search").fill(f"tidak-ada-{tag}")
    expect(total).to_have_attribute("data-total", "0")
    expect(rows).to_have_count(0)
    expect(page.locator("#customers-empty")).to_be_visible()

    # The filters live in the address, and a row opens the customer's page.
    page.get_by_test_id("customers-search").fill(f"Citra Prospek {tag}")
    expect(page).to_have_url(re.compile(r"\?q=Citra"))
    expect(rows).to_have_count(1)
    rows.first.click()
    expect(page).to_have_url(re.compile(rf"/console/customers/{prospect['id']}$"))
    expect(page.get_by_test_id("customer-name")).to_have_text(f"Citra Prospek {tag}")


def test_customer_page_shows_the_full_timeline_and_exports_it(
    page: Page, shopper: Page, live_server, shop_api: httpx.Client
) -> None:
    tag = unique()
    seed_customer(shop_api, tag, orders=((899_000, 3),))
    question = f"Pesanan saya kapan dikirim ya kak? {tag}"
    shopper_says(shopper, question)
    customer_id = identify(shopper, live_server, f"shop-{tag}")

    login(page, live_server)
    open_room(page, tag)
    answer = f"Besok pagi dikirim via JNE kak {tag}"
    box = page.get_by_test_id("reply-input")
    box.fill(answer)
    box.press("Enter")
    expect(page.get_by_test_id("message").filter(has_text=answer)).to_have_attribute(
        "data-state", "sent"
    )

    # From the sidebar to the customer's page.
    sidebar_for(page, customer_id).get_by_test_id("customer-open").click()
    expect(page).to_have_url(re.compile(rf"/console/customers/{customer_id}(#.*)?$"))
    expect(page.get_by_test_id("customer-name")).to_have_text(f"Dewi Lestari {tag}")
    timeline = page.get_by_test_id("timeline")
    items = timeline.get_by_test_id("timeline-item")
    shopper_item = items.filter(has_text=question)
    agent_item = items.filter(has_text=answer)
    order_item = page.locator(f'[data-testid="timeline-item"][data-order-id="INV-{tag}-0"]')
    expect(shopper_item).to_have_attribute("data-kind", "message")
    expect(shopper_item).to_have_attribute("data-author-kind", "customer")
    expect(shopper_item).to_contain_text(re.compile("Private chat|Chat pribadi"))
    expect(agent_item).to_have_attribute("data-author-kind", "agent")
    expect(agent_item).to_contain_text("Sari")
    expect(order_item).to_have_attribute("data-kind", "order")
    expect(order_item).to_contain_text("Rp899.000")
    expect(order_item).to_contain_text("Kemeja batik × 2")

    # Oldest first: the order (3 days ago), then the question, then the answer.
    texts = items.evaluate_all("els => els.map(e => e.dataset.orderId || e.textContent)")
    position = {
        "order": next(i for i, x in enumerate(texts) if x == f"INV-{tag}-0"),
        "question": next(i for i, x in enumerate(texts) if question in x),
        "answer": next(i for i, x in enumerate(texts) if answer in x),
    }
    assert position["order"] < position["question"] < position["answer"], texts

    # Export JSON downloads everything held, the messages included.
    with page.expect_download() as download:
        page.get_by_test_id("customer-export").click()
    assert download.value.suggested_filename == f"customer-{customer_id}.json"
    path = download.value.path()
    assert path is not None
    with open(path, encoding="utf-8") as f:
        exported = json.load(f)
    assert exported["customer"]["id"] == customer_id
    bodies = [item["message"]["body"] for item in exported["timeline"] if item["kind"] == "message"]
    assert question in bodies and answer in bodies
    assert [o["order_id"] for o in exported["orders"]] == [f"INV-{tag}-0"]


def test_owner_erases_a_customer(page: Page, live_server, shop_api: httpx.Client) -> None:
    tag = unique()
    seeded = seed_customer(shop_api, tag, orders=((120_000, 8),), tags=("hapus-saya",))

    login(page, live_server)
    page.goto(f"{live_server.url}/console/customers/{seeded['id']}")
    expect(page.get_by_test_id("customer-name")).to_have_text(f"Dewi Lestari {tag}")
    expect(page.get_by_test_id("customer-ltv")).to_have_text("Rp120.000")

    page.get_by_test_id("customer-erase").click()
    confirm = page.get_by_test_id("customer-erase-confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_be_disabled()
    page.get_by_test_id("customer-erase-input").fill("hapus sekarang")
    expect(confirm).to_be_disabled()
    # Cancel leaves everything as it was.
    page.get_by_test_id("customer-erase-cancel").click()
    expect(confirm).to_be_hidden()
    assert record(shop_api, seeded["id"])["erased"] is False

    page.get_by_test_id("customer-erase").click()
    page.get_by_test_id("customer-erase-input").fill("ERASE")
    expect(confirm).to_be_enabled()
    confirm.click()

    expect(page.get_by_test_id("customer-erased")).to_be_visible()
    expect(page.get_by_test_id("customer-name")).not_to_contain_text(tag)
    expect(page.get_by_test_id("customer-email")).to_have_text("—")
    expect(page.get_by_test_id("customer-erase")).to_be_hidden()
    expect(page.get_by_test_id("customer-tag-input")).to_be_hidden()
    stored = record(shop_api, seeded["id"])
    assert stored["erased"] is True
    assert stored["name"] is None and stored["email"] is None and stored["tags"] == []
    assert shop_api.get("/api/v1/customers", params={"q": tag}).json()["total"] == 0

    # Still erased after a reload.
    page.reload()
    expect(page.get_by_test_id("customer-erased")).to_be_visible()


def test_agent_has_no_erase_button_and_no_settings(
    page: Page, live_server, shop_api: httpx.Client
) -> None:
    tag = unique()
    seeded = seed_customer(shop_api, tag)

    login(page, live_server, DEMO_AGENT)
    expect(page.get_by_test_id("nav-customers")).to_be_visible()
    expect(page.get_by_test_id("nav-settings")).to_have_count(0)
    page.goto(f"{live_server.url}/console/customers/{seeded['id']}")
    expect(page.get_by_test_id("customer-name")).to_have_text(f"Dewi Lestari {tag}")
    expect(page.get_by_test_id("customer-export")).to_be_visible()
    expect(page.get_by_test_id("customer-erase")).to_have_count(0)
    expect(page.get_by_test_id("customer-erase-confirm")).to_have_count(0)
    # The server agrees.
    r = httpx.post(
        f"{live_server.url}/api/v1/auth/login",
        json={"email": DEMO_AGENT, "password": live_server.owner_password},
    )
    agent = httpx.Client(base_url=live_server.url, cookies=r.cookies)
    with agent:
        refused = agent.delete(
            f"/api/v1/customers/{seeded['id']}",
            headers={"X-CSRF-Token": r.json()["csrf_token"]},
        )
    assert refused.status_code == 403


def test_owner_saves_the_greeting_in_settings(page: Page, live_server) -> None:
    login(page, live_server)
    page.get_by_test_id("nav-settings").click()
    expect(page).to_have_url(re.compile(r"/console/settings$"))
    expect(page.get_by_test_id("report-conversations")).to_have_text(re.compile(r"^\d+$"))
    greeting = page.get_by_test_id("settings-greeting")
    expect(page.get_by_test_id("settings-name")).not_to_have_value("")

    text = f"Halo kak! Ada yang bisa kami bantu? {unique()}"
    greeting.fill(text)
    page.get_by_test_id("settings-save").click()
    expect(page.get_by_test_id("settings-saved")).to_be_visible()
    expect(page.get_by_test_id("settings-error")).to_be_hidden()

    page.reload()
    expect(page.get_by_test_id("settings-greeting")).to_have_value(text)
    # The widget greets shoppers with it.
    session = httpx.post(
        f"{live_server.url}/api/widget/session",
        json={"site_key": live_server.site_key},
        timeout=timeout(10),
    ).json()
    assert session["config"]["greeting"] == text
