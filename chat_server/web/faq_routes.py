"""FAQ REST endpoints: agents read, owners and API tokens write."""

from __future__ import annotations

import json
from collections import Counter

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat_server import errors
from chat_server.domain.faq_rules import entry_fields, export_csv, parse_import, phrasing_text
from chat_server.services.faq import entry_view
from chat_server.web.context import context_of
from chat_server.web.jsonbody import read_json
from chat_server.web.rest import int_param
from chat_server.web.rest_auth import authenticate


async def _json(request: Request) -> object:
    return await read_json(request)


def _matches(view: dict[str, object], request: Request) -> bool:
    params = request.query_params
    for key in ("category", "status", "lang"):
        if params.get(key) and view[key] != params[key]:
            return False
    q = (params.get("q") or "").strip().lower()
    if q:
        haystack = " ".join(
            [str(view["question"]), str(view["answer"]), " ".join(view["tags"])]  # type: ignore[arg-type]
        ).lower()
        return q in haystack
    return True


async def list_faq(request: Request) -> Response:
    viewer = await authenticate(request)
    entries = await context_of(request).faq.entries(viewer)
    views = [entry_view(e) for e in entries]
    return JSONResponse({"items": [v for v in views if _matches(v, request)]})


async def create_faq(request: Request) -> Response:
    viewer = await authenticate(request)
    fields = entry_fields(await _json(request), creating=True)
    entry = await context_of(request).faq.create(viewer, fields)
    return JSONResponse(entry_view(entry), status_code=201)


async def one_faq(request: Request) -> Response:
    viewer = await authenticate(request)
    service, entry_id = context_of(request).faq, request.path_params["faq_id"]
    if request.method == "GET":
        return JSONResponse(entry_view(await service.get(viewer, entry_id)))
    if request.method == "DELETE":
        await service.delete(viewer, entry_id)
        return JSONResponse({"ok": True})
    fields = entry_fields(await _json(request), creating=False)
    return JSONResponse(entry_view(await service.update(viewer, entry_id, fields)))


async def reorder_faq(request: Request) -> Response:
    viewer = await authenticate(request)
    data = await _json(request)
    ids = data.get("ids") if isinstance(data, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(ids) > 10_000:
        raise errors.bad_request("'ids' must be a list of entry ids")
    await context_of(request).faq.reorder(viewer, ids)
    return JSONResponse({"ok": True})


async def add_phrasing(request: Request) -> Response:
    viewer = await authenticate(request)
    data = await _json(request)
    text = phrasing_text(data.get("text") if isinstance(data, dict) else None)
    entry = await context_of(request).faq.add_phrasing(viewer, request.path_params["faq_id"], text)
    return JSONResponse(entry_view(entry), status_code=201)


async def delete_phrasing(request: Request) -> Response:
    viewer = await authenticate(request)
    entry = await context_of(request).faq.delete_phrasing(
        viewer, request.path_params["faq_id"], request.path_params["phrasing_id"]
    )
    return JSONResponse(entry_view(entry))


async def categories(request: Request) -> Response:
    viewer = await authenticate(request)
    counts = Counter(
        e.category for e in await context_of(request).faq.entries(viewer) if e.category
    )
    return JSONResponse({"items": [{"name": n, "count": c} for n, c in sorted(counts.items())]})


async def suggest(request: Request) -> Response:
    viewer = await authenticate(request)
    q = request.query_params.get("q", "")
    if len(q) > 2000:
        raise errors.SapaError(errors.ErrorCode.TOO_LARGE, "'q' is over 2000 characters")
    items, threshold = await context_of(request).faq.suggest(
        viewer.site_id, q, int_param(request, "limit", 3, 1, 20)
    )
    return JSONResponse({"items": items, "threshold": threshold})


def _format(request: Request) -> str:
    fmt = request.query_params.get("format", "json")
    if fmt not in ("csv", "json"):
        raise errors.bad_request("'format' must be csv or json")
    return fmt


async def import_faq(request: Request) -> Response:
    viewer = await authenticate(request)
    fmt = _format(request)
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise errors.bad_request("send the file in a 'file' field")
        raw = await upload.read()
    entries = parse_import(raw, fmt)
    imported = await context_of(request).faq.import_entries(viewer, entries)
    return JSONResponse({"imported": imported})


async def export_faq(request: Request) -> Response:
    viewer = await authenticate(request)
    fmt = _format(request)
    views = [entry_view(e) for e in await context_of(request).faq.entries(viewer)]
    if fmt == "csv":
        body, media = export_csv(views), "text/csv; charset=utf-8"
    else:
        keep = ("question", "answer", "category", "tags", "lang", "status")
        rows = [
            {k: v[k] for k in keep} | {"phrasings": [p["text"] for p in v["phrasings"]]}
            for v in views
        ]
        body, media = json.dumps(rows, ensure_ascii=False, indent=2), "application/json"
    return Response(
        body, media_type=media, headers={"content-disposition": f'attachment; filename="faq.{fmt}"'}
    )


routes = [
    Route("/api/v1/faq", list_faq, methods=["GET"]),
    Route("/api/v1/faq", create_faq, methods=["POST"]),
    Route("/api/v1/faq/suggest", suggest),
    Route("/api/v1/faq/categories", categories),
    Route("/api/v1/faq/reorder", reorder_faq, methods=["POST"]),
    Route("/api/v1/faq/import", import_faq, methods=["POST"]),
    Route("/api/v1/faq/export", export_faq),
    Route("/api/v1/faq/{faq_id}", one_faq, methods=["GET", "PUT", "DELETE"]),
    Route("/api/v1/faq/{faq_id}/phrasings", add_phrasing, methods=["POST"]),
    Route("/api/v1/faq/{faq_id}/phrasings/{phrasing_id}", delete_phrasing, methods=["DELETE"]),
]
