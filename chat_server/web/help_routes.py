"""The public help center: a site's published FAQ as plain pages, readable without JavaScript."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from chat_server import errors
from chat_server.domain.access import Viewer
from chat_server.domain.markdown import render_answer
from chat_server.store import sites as site_store
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
    },
    "en": {
        "title": "Help Center",
        "search": "Search for answers…",
        "button": "Search",
        "results": "Results for",
        "none": "No matching answer yet. Ask us in the chat on our shop.",
        "back": "All questions",
        "other": "Other",
    },
}


@dataclass(frozen=True, slots=True)
class HelpIndexPage:
    site_name: str
    site_key: str
    lang: str
    text: dict[str, str]
    query: str = ""
    categories: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class HelpEntryPage:
    site_name: str
    site_key: str
    lang: str
    text: dict[str, str]
    question: str
    answer_html: Markup
    category: str


async def _site_and_entries(request: Request) -> tuple[Any, list[Any]]:
    ctx = context_of(request)
    site = await site_store.get_site_by_key(ctx.db, request.path_params["site_key"])
    if site is None:
        raise errors.not_found("help center")
    reader = Viewer(site.id, "customer", "help-center", "help center")
    entries = [e for e in await ctx.faq.entries(reader) if e.status == "published"]
    return site, entries


def _render(request: Request, template: str, page: Any) -> Response:
    html = context_of(request).templates.get_template(template).render(asdict(page))
    return HTMLResponse(html)


async def help_index(request: Request) -> Response:
    ctx = context_of(request)
    site, entries = await _site_and_entries(request)
    text = TEXT.get(site.locale, TEXT["en"])
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
    page = HelpIndexPage(
        site.name,
        site.site_key,
        site.locale,
        text,
        query,
        [{"name": name, "entries": items} for name, items in grouped.items()],
        results,
    )
    return _render(request, "help_index.html", page)


async def help_entry(request: Request) -> Response:
    site, entries = await _site_and_entries(request)
    entry = next((e for e in entries if e.id == request.path_params["faq_id"]), None)
    if entry is None:
        raise errors.not_found("question")
    text = TEXT.get(site.locale, TEXT["en"])
    page = HelpEntryPage(
        site.name,
        site.site_key,
        site.locale,
        text,
        entry.question,
        Markup(render_answer(entry.answer)),  # rendered with raw HTML off: safe
        entry.category,
    )
    return _render(request, "help_entry.html", page)


routes = [
    Route("/help/{site_key}", help_index),
    Route("/help/{site_key}/{faq_id}", help_entry),
]
