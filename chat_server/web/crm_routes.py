"""The customer record over REST, and the widget's identify and pre-chat calls."""

from __future__ import annotations

import json
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from chat_server import errors
from chat_server.domain import crm_rules
from chat_server.domain.models import Customer, Site
from chat_server.domain.origins import origin_allowed
from chat_server.ids import now_iso
from chat_server.services import widget_sessions
from chat_server.web.context import context_of
from chat_server.web.jsonbody import read_json
from chat_server.web.rest import int_param
from chat_server.web.rest_auth import authenticate
from chat_server.web.widget_routes import cors


async def _json(request: Request) -> Any:
    return await read_json(request)


async def widget_caller(request: Request) -> tuple[Site, Customer]:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    ctx = context_of(request)
    found = await widget_sessions.resume(ctx.db, ctx.tokens, token) if token else None
    if found is None:
        raise errors.SapaError(errors.ErrorCode.UNAUTHORIZED, "a widget token is required")
    origin = request.headers.get("origin")
    if origin is not None and not origin_allowed(origin, found[0].domains):
        raise errors.forbidden("origin not allowed for this site")
    return found


def widget_endpoint(handler: Any) -> Any:
    """Widget calls answer CORS on success and on error, so the widget can read refusals."""

    async def endpoint(request: Request) -> Response:
        origin = request.headers.get("origin")
        if request.method == "OPTIONS":
            return cors(Response(status_code=204), origin)
        try:
            response = await handler(request)
        except errors.SapaError as exc:
            response = JSONResponse({"error": exc.as_dict()}, status_code=exc.http_status)
        return cors(response, origin)

    return endpoint


async def identify(request: Request) -> Response:
    site, _ = await widget_caller(request)
    data = await _json(request)
    if not isinstance(data, dict):
        raise errors.bad_request("send a JSON object")
    external_id = crm_rules.external_id(data.get("external_id"))
    user_hash = data.get("user_hash")
    if not isinstance(user_hash, str) or len(user_hash) > 128:
        raise errors.forbidden("identity verification failed")
    profile = crm_rules.profile({k: data.get(k) for k in ("name", "email")})
    # widget_caller gave a signed token its row: identify works on rows alone.
    token = request.headers["authorization"][7:].strip()
    done = await context_of(request).crm.identify(site, token, external_id, user_hash, profile)
    # `fresh`: the token changed because it stood for another known customer; the widget
    # drops everything it held (history, outbox) and carries on with the new token.
    return JSONResponse({"customer_id": done.customer_id, "token": done.token, "fresh": done.fresh})


async def prechat(request: Request) -> Response:
    site, customer = await widget_caller(request)
    data = await _json(request)
    if not isinstance(data, dict):
        raise errors.bad_request("send a JSON object")
    consent = data.get("marketing_consent")
    if consent is not None and not isinstance(consent, bool):
        raise errors.bad_request("'marketing_consent' must be true or false")
    profile = crm_rules.profile({k: data.get(k) for k in ("name", "email")})
    await context_of(request).crm.prechat(site.id, customer.id, profile, consent)
    return JSONResponse({"customer": {"id": customer.id, "name": profile.name or customer.name}})


async def upsert_by_external(request: Request) -> Response:
    viewer = await authenticate(request)
    external_id = crm_rules.external_id(request.path_params["external_id"])
    data = await _json(request)
    if isinstance(data, dict) and "external_id" in data:
        # Echoing the path's id is harmless; naming another customer is a mistake.
        if data.pop("external_id") != external_id:
            raise errors.bad_request("'external_id' differs from the one in the path")
    profile = crm_rules.strict_profile(data, "api", now_iso())
    stored = await context_of(request).crm.upsert_external(viewer, external_id, profile)
    return JSONResponse(stored.to_json())


async def add_order(request: Request) -> Response:
    viewer = await authenticate(request)
    external_id = crm_rules.external_id(request.path_params["external_id"])
    order = crm_rules.order(await _json(request))
    stored, created = await context_of(request).crm.add_order(viewer, external_id, order)
    return JSONResponse(stored.to_json(), status_code=201 if created else 200)


async def list_customers(request: Request) -> Response:
    viewer = await authenticate(request)
    params = request.query_params
    attr = None
    if params.get("attr"):
        key, _, value = params["attr"].partition(":")
        attr = (key, value)
    page = await context_of(request).crm.search(
        viewer,
        q=params.get("q", "")[:200],
        segment=params.get("segment", ""),
        tag=params.get("tag", ""),
        attr=attr,
        limit=int_param(request, "limit", 50, 1, 200),
        offset=int_param(request, "offset", 0, 0, 10_000_000),
    )
    return JSONResponse(page.to_json())


async def one_customer(request: Request) -> Response:
    viewer = await authenticate(request)
    crm, customer_id = context_of(request).crm, request.path_params["customer_id"]
    if request.method == "GET":
        return JSONResponse((await crm.full_record(viewer, customer_id)).to_json())
    if request.method == "DELETE":
        await crm.erase(viewer, customer_id)
        return JSONResponse({"ok": True, "erased": customer_id})
    # Another site's customer is not found, whatever the body says.
    await crm.get(viewer, customer_id)
    # From the console the consent's source is the console; a shop's server says its own.
    source = "api" if request.headers.get("authorization") else "console"
    profile = crm_rules.strict_profile(await _json(request), source, now_iso())
    return JSONResponse((await crm.update(viewer, customer_id, profile)).to_json())


async def add_note(request: Request) -> Response:
    viewer = await authenticate(request)
    data = await _json(request)
    body = data.get("body") if isinstance(data, dict) else None
    note = await context_of(request).crm.add_note(viewer, request.path_params["customer_id"], body)
    return JSONResponse(note.to_json(), status_code=201)


async def timeline(request: Request) -> Response:
    viewer = await authenticate(request)
    found = await context_of(request).crm.timeline(
        viewer, request.path_params["customer_id"], int_param(request, "limit", 500, 1, 5000)
    )
    return JSONResponse(found.to_json())


async def export(request: Request) -> Response:
    viewer = await authenticate(request)
    customer_id = request.path_params["customer_id"]
    ctx = context_of(request)
    data = await ctx.crm.export(viewer, customer_id)
    if request.query_params.get("format") == "zip":
        # The JSON and the customer's files (photos, documents) in one archive.
        archive = await ctx.files.export_zip(viewer.site_id, customer_id, data.to_json())
        return FileResponse(
            archive,
            media_type="application/zip",
            filename=f"customer-{customer_id}.zip",
            background=BackgroundTask(archive.unlink, missing_ok=True),
        )
    return Response(
        json.dumps(data.to_json(), ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="customer-{customer_id}.json"'},
    )


routes = [
    Route("/api/widget/identify", widget_endpoint(identify), methods=["POST", "OPTIONS"]),
    Route("/api/widget/prechat", widget_endpoint(prechat), methods=["POST", "OPTIONS"]),
    Route("/api/v1/customers", list_customers),
    Route("/api/v1/customers/by-external-id/{external_id}", upsert_by_external, methods=["PUT"]),
    Route("/api/v1/customers/by-external-id/{external_id}/orders", add_order, methods=["POST"]),
    Route("/api/v1/customers/{customer_id}", one_customer, methods=["GET", "PATCH", "DELETE"]),
    Route("/api/v1/customers/{customer_id}/notes", add_note, methods=["POST"]),
    Route("/api/v1/customers/{customer_id}/timeline", timeline),
    Route("/api/v1/customers/{customer_id}/export", export),
]
