"""Static files for browsers: content-hashed URLs cached for a year, gzip and brotli, ETags.

Every file is read and hashed once at start-up (the manifest). A page names a file by its
hashed URL (`/console/static/console.3f2a1b9c0d.js`), which never changes meaning and so
is cached as immutable for a year. Console modules import each other by plain relative
names ("./i18n.js"); the import map that `base.html` writes sends those to hashed URLs too.
The plain name (`/console/static/console.js`) stays valid and is revalidated by ETag.

The widget loader `/widget.js` is the URL shops paste into their pages, so it can never be
hashed: it gets a short max-age and an ETag, and carries the hashed URL of the app it loads.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import anyio
import brotli
from jinja2 import Environment
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"  # a plain name: may be kept, but asked about (ETag) before each use
LOADER_CACHE = "public, max-age=300"
MEDIA_TYPES = {
    ".js": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
COMPRESSIBLE = (".js", ".css", ".svg")
HASH_LEN = 10
HASHED = re.compile(rf"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{{{HASH_LEN}}})(?P<ext>\.[a-z0-9]+)$")
# Where the loader learns the app's hashed URL (widget/widget.js keeps it in a string).
APP_PLACEHOLDER = b"__SAPA_APP_URL__"
# Brotli's top qualities cost a second of CPU per 100 KB for 5% fewer bytes; 7 does not.
BROTLI_QUALITY = 7


@dataclass(slots=True)
class Asset:
    name: str
    body: bytes
    media_type: str
    digest: str = ""
    encoded: dict[str, bytes] = field(default_factory=dict)  # filled on first request

    def __post_init__(self) -> None:
        self.digest = hashlib.sha256(self.body).hexdigest()[:HASH_LEN]

    @property
    def hashed_name(self) -> str:
        stem, dot, ext = self.name.rpartition(".")
        return f"{stem}.{self.digest}.{ext}" if dot else f"{self.name}.{self.digest}"

    def etag(self, encoding: str) -> str:
        return f'"{self.digest}-{encoding}"' if encoding != "identity" else f'"{self.digest}"'

    async def body_for(self, encoding: str) -> bytes:
        if encoding == "identity":
            return self.body
        if encoding not in self.encoded:
            # Off the event loop: brotli on 100 KB is tens of milliseconds.
            self.encoded[encoding] = await anyio.to_thread.run_sync(compress, self.body, encoding)
        return self.encoded[encoding]


def compress(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return bytes(brotli.compress(body, quality=BROTLI_QUALITY))
    return gzip.compress(body, compresslevel=9, mtime=0)


def accepted_encoding(header: str | None) -> str:
    """br, else gzip, else identity, as the client's Accept-Encoding allows (q=0 refuses)."""
    allowed: dict[str, float] = {}
    for part in (header or "").split(","):
        token, _, params = part.strip().partition(";")
        q = 1.0
        match = re.search(r"q=([^;\s]*)", params)
        if match:
            try:
                q = float(match.group(1))
            except ValueError:
                q = 0.0
        allowed[token.strip().lower()] = q
    star = allowed.get("*", 0.0)
    for encoding in ("br", "gzip"):
        if allowed.get(encoding, star) > 0:
            return encoding
    return "identity"


def _etag_matches(header: str | None, asset: Asset) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    # Any representation of the same bytes is the same file: a 304 is right for each.
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return any(asset.etag(e) in tags for e in ("identity", "gzip", "br"))


async def serve(request: Request, asset: Asset, cache_control: str) -> Response:
    headers = {"cache-control": cache_control, "vary": "Accept-Encoding"}
    compressible = asset.name.endswith(COMPRESSIBLE)
    encoding = (
        accepted_encoding(request.headers.get("accept-encoding")) if compressible else "identity"
    )
    headers["etag"] = asset.etag(encoding)
    if _etag_matches(request.headers.get("if-none-match"), asset):
        return Response(status_code=304, headers=headers)
    body = await asset.body_for(encoding)
    if encoding != "identity":
        if len(body) >= len(asset.body):  # tiny files: not worth a header
            encoding, body = "identity", asset.body
            headers["etag"] = asset.etag(encoding)
        else:
            headers["content-encoding"] = encoding
    if request.method == "HEAD":
        headers["content-length"] = str(len(body))
        return Response(status_code=200, headers=headers, media_type=asset.media_type)
    return Response(body, headers=headers, media_type=asset.media_type)


class Bundle:
    """The files of one package directory, served under `prefix` by plain or hashed name."""

    def __init__(self, prefix: str, files: dict[str, bytes]) -> None:
        self.prefix = prefix.rstrip("/")
        self.assets: dict[str, Asset] = {}
        for name, body in files.items():
            ext = "." + name.rpartition(".")[2]
            if ext in MEDIA_TYPES:
                self.assets[name] = Asset(name, body, MEDIA_TYPES[ext])

    @classmethod
    def from_package(
        cls, prefix: str, package: str, directory: str, skip: tuple[str, ...] = ()
    ) -> Bundle:
        root = (
            resources.files(package).joinpath(directory) if directory else resources.files(package)
        )
        files = {
            entry.name: entry.read_bytes()
            for entry in root.iterdir()
            if entry.is_file() and entry.name not in skip
        }
        return cls(prefix, files)

    def url(self, name: str) -> str:
        asset = self.assets.get(name)
        if asset is None:
            raise KeyError(f"no static file {name!r} under {self.prefix}")
        return f"{self.prefix}/{asset.hashed_name}"

    def import_map(self) -> dict[str, Any]:
        """Plain module URLs to hashed ones, so modules' relative imports are cached too."""
        return {
            "imports": {
                f"{self.prefix}/{name}": self.url(name)
                for name in sorted(self.assets)
                if name.endswith(".js")
            }
        }

    async def endpoint(self, request: Request) -> Response:
        requested = request.path_params["name"]
        asset = self.assets.get(requested)
        if asset is not None:
            return await serve(request, asset, REVALIDATE)
        match = HASHED.match(requested)
        asset = self.assets.get(f"{match['stem']}{match['ext']}") if match else None
        if asset is None or match is None:
            return Response("not found", status_code=404, media_type="text/plain")
        # An old hash (a page from before a deploy) gets today's file, but only briefly.
        fresh = match["digest"] == asset.digest
        return await serve(request, asset, IMMUTABLE if fresh else REVALIDATE)

    @property
    def route(self) -> BaseRoute:
        return Route(f"{self.prefix}/{{name:str}}", self.endpoint, methods=["GET", "HEAD"])


class StaticAssets:
    """The manifest: the console's files, the widget app, and the widget loader."""

    def __init__(self, console: Bundle, widget: Bundle, loader_source: bytes) -> None:
        self.console = console
        self.widget = widget
        app_url = widget.url("app.js").encode()
        self.loader = Asset(
            "widget.js", loader_source.replace(APP_PLACEHOLDER, app_url), MEDIA_TYPES[".js"]
        )

    @classmethod
    def load(cls) -> StaticAssets:
        console = Bundle.from_package("/console/static", "agent_console", "static")
        widget = Bundle.from_package("/widget", "widget", "", skip=("widget.js",))
        loader = resources.files("widget").joinpath("widget.js").read_bytes()
        return cls(console, widget, loader)

    async def loader_endpoint(self, request: Request) -> Response:
        return await serve(request, self.loader, LOADER_CACHE)

    @property
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/widget.js", self.loader_endpoint, methods=["GET", "HEAD"]),
            self.widget.route,
            self.console.route,
        ]

    def install(self, env: Environment) -> Environment:
        """Template helpers: `asset('console.css')` and `import_map()` for the console."""
        env.globals["asset"] = self.console.url
        env.globals["import_map"] = self._import_map_tag
        return env

    def _import_map_text(self) -> str:
        # json.dumps leaves "<" alone; the URLs are our own file names, but stay safe.
        return json.dumps(self.console.import_map()).replace("<", "\\u003c")

    def _import_map_tag(self) -> Markup:
        return Markup(f'<script type="importmap">{self._import_map_text()}</script>')

    def import_map_csp_source(self) -> str:
        """The import map is an inline script: the pages' CSP allows it by its hash."""
        digest = hashlib.sha256(self._import_map_text().encode()).digest()
        return f"'sha256-{base64.b64encode(digest).decode()}'"
