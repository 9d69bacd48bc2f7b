"""`GET /api/v1/search?q=&status=&assignee=&team=&label=&from=&to=` (staff and a site's own server)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from chat_server.services import search
from chat_server.web.context import context_of
from chat_server.web.rest_auth import authenticate


async def search_endpoint(request: Request) -> JSONResponse:
    viewer = await authenticate(request)
    params = request.query_params
    items = await search.run(
        context_of(request).db,
        viewer,
        params.get("q"),
        status=params.get("status"),
        assignee=params.get("assignee"),
        since=params.get("from"),
        until=params.get("to"),
        team=params.get("team"),
        label=params.get("label"),
    )
    return JSONResponse({"items": items})


routes = [Route("/api/v1/search", search_endpoint)]
