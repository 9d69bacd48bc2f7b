"""Canned responses over REST: `/api/v1/canned_responses` (see docs/protocol.md)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat_server.web.context import context_of
from chat_server.web.jsonbody import read_object
from chat_server.web.rest_auth import authenticate


async def canned_list(request: Request) -> Response:
    viewer = await authenticate(request)
    service = context_of(request).canned
    if request.method == "POST":
        made = await service.create(viewer, await read_object(request))
        return JSONResponse(made.to_json(), status_code=201)
    room_id = request.query_params.get("room_id") or None
    return JSONResponse({"items": await service.available(viewer, room_id)})


async def canned_item(request: Request) -> Response:
    viewer = await authenticate(request)
    service, canned_id = context_of(request).canned, request.path_params["canned_id"]
    if request.method == "DELETE":
        await service.delete(viewer, canned_id)
        return Response(status_code=204)
    changed = await service.update(viewer, canned_id, await read_object(request))
    return JSONResponse(changed.to_json())


routes = [
    Route("/api/v1/canned_responses", canned_list, methods=["GET", "POST"]),
    Route("/api/v1/canned_responses/{canned_id}", canned_item, methods=["PUT", "DELETE"]),
]
