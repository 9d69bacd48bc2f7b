"""REST endpoints for agents, owners and a shop's own server."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from chat_server import errors
from chat_server.services.presence import roster
from chat_server.web.context import context_of
from chat_server.web.jsonbody import read_json
from chat_server.web.rest_auth import authenticate

ROOM_KINDS = {"private", "public"}
ROOM_STATUSES = {"queued", "assigned", "resolved", "open"}


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise errors.bad_request(f"'{name}' must be an integer") from None
    if not low <= value <= high:
        raise errors.bad_request(f"'{name}' must be from {low} to {high}")
    return value


async def list_rooms(request: Request) -> JSONResponse:
    viewer = await authenticate(request)
    params = request.query_params
    kind, status, assignee = params.get("kind"), params.get("status"), params.get("assignee")
    if kind and kind not in ROOM_KINDS:
        raise errors.bad_request("'kind' must be private or public")
    if status and status not in ROOM_STATUSES:
        raise errors.bad_request("'status' must be queued, assigned, resolved or open")
    if assignee == "me":
        assignee = viewer.id
    snoozed = params.get("snoozed")
    if snoozed not in (None, "true", "false"):
        raise errors.bad_request("'snoozed' must be true or false")
    rooms = await context_of(request).chat.list_rooms(
        viewer,
        kind=kind,
        status=status,
        assignee=assignee,
        snoozed=None if snoozed is None else snoozed == "true",
        limit=int_param(request, "limit", 500, 1, 1000),
        team=params.get("team") or None,
        label=params.get("label") or None,
    )
    return JSONResponse({"items": [r.as_dict() for r in rooms]})


async def get_room(request: Request) -> JSONResponse:
    viewer = await authenticate(request)
    room = await context_of(request).labels.room_view(viewer, request.path_params["room_id"])
    return JSONResponse(room.as_dict())


async def snooze_room(request: Request) -> JSONResponse:
    """PUT {"until": time | null} snoozes; DELETE wakes the conversation now."""
    viewer = await authenticate(request)
    chat, room_id = context_of(request).chat, request.path_params["room_id"]
    if request.method == "DELETE":
        return JSONResponse((await chat.unsnooze(viewer, room_id)).as_dict())
    body = await read_json(request)
    if not isinstance(body, dict) or set(body) != {"until"}:
        raise errors.bad_request('the body must be {"until": time | null}')
    return JSONResponse((await chat.snooze(viewer, room_id, body["until"])).as_dict())


async def room_messages(request: Request) -> JSONResponse:
    viewer = await authenticate(request)
    messages, has_more = await context_of(request).chat.sync(
        viewer,
        request.path_params["room_id"],
        int_param(request, "after_seq", 0, 0, 2**62),
        int_param(request, "limit", 100, 1, 200),
    )
    return JSONResponse({"items": [m.as_dict("s") for m in messages], "has_more": has_more})


async def room_suggestions(request: Request) -> JSONResponse:
    viewer = await authenticate(request)
    found = await context_of(request).faq.room_suggestions(viewer, request.path_params["room_id"])
    return JSONResponse(found)


async def room_activity(request: Request) -> JSONResponse:
    viewer = await authenticate(request)
    items = await context_of(request).chat.activity(
        viewer, request.path_params["room_id"], int_param(request, "limit", 200, 1, 1000)
    )
    return JSONResponse({"items": [item.to_json() for item in items]})


async def list_agents(request: Request) -> JSONResponse:
    viewer = await authenticate(request)
    ctx = context_of(request)
    items = await roster(ctx.db, ctx.presence, viewer.site_id)
    caps = await ctx.routing.caps(viewer.site_id)
    return JSONResponse({"items": [{**a, "cap": caps.get(a["id"])} for a in items]})


routes = [
    Route("/api/v1/rooms", list_rooms),
    Route("/api/v1/rooms/{room_id}", get_room),
    Route("/api/v1/rooms/{room_id}/snooze", snooze_room, methods=["PUT", "DELETE"]),
    Route("/api/v1/rooms/{room_id}/messages", room_messages),
    Route("/api/v1/rooms/{room_id}/suggestions", room_suggestions),
    Route("/api/v1/rooms/{room_id}/activity", room_activity),
    Route("/api/v1/agents", list_agents),
]
