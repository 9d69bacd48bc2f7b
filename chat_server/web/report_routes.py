"""Reports for owners and agents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat_server.domain.crm_rules import timestamp
from chat_server.ids import format_time
from chat_server.services import reports
from chat_server.web.context import context_of
from chat_server.web.rest_auth import authenticate


async def summary(request: Request) -> Response:
    viewer = await authenticate(request)
    params = request.query_params
    end = timestamp(params["to"], "to") if params.get("to") else format_time(datetime.now(UTC))
    start = (
        timestamp(params["from"], "from")
        if params.get("from")
        else format_time(datetime.now(UTC) - timedelta(days=30))
    )
    return JSONResponse(await reports.summary(context_of(request).db, viewer.site_id, start, end))


routes = [Route("/api/v1/reports/summary", summary)]
