"""Pages people open in a browser: the help center follows its site, errors are pages in
the reader's language (JSON stays for API clients), and every page has an icon."""

from __future__ import annotations

from pathlib import Path

from chat_server.domain import colors
from chat_server.domain.wording import counted
from chat_server.services import demo
from chat_server.store import agents as agent_store
from chat_server.store import open_database
from tests.server.conftest import Env
from tests.server.test_faq import add_entries, owner_token

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def test_help_center_follows_the_sites_colour_language_and_shop(env: Env) -> None:
    assert env.http is not None
    created = await add_entries(env)  # two Indonesian entries and one English
    key = env.sites["a"].creds.site_key
    saved = await env.http.put("/api/v1/site", json={"color": "#ffcc00"}, headers=owner_token(env))
    assert saved.status_code == 200, saved.text

    index = (await env.http.get(f"/help/{key}")).text
    assert '<html lang="id">' in index
    # Indonesian site: the English entry and its category are not in the list...
    assert "Pengiriman" in index and "Returns" not in index and "refund" not in index
    assert "2 pertanyaan" in index
    # ...but one link away, on the English page.
    english = (await env.http.get(f"/help/{key}", params={"lang": "en"})).text
    assert "Returns" in english and "Pengiriman" not in english and "1 question<" in english
    # The brand colour is the header; text on it and links in it stay readable.
    assert "--accent: #ffcc00" in index
    assert f"--accent-ink: {colors.INK}" in index
    link = colors.darken_for_text("#ffcc00")
    assert f"--accent-text: {link}" in index and colors.contrast(link, "#ffffff") >= 4.5
    # Back to the shop (its first domain) and to the chat there.
    assert 'href="https://shop-a.test/"' in index
    assert 'href="https://shop-a.test/#sapa-open"' in index

    entry = (await env.http.get(f"/help/{key}/{created[2]['id']}")).text
    assert '<html lang="en">' in entry and "Still have a question?" in entry
    # One heading for the page: the question.
    assert entry.count("<h1") == 1


async def test_browsers_get_error_pages_and_api_clients_json(env: Env) -> None:
    assert env.http is not None
    await add_entries(env)
    key = env.sites["a"].creds.site_key

    for path in ("/help/pk_nope", "/console/no-such-page", f"/help/{key}/faq_nope"):
        api = await env.http.get(path)
        assert api.status_code == 404
        assert api.json()["error"]["code"] == "not_found"

    page = await env.http.get("/help/pk_nope", headers={**BROWSER, "accept-language": "en-GB"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in page.text and "Page not found" in page.text
    console = await env.http.get(
        "/console/no-such-page", headers={**BROWSER, "accept-language": "id-ID,id;q=0.9"}
    )
    assert console.status_code == 404 and "Halaman tidak ditemukan" in console.text
    assert 'href="/console"' in console.text
    # A known site's page speaks the site's language, whatever the browser prefers.
    entry = await env.http.get(
        f"/help/{key}/faq_nope", headers={**BROWSER, "accept-language": "en"}
    )
    assert entry.status_code == 404 and '<html lang="id">' in entry.text
    # The APIs stay JSON even for a browser.
    api = await env.http.get("/api/v1/faq/faq_nope", headers={**BROWSER, **owner_token(env)})
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    # Nothing the visitor typed comes back unescaped.
    odd = await env.http.get("/help/<script>x", headers=BROWSER)
    assert odd.status_code == 404 and "<script>x" not in odd.text


async def test_every_page_has_an_icon(env: Env) -> None:
    assert env.http is not None
    for path in ("/favicon.svg", "/favicon.ico"):
        response = await env.http.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("image/svg+xml")
        assert response.text.startswith("<svg")
    key = env.sites["a"].creds.site_key
    assert '<link rel="icon" href="/favicon.svg"' in (await env.http.get(f"/help/{key}")).text
    login = await env.http.get("/console/login")
    assert '<link rel="icon" href="/favicon.svg"' in login.text


def test_counted_words_follow_each_languages_plural_rules() -> None:
    forms_en = {"one": "{n} rating", "other": "{n} ratings"}
    assert counted("en", 1, forms_en) == "1 rating"
    assert counted("en", 0, forms_en) == "0 ratings"
    assert counted("en", 2, forms_en) == "2 ratings"
    assert counted("id", 1, {"other": "{n} penilaian"}) == "1 penilaian"


async def test_demo_agent_has_a_plain_name(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "demo.db"), readers=1)
    await db.open()
    try:
        accounts = await demo.ensure_demo(db, "127.0.0.1")
        names = [a.name for a in await agent_store.list_agents(db, accounts.site_id)]
        assert names and all("(" not in n and "owner" not in n.lower() for n in names)
    finally:
        await db.close()
