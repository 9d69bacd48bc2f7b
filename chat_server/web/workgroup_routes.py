"""Teams and labels over REST: `/api/v1/teams`, `/api/v1/labels`, and a conversation's
labels `PUT /api/v1/rooms/{id}/labels` (see docs/protocol.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat_server.domain.access import Viewer
from chat_server.domain.frames import transfer_request
from chat_server.web.context import AppContext, context_of
from chat_server.web.jsonbody import read_object
from chat_server.web.rest_auth import authenticate


class _Item(Protocol):
    def to_json(self) -> dict[str, Any]: ...


class _Collection(Protocol):
    """What teams and labels both offer: a list, and items made, changed and deleted."""

    async def all(self, viewer: Viewer, /) -> Sequence[_Item]: ...
    async def create(self, viewer: Viewer, data: Mapping[str, Any], /) -> _Item: ...
    async def update(self, viewer: Viewer, item_id: str, data: Mapping[str, Any], /) -> _Item: ...
    async def delete(self, viewer: Viewer, item_id: str, /) -> None: ...


Handler = Callable[[Request], Awaitable[Response]]


def _list_and_create(service_of: Callable[[AppContext], _Collection]) -> Handler:
    async def handler(request: Request) -> Response:
        viewer = await authenticate(request)
        service = service_of(context_of(request))
        if request.method == "POST":
            made = await service.create(viewer, await read_object(request))
            return JSONResponse(made.to_json(), status_code=201)
        return JSONResponse({"items": [x.to_json() for x in await service.all(viewer)]})

    return handler


def _change_and_delete(service_of: Callable[[AppContext], _Collection]) -> Handler:
    async def handler(request: Request) -> Response:
        viewer = await authenticate(request)
        service, item_id = service_of(context_of(request)), request.path_params["item_id"]
        if request.method == "DELETE":
            await service.delete(viewer, item_id)
            return Response(status_code=204)
        changed = await service.update(viewer, item_id, await read_object(request))
        return JSONResponse(changed.to_json())

    return handler


async def room_labels(request: Request) -> Response:
    viewer = await authenticate(request)
    chosen = await context_of(request).labels.set_room_labels(
        viewer, request.path_params["room_id"], await read_object(request)
    )
    return JSONResponse({"labels": [x.to_json() for x in chosen]})


async def room_transfer(request: Request) -> Response:
    """The `transfer` frame over REST, for a shop's own server too (a shopper on the
    checkout page goes to the payments team, say)."""
    viewer = await authenticate(request)
    command = transfer_request(request.path_params["room_id"], await read_object(request))
    room = await context_of(request).chat.hand_over(viewer, command)
    return JSONResponse({"room": room.as_dict()})


def _teams(ctx: AppContext) -> _Collection:
    return ctx.teams


def _labels(ctx: AppContext) -> _Collection:
    return ctx.labels


routes = [
    Route("/api/v1/teams", _list_and_create(_teams), methods=["GET", "POST"]),
    Route("/api/v1/teams/{item_id}", _change_and_delete(_teams), methods=["PATCH", "DELETE"]),
    Route("/api/v1/labels", _list_and_create(_labels), methods=["GET", "POST"]),
    Route(
        "/api/v1/labels/{item_id}", _change_and_delete(_labels), methods=["PATCH", "PUT", "DELETE"]
    ),
    Route("/api/v1/rooms/{room_id}/labels", room_labels, methods=["PUT"]),
    Route("/api/v1/rooms/{room_id}/transfer", room_transfer, methods=["POST"]),
]
