"""Public rooms over REST (owners): create, change settings, FAQ drafts from questions.

Listing stays in rest.py (`GET /api/v1/rooms?kind=public`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat_server.domain.public_rooms import room_changes
from chat_server.services.faq import entry_view
from chat_server.services.public_rooms import require_owner
from chat_server.web.context import context_of
from chat_server.web.jsonbody import read_object
from chat_server.web.rest_auth import authenticate


async def _object(request: Request) -> dict[str, object]:
    return await read_object(request)


async def create_room(request: Request) -> Response:
    viewer = await authenticate(request)
    data = await _object(request)
    room = await context_of(request).rooms.create(viewer, data.get("name"))
    return JSONResponse(room.as_dict(), status_code=201)


async def update_room(request: Request) -> Response:
    viewer = await authenticate(request)
    require_owner(viewer, "change rooms")
    changes = room_changes(await _object(request))
    room = await context_of(request).rooms.update(viewer, request.path_params["room_id"], changes)
    return JSONResponse(room.as_dict())


async def faq_from_question(request: Request) -> Response:
    viewer = await authenticate(request)
    entry = await context_of(request).rooms.faq_from_question(
        viewer, request.path_params["room_id"], request.path_params["message_id"]
    )
    return JSONResponse(entry_view(entry), status_code=201)


routes = [
    Route("/api/v1/rooms", create_room, methods=["POST"]),
    Route("/api/v1/rooms/{room_id}", update_room, methods=["PATCH"]),
    Route("/api/v1/rooms/{room_id}/messages/{message_id}/faq", faq_from_question, methods=["POST"]),
]
