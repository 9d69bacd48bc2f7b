"""Teams and labels over REST: `/api/v1/teams`, `/api/v1/labels`, and a conversation's
labels `PUT /api/v1/rooms/{id}/labels` (see docs/protocol.md)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat_server.web.context import context_of
from chat_server.web.jsonbody import read_object
from chat_server.web.rest_auth import authenticate


async def teams(request: Request) -> Response:
    viewer = await authenticate(request)
    service = context_of(request).teams
    if request.method == "POST":
        made = await service.create(viewer, await read_object(request))
        return JSONResponse(made.to_json(), status_code=201)
    return JSONResponse({"items": [t.to_json() for t in await service.all(viewer)]})


async def team(request: Request) -> Response:
    viewer = await authenticate(request)
    service, team_id = context_of(request).teams, request.path_params["team_id"]
    if request.method == "DELETE":
        await service.delete(viewer, team_id)
        return Response(status_code=204)
    changed = await service.update(viewer, team_id, await read_object(request))
    return JSONResponse(changed.to_json())


async def labels(request: Request) -> Response:
    viewer = await authenticate(request)
    service = context_of(request).labels
    if request.method == "POST":
        made = await service.create(viewer, await read_object(request))
        return JSONResponse(made.to_json(), status_code=201)
    return JSONResponse({"items": [x.to_json() for x in await service.all(viewer)]})


async def label(request: Request) -> Response:
    viewer = await authenticate(request)
    service, label_id = context_of(request).labels, request.path_params["label_id"]
    if request.method == "DELETE":
        await service.delete(viewer, label_id)
        return Response(status_code=204)
    changed = await service.update(viewer, label_id, await read_object(request))
    return JSONResponse(changed.to_json())


async def room_labels(request: Request) -> Response:
    viewer = await authenticate(request)
    chosen = await context_of(request).labels.set_room_labels(
        viewer, request.path_params["room_id"], await read_object(request)
    )
    return JSONResponse({"labels": [x.to_json() for x in chosen]})


routes = [
    Route("/api/v1/teams", teams, methods=["GET", "POST"]),
    Route("/api/v1/teams/{team_id}", team, methods=["PATCH", "DELETE"]),
    Route("/api/v1/labels", labels, methods=["GET", "POST"]),
    Route("/api/v1/labels/{label_id}", label, methods=["PATCH", "PUT", "DELETE"]),
    Route("/api/v1/rooms/{room_id}/labels", room_labels, methods=["PUT"]),
]
