"""Request bodies as JSON, through the one decoder the sockets use too (domain/json_input.py)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from chat_server import errors
from chat_server.domain import json_input


async def read_json(request: Request) -> Any:
    """The body's JSON value; anything else is a 400 `bad_request`, never a 500."""
    return json_input.decode(await request.body())


async def read_object(request: Request, what: str = "a JSON object") -> dict[str, Any]:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise errors.bad_request(f"send {what}")
    return data
