"""Error pages for people: a browser that navigates to a missing page gets HTML in its
language; API clients (fetch, curl, the widget, the console's own requests) keep JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse

from chat_server.web.context import context_of

LANGS = ("id", "en")

TEXT: dict[str, dict[str, str]] = {
    "id": {
        "404": "Halaman tidak ditemukan",
        "404.body": "Alamat ini tidak ada, atau sudah dipindahkan. Periksa tautannya.",
        "other": "Ada yang tidak beres",
        "other.body": "Permintaan ini tidak bisa dilayani. Coba lagi sebentar lagi.",
        "home": "Ke konsol Sapa",
    },
    "en": {
        "404": "Page not found",
        "404.body": "This address does not exist, or it has moved. Check the link.",
        "other": "Something went wrong",
        "other.body": "This request could not be served. Try again in a moment.",
        "home": "Go to the Sapa console",
    },
}


@dataclass(frozen=True, slots=True)
class ErrorPage:
    lang: str
    status: int
    title: str
    body: str
    home_text: str
    home_url: str | None


def wants_html(request: Request) -> bool:
    """A browser navigating (Accept names text/html before any JSON), outside the APIs."""
    path = request.url.path
    if path.startswith(("/api/", "/ws/")):
        return False
    accept = request.headers.get("accept", "").lower()
    html_at = accept.find("text/html")
    if html_at < 0:
        return False
    json_at = accept.find("application/json")
    return json_at < 0 or html_at < json_at


def page_lang(request: Request) -> str:
    """The site's language when the page belongs to a known site (the help center sets it),
    else the browser's first supported Accept-Language, else Indonesian."""
    site_lang = getattr(request.state, "page_lang", None)
    if site_lang in LANGS:
        return str(site_lang)
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";", 1)[0].strip().lower()
        base = tag.split("-", 1)[0]
        if base in LANGS:
            return base
    return "id"


def error_page(request: Request, status: int) -> HTMLResponse:
    lang = page_lang(request)
    text = TEXT[lang]
    kind = "404" if status == 404 else "other"
    page = ErrorPage(
        lang=lang,
        status=status,
        title=text[kind],
        body=text[f"{kind}.body"],
        home_text=text["home"],
        # Shoppers reach help pages; the console link is for agents who mistyped a console path.
        home_url="/console" if request.url.path.startswith("/console") else None,
    )
    html = context_of(request).templates.get_template("error.html").render(asdict(page))
    return HTMLResponse(html, status_code=status)
