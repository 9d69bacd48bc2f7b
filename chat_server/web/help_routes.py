"""The public help center: a site's published FAQ as plain pages, readable without JavaScript.

Pages follow the site: its brand colour, its language (entries in other languages are
listed on the other language's page), and links back to its shop and to the chat there."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from chat_server import errors
from chat_server.domain import colors
from chat_server.domain.access import Viewer
from chat_server.domain.markdown import render_answer
from chat_server.domain.models import Site
from chat_server.domain.wording import counted
from chat_server.services import sites
from chat_server.web.context import context_of

TEXT = {
    "id": {
        "title": "Pusat Bantuan",
        "search": "Cari jawaban…",
        "button": "Cari",
        "results": "Hasil untuk",
        "none": "Belum ada jawaban yang cocok. Tanyakan langsung lewat chat di toko kami.",
        "back": "Semua pertanyaan",
        "other": "Lainnya",
        "shop": "Kembali ke toko",
        "chat": "Chat dengan kami",
        "switch": "English",
        "count.other": "{n} pertanyaan",
        "found.other": "{n} jawaban untuk",
        "nav": "Tautan toko",
        "more": "Masih ada pertanyaan?",
    },
    "en": {
        "title": "Help Center",
        "search": "Search for answers…",
        "button": "Search",
        "results": "Results for",
        "none": "No matching answer yet. Ask us in the chat on our shop.",
        "back": "All questions",
        "other": "Other",
        "shop": "Back to the shop",
        "chat": "Chat with us",
        "switch": "Bahasa Indonesia",
        "count.one": "{n} question",
        "count.other": "{n} questions",
        "found.one": "{n} answer for",
        "found.other": "{n} answers for",
        "nav": "Shop links",
        "more": "Still have a question?",
    },
}


@dataclass(frozen=True, slots=True)
class HelpSite:
    """What every help page shows of its site: name, colours, language, shop links."""

    name: str
    key: str
    lang: str
    text: dict[str, str]
    accent: str  # the brand colour, as a background
    accent_ink: str  # text on the brand colour
    accent_text: str  # the brand colour darkened until it reads on white
    shop_url: str | None
    chat_url: str | None
    # The same help center in the other language, when it has entries.
    switch_url: str | None = None


@dataclass(frozen=True, slots=True)
class HelpIndexPage:
    site: HelpSite
    query: str = ""
    count_text: str = ""
    categories: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] | None = None
    results_text: str = ""


@dataclass(frozen=True, slots=True)
class HelpEntryPage:
    site: HelpSite
    question: str
    answer_html: Markup
    category: str


# A shopper opening the shop with this hash gets the chat panel opened by the widget.
CHAT_HINT = "#sapa-open"
LANGS = ("id", "en")


def shop_url(domains: tuple[str, ...]) -> str | None:
    """The shop's home page from its first allowed domain (a wildcard names its parent)."""
    plain = [d for d in domains if not d.startswith("*.")] or [d[2:] for d in domains]
    if not plain:
        return None
    host = plain[0].strip().lower()
    local = host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost")
    return f"{'http' if local else 'https'}://{host}/"


def help_site(request: Request, site: Site, lang: str, other_lang: bool) -> HelpSite:
    ctx = context_of(request)
    # The demo shop lives on this server; any other shop on its own first domain.
    home = "/demo" if site.site_key == ctx.demo_site_key else shop_url(site.domains)
    accent = colors.brand(site.color)
    other = "en" if lang == "id" else "id"
    return HelpSite(
        name=site.name,
        key=site.site_key,
        lang=lang,
        text=TEXT[lang],
        accent=accent,
        accent_ink=colors.ink_on(accent),
        accent_text=colors.darken_for_text(accent),
        shop_url=home,
        chat_url=f"{home}{CHAT_HINT}" if home else None,
        switch_url=f"/help/{site.site_key}?lang={other}" if other_lang else None,
    )


def page_language(request: Request, site: Site) -> str:
    """?lang= when it names a language Sapa speaks, else the site's language."""
    asked = request.query_params.get("lang", "")
    if asked in LANGS:
        return asked
    return site.locale if site.locale in LANGS else "en"


async def _site_and_entries(request: Request) -> tuple[Site, list[Any]]:
    ctx = context_of(request)
    site = await sites.by_key(ctx.db, request.path_params["site_key"])
    if site is None:
        raise errors.not_found("help center")
    # An error page further on speaks the site's language (errors_html.page_lang).
    request.state.page_lang = page_language(request, site)
    reader = Viewer(site.id, "customer", "help-center", "help center")
    entries = [e for e in await ctx.faq.entries(reader) if e.status == "published"]
    return site, entries


def _render(request: Request, template: str, page: Any) -> Response:
    # asdict() would turn the nested HelpSite into a dict too; Jinja reads either.
    fields = {name: getattr(page, name) for name in page.__dataclass_fields__}
    html = context_of(request).templates.get_template(template).render(fields)
    return HTMLResponse(html)


async def help_index(request: Request) -> Response:
    ctx = context_of(request)
    site, every = await _site_and_entries(request)
    lang = page_language(request, site)
    entries = [e for e in every if (e.lang or "id") == lang]
    text = TEXT[lang]
    query = request.query_params.get("q", "").strip()[:200]
    results = None
    if query:
        by_id = {e.id: e for e in entries}
        found, threshold = await ctx.faq.suggest(site.id, query, 10)
        results = [
            {"id": s["faq_id"], "question": s["question"]}
            for s in found
            if s["score"] >= threshold * 0.6 and s["faq_id"] in by_id
        ]
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for entry in entries:
        grouped[entry.category or text["other"]].append(
            {"id": entry.id, "question": entry.question}
        )
    forms = {k.split(".", 1)[1]: v for k, v in text.items() if k.startswith("count.")}
    found_forms = {k.split(".", 1)[1]: v for k, v in text.items() if k.startswith("found.")}
    page = HelpIndexPage(
        help_site(request, site, lang, len(entries) < len(every)),
        query,
        counted(lang, len(entries), forms),
        [{"name": name, "entries": items} for name, items in grouped.items()],
        results,
        counted(lang, len(results), found_forms) if results is not None else "",
    )
    return _render(request, "help_index.html", page)


async def help_entry(request: Request) -> Response:
    site, entries = await _site_and_entries(request)
    entry = next((e for e in entries if e.id == request.path_params["faq_id"]), None)
    if entry is None:
        raise errors.not_found("question")
    # An entry's page speaks the entry's language, whatever the site's is.
    lang = entry.lang if entry.lang in LANGS else page_language(request, site)
    page = HelpEntryPage(
        help_site(request, site, lang, False),
        entry.question,
        Markup(render_answer(entry.answer)),  # rendered with raw HTML off: safe
        entry.category,
    )
    return _render(request, "help_entry.html", page)


routes = [
    Route("/help/{site_key}", help_index),
    Route("/help/{site_key}/{faq_id}", help_entry),
]
