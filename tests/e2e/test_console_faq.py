"""The console's FAQ page and the FAQ suggestions in the conversation view,
driven in a real browser against a real `sapa serve --demo`.

The demo server seeds some FAQ entries; these tests never rely on their text
and create their own entries (one server per module, so entries pile up: each
test uses questions about its own town).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.conftest import timeout

TIMEOUT = timeout(10) * 1000
DEMO_AGENT = "rina@demo.sapa"  # `sapa serve --demo`'s agent, same password as the owner


def login(page: Page, server, email: str | None = None) -> None:
    page.goto(f"{server.url}/console/login")
    page.get_by_test_id("login-email").fill(email or server.owner_email)
    page.get_by_test_id("login-password").fill(server.owner_password)
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(re.compile(r"/console/?(#.*)?$"))
    expect(page.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")


def open_faq(page: Page) -> None:
    page.get_by_test_id("nav-faq").click()
    expect(page).to_have_url(re.compile(r"/console/faq(#.*)?$"))
    expect(page.get_by_test_id("nav-faq")).to_have_attribute("aria-current", "page")
    expect(page.locator("#faq-main")).to_have_attribute("aria-busy", "false")


def faq_item(page: Page, text: str) -> Locator:
    return page.get_by_test_id("faq-item").filter(has_text=text)


def create_entry(
    page: Page,
    question: str,
    answer: str,
    *,
    category: str = "",
    tags: str = "",
    status: str = "published",
    phrasings: tuple[str, ...] = (),
) -> str:
    """Creates an entry through the side form; returns its id."""
    page.get_by_test_id("faq-new").click()
    page.get_by_test_id("faq-question").fill(question)
    page.get_by_test_id("faq-answer").fill(answer)
    page.get_by_test_id("faq-category").fill(category)
    page.get_by_test_id("faq-tags").fill(tags)
    page.get_by_test_id("faq-lang").select_option("id")
    page.get_by_test_id("faq-status").select_option(status)
    for text in phrasings:
        page.get_by_test_id("faq-phrasing-input").fill(text)
        page.get_by_test_id("faq-phrasing-add").click()
    page.get_by_test_id("faq-save").click()
    item = faq_item(page, question)
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-status", status)
    expect(page.get_by_test_id("faq-form-status")).not_to_be_empty()
    faq_id = item.get_attribute("data-faq-id")
    assert faq_id
    return faq_id


def test_owner_creates_edits_reorders_and_previews_an_entry(page: Page, live_server) -> None:
    login(page, live_server)
    open_faq(page)
    expect(page.get_by_test_id("faq-item").first).to_be_visible()  # the seeded demo entries

    question = "Berapa lama pengiriman ke Medan?"
    faq_id = create_entry(
        page, question, "2–4 hari kerja.", category="Pengiriman", tags="ongkir, medan"
    )
    item = page.locator(f'[data-testid="faq-item"][data-faq-id="{faq_id}"]')
    expect(item).to_contain_text("Pengiriman")
    expect(item).to_contain_text("#medan")

    # Edit: a new answer, and a phrasing (phrasings of a saved entry save at once).
    page.get_by_test_id("faq-answer").fill("2–4 hari kerja lewat **JNE**.")
    page.get_by_test_id("faq-save").click()
    preview = page.get_by_test_id("faq-answer-preview")
    expect(preview.locator("strong")).to_have_text("JNE")  # the server's sanitised HTML
    page.get_by_test_id("faq-phrasing-input").fill("kirim ke medan berapa hari")
    page.get_by_test_id("faq-phrasing-input").press("Enter")
    phrasing = page.get_by_test_id("faq-phrasing").filter(has_text="kirim ke medan berapa hari")
    expect(phrasing).to_have_attribute("data-source", "manual")
    expect(item).to_contain_text(re.compile(r"1 (frasa|phrasing)"))

    # It survives a reload, straight from the server.
    page.reload()
    item.locator(".faq-item__main").click()
    expect(page.get_by_test_id("faq-answer")).to_have_value("2–4 hari kerja lewat **JNE**.")
    expect(page.get_by_test_id("faq-tags")).to_have_value("ongkir, medan")
    expect(page.get_by_test_id("faq-phrasing")).to_have_count(1)

    # The search box narrows the list on the client.
    total = page.get_by_test_id("faq-item").count()
    page.get_by_test_id("faq-search").fill("medan")
    expect(item).to_be_visible()
    expect(page.get_by_test_id("faq-item")).not_to_have_count(total)
    page.get_by_test_id("faq-search").fill("")
    expect(page.get_by_test_id("faq-item")).to_have_count(total)

    # Reorder: one step up, kept by the server.
    ids = lambda: page.get_by_test_id("faq-item").evaluate_all(  # noqa: E731
        "els => els.map(e => e.dataset.faqId)"
    )
    before = ids().index(faq_id)
    assert before > 0
    item.get_by_test_id("faq-move-up").click()
    expect(page.get_by_test_id("faq-item").nth(before - 1)).to_have_attribute("data-faq-id", faq_id)
    page.reload()
    expect(page.get_by_test_id("faq-item").nth(before - 1)).to_have_attribute("data-faq-id", faq_id)

    # The preview box: a shopper's message finds the entry, with the reasons.
    page.get_by_test_id("faq-preview-input").fill("kak pengiriman ke medan brp lama?")
    top = page.get_by_test_id("faq-preview-item").first
    expect(top).to_have_attribute("data-faq-id", faq_id)
    expect(top.get_by_test_id("faq-preview-score")).to_have_text(re.compile(r"^\d{1,3}%$"))
    expect(top).to_have_attribute("data-above", re.compile(r"^(true|false)$"))
    expect(top.get_by_test_id("faq-matched-term").filter(has_text="medan")).to_have_count(1)
    page.screenshot(path="/tmp/console-faq-test-preview.png")


def test_drafts_are_not_suggested_and_delete_asks_first(page: Page, live_server) -> None:
    login(page, live_server)
    open_faq(page)
    question = "Apakah bisa kirim ke Kupang?"
    faq_id = create_entry(page, question, "Bisa, 6 hari kerja.", tags="kupang", status="draft")
    expect(faq_item(page, question).get_by_test_id("faq-status-badge")).to_have_text(
        re.compile("Draf|Draft")
    )

    page.get_by_test_id("faq-preview-input").fill("kirim ke kupang bisa?")
    # The answer has come (a bar to clear, or no match at all), not just "Looking…".
    expect(page.locator("#faq-preview-status")).to_have_text(
        re.compile(r"Confident from|Yakin mulai|No entry|Tidak ada")
    )
    draft = page.locator(f'[data-testid="faq-preview-item"][data-faq-id="{faq_id}"]')
    expect(draft).to_have_count(0)

    # Publishing it makes it a suggestion.
    page.get_by_test_id("faq-status").select_option("published")
    page.get_by_test_id("faq-save").click()
    expect(faq_item(page, question)).to_have_attribute("data-status", "published")
    expect(page.get_by_test_id("faq-preview-item").first).to_have_attribute("data-faq-id", faq_id)

    # Dismissing the confirm keeps it; accepting deletes it.
    page.once("dialog", lambda d: d.dismiss())
    page.get_by_test_id("faq-delete").click()
    expect(faq_item(page, question)).to_have_count(1)
    page.once("dialog", lambda d: d.accept())
    page.get_by_test_id("faq-delete").click()
    expect(faq_item(page, question)).to_have_count(0)
    page.reload()
    expect(page.locator("#faq-main")).to_have_attribute("aria-busy", "false")
    expect(faq_item(page, question)).to_have_count(0)


def test_owner_imports_a_csv(page: Page, live_server) -> None:
    login(page, live_server)
    open_faq(page)
    result = page.get_by_test_id("faq-import-result")

    bad = "question,answer,category,tags,lang\nBisa kirim ke Ambon?,Bisa.,Pengiriman,,id\n,,,,x\n"
    page.get_by_test_id("faq-import-input").set_input_files(
        files=[{"name": "salah.csv", "mimeType": "text/csv", "buffer": bad.encode()}]
    )
    expect(result).to_have_attribute("data-state", "error")
    expect(result).to_contain_text(re.compile(r"line \d+"))
    expect(faq_item(page, "Bisa kirim ke Ambon?")).to_have_count(0)  # all or nothing

    good = (
        "question,answer,category,tags,lang\n"
        "Bisa kirim ke Ternate?,Bisa kak.,Pengiriman,ternate|maluku,id\n"
        '"Do you ship to Sorong?","Yes, 7 days.",Shipping,"sorong, papua",en\n'
    )
    page.get_by_test_id("faq-import-input").set_input_files(
        files=[{"name": "faq-baru.csv", "mimeType": "text/csv", "buffer": good.encode()}]
    )
    expect(result).to_have_attribute("data-state", "ok")
    expect(result).to_contain_text("2")
    expect(faq_item(page, "Bisa kirim ke Ternate?")).to_have_count(1)
    expect(faq_item(page, "Do you ship to Sorong?")).to_contain_text("EN")

    # Export is a plain link to the server's file.
    expect(page.get_by_test_id("faq-export-csv")).to_have_attribute(
        "href", "/api/v1/faq/export?format=csv"
    )
    response = page.request.get(f"{live_server.url}/api/v1/faq/export?format=csv")
    assert response.ok
    assert "Bisa kirim ke Ternate?" in response.text()


def test_agent_reads_the_faq_without_edit_controls(page: Page, live_server) -> None:
    # tests/conftest.py stops reading the banner at the owner's line, before the agent's.
    login(page, live_server, live_server.agent_email or DEMO_AGENT)
    open_faq(page)
    items = page.get_by_test_id("faq-item")
    expect(items.first).to_be_visible()

    for testid in (
        "faq-new",
        "faq-save",
        "faq-delete",
        "faq-import-input",
        "faq-move-up",
        "faq-move-down",
        "faq-phrasing-input",
        "faq-phrasing-add",
        "faq-question",
    ):
        expect(page.get_by_test_id(testid)).to_have_count(0)

    # The FAQ page keeps the agent's socket, so shoppers still see them online.
    page.wait_for_function(
        """async (email) => {
            const res = await fetch("/api/v1/agents");
            return (await res.json()).items.some((a) => a.email === email && a.online);
        }""",
        arg=live_server.agent_email or DEMO_AGENT,
        polling=200,
    )

    # Reading an entry and trying the preview both work.
    items.first.locator(".faq-item__main").click()
    expect(page.get_by_test_id("faq-detail")).to_be_visible()
    expect(page.get_by_test_id("faq-answer-preview")).not_to_be_empty()
    expect(page.get_by_test_id("faq-save")).to_have_count(0)
    expect(page.get_by_test_id("faq-export-csv")).to_be_visible()
    page.get_by_test_id("nav-conversations").click()
    expect(page).to_have_url(re.compile(r"/console/?(#.*)?$"))


@pytest.fixture
def shopper(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT)
    shop = context.new_page()
    shop.goto(f"{live_server.url}/demo?guest=1")
    shop.get_by_test_id("sapa-launcher").click()
    expect(shop.get_by_test_id("sapa-input")).to_be_visible()
    yield shop
    context.close()


def test_suggestion_goes_from_faq_to_the_shopper(page: Page, shopper: Page, live_server) -> None:
    login(page, live_server)
    open_faq(page)
    answer = "Bisa kak, pengiriman ke Jayapura 5–8 hari kerja lewat Pos Indonesia."
    faq_id = create_entry(
        page,
        "Apakah toko melayani pengiriman ke Jayapura?",
        answer,
        category="Pengiriman",
        tags="jayapura, papua",
    )

    page.get_by_test_id("nav-conversations").click()
    expect(page.get_by_test_id("conn-status")).to_have_attribute("data-state", "online")
    page.get_by_test_id("inbox-tab-unassigned").click()

    asked = "kak bisa kirim ke jayapura ga?"
    shopper.get_by_test_id("sapa-input").fill(asked)
    shopper.get_by_test_id("sapa-send").click()
    row = page.get_by_test_id("inbox-item").filter(has_text=asked)
    expect(row).to_have_count(1)
    row.click()

    panel = page.get_by_test_id("suggestions-panel")
    expect(panel).to_be_visible()
    suggestion = panel.locator(f'[data-testid="suggestion"][data-faq-id="{faq_id}"]')
    expect(suggestion).to_be_visible()
    expect(suggestion.get_by_test_id("suggestion-score")).to_have_text(re.compile(r"^\d{1,3}%$"))
    page.screenshot(path="/tmp/console-faq-suggestions.png")

    # One click fills the reply box, the second sends it.
    suggestion.click()
    expect(page.get_by_test_id("reply-input")).to_have_value(answer)
    expect(suggestion).to_have_attribute("aria-pressed", "true")
    suggestion.click()
    sent = page.get_by_test_id("message").filter(has_text=answer)
    expect(sent).to_have_attribute("data-author-kind", "agent")
    expect(sent).to_have_attribute("data-state", "sent")
    expect(page.get_by_test_id("reply-input")).to_have_value("")

    # The shopper gets it from the agent (not only as the widget's own FAQ card).
    from_agent = shopper.locator('[data-testid="sapa-message"][data-author-kind="agent"]')
    expect(from_agent.filter(has_text="Jayapura 5–8 hari")).to_have_count(1)

    # The reply carried faq_id + for_message_id: the server learnt the wording.
    open_faq(page)
    faq_item(page, "Apakah toko melayani pengiriman ke Jayapura?").locator(
        ".faq-item__main"
    ).click()
    learnt = page.get_by_test_id("faq-phrasing").filter(has_text=asked)
    expect(learnt).to_have_attribute("data-source", "learnt")
    expect(learnt).to_contain_text(re.compile("dipelajari|learnt"))

    # While the agent curates, a new customer message shows beside "Conversations".
    expect(page.get_by_test_id("nav-unread")).to_be_hidden()
    shopper.get_by_test_id("sapa-input").fill("oke kak makasih")
    shopper.get_by_test_id("sapa-send").click()
    expect(page.get_by_test_id("nav-unread")).to_have_text("1")
