"""The Sapa icon for every page the server renders (console, help center, demo shop), so
browsers stop asking for a missing /favicon.ico on each load."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# A speech bubble with an "S" in the console's accent colour.
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    b'<path d="M6 3h20a4 4 0 0 1 4 4v13a4 4 0 0 1-4 4H14l-7 6v-6H6a4 4 0 0 1-4-4V7a4 4 0 0 1 4-4z"'
    b' fill="#0f766e"/>'
    b'<text x="16" y="19.5" font-family="system-ui,sans-serif" font-size="15" font-weight="700"'
    b' fill="#fff" text-anchor="middle">S</text></svg>'
)


async def favicon(request: Request) -> Response:
    # /favicon.ico serves the SVG too: browsers sniff the type, and a page without an
    # icon link (the demo shop) asks for /favicon.ico.
    return Response(
        SVG, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


routes = [Route("/favicon.svg", favicon), Route("/favicon.ico", favicon)]
