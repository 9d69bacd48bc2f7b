"""A site's own settings: greeting, language, colour, domains, pre-chat form (owners)."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat_server import errors
from chat_server.domain import business_hours
from chat_server.domain.attachments import upload_limit
from chat_server.domain.identity import USER_HASH_SNIPPETS
from chat_server.domain.mail import REPLY_DELAY_S
from chat_server.domain.models import Site
from chat_server.services import origins, sites
from chat_server.services.origins import OriginSeen
from chat_server.web.context import context_of
from chat_server.web.jsonbody import read_json
from chat_server.web.rest_auth import authenticate

COLOR = re.compile(r"#[0-9a-fA-F]{6}")
DOMAIN = re.compile(r"(\*\.)?[a-z0-9.-]{1,253}")
PRECHAT_FIELDS = ("name", "email")
OPEN_URL = re.compile(r"https?://[^\s#]+")


def site_view(site: Site) -> dict[str, Any]:
    return {
        "id": site.id,
        "name": site.name,
        "site_key": site.site_key,
        "greeting": site.greeting,
        "locale": site.locale,
        "color": site.color,
        "domains": list(site.domains),
        "prechat": site.prechat,
        "business_hours": business_hours.stored(site.business_hours).to_json(),
        "away_message": site.away_message,
        "email": email_settings(site),
        "max_upload_bytes": site.max_upload_bytes,
    }


def email_settings(site: Site) -> dict[str, Any]:
    return {
        "reply_delay_seconds": site.email_settings.get("reply_delay_seconds", REPLY_DELAY_S),
        "capture_after_minutes": site.email_settings.get("capture_after_minutes", 0),
        "open_url": site.email_settings.get("open_url"),
    }


def _changes(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise errors.bad_request("send a JSON object")
    out: dict[str, Any] = {}
    if "name" in data:
        if not isinstance(data["name"], str) or not 0 < len(data["name"].strip()) <= 120:
            raise errors.bad_request("'name' must be 1 to 120 characters")
        out["name"] = data["name"].strip()
    if "greeting" in data:
        if not isinstance(data["greeting"], str) or len(data["greeting"]) > 500:
            raise errors.bad_request("'greeting' is at most 500 characters")
        out["greeting"] = data["greeting"].strip()
    if "locale" in data:
        if data["locale"] not in ("id", "en"):
            raise errors.bad_request("'locale' must be id or en")
        out["locale"] = data["locale"]
    if "color" in data:
        if not isinstance(data["color"], str) or not COLOR.fullmatch(data["color"]):
            raise errors.bad_request("'color' must look like #0f766e")
        out["color"] = data["color"]
    if "domains" in data:
        domains = data["domains"]
        if not isinstance(domains, list) or not domains or len(domains) > 50:
            raise errors.bad_request("'domains' must list 1 to 50 domains")
        if not all(isinstance(d, str) and DOMAIN.fullmatch(d.lower()) for d in domains):
            raise errors.bad_request("a domain looks like shop.example or *.shop.example")
        out["domains"] = [d.lower() for d in domains]
    if "prechat" in data:
        out["prechat"] = _prechat(data["prechat"])
    if "business_hours" in data:
        out["business_hours"] = business_hours.parse(data["business_hours"]).to_json()
    if "away_message" in data:
        out["away_message"] = _away(data["away_message"])
    if "email" in data:
        out["email_settings"] = _email(data["email"])
    if "max_upload_bytes" in data:
        out["max_upload_bytes"] = upload_limit(data["max_upload_bytes"])
    return out


def _away(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not set(value) <= {"id", "en"}:
        raise errors.bad_request("'away_message' maps id and en to text")
    if not all(isinstance(v, str) and len(v) <= 500 for v in value.values()):
        raise errors.bad_request("an away message is at most 500 characters")
    return {k: v.strip() for k, v in value.items()}


def _email(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not set(value) <= {
        "reply_delay_seconds",
        "capture_after_minutes",
        "open_url",
    }:
        raise errors.bad_request(
            "'email' holds reply_delay_seconds, capture_after_minutes and open_url"
        )
    out: dict[str, Any] = {}
    if "open_url" in value:
        url = value["open_url"]
        if url is not None and (
            not isinstance(url, str) or len(url) > 500 or not OPEN_URL.fullmatch(url)
        ):
            raise errors.bad_request("'open_url' is a page of the shop, https://shop.example/…")
        out["open_url"] = url
    for key, high in (("reply_delay_seconds", 3600), ("capture_after_minutes", 1440)):
        if key in value:
            number = value[key]
            if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number <= high:
                raise errors.bad_request(f"'{key}' must be an integer from 0 to {high}")
            out[key] = number
    return out


def _prechat(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise errors.bad_request("'prechat' must be an object")
    fields = value.get("fields", list(PRECHAT_FIELDS))
    if not isinstance(fields, list) or not set(fields) <= set(PRECHAT_FIELDS):
        raise errors.bad_request("'prechat.fields' may hold name and email")
    return {
        "enabled": bool(value.get("enabled", False)),
        "fields": [f for f in PRECHAT_FIELDS if f in fields],
        "consent": bool(value.get("consent", True)),
    }


async def site_settings(request: Request) -> Response:
    viewer = await authenticate(request)
    ctx = context_of(request)
    db = ctx.db
    if request.method == "PUT":
        if viewer.role != "owner":
            raise errors.forbidden("only the site's owners may change its settings")
        data = await read_json(request)
        changes = _changes(data)
        if "routing" in data:  # validated before anything is written
            await ctx.routing.update_settings(viewer.site_id, data["routing"])
        site = await sites.update_settings(db, viewer.site_id, changes, by=viewer)
    else:
        site = await sites.site_of(db, viewer.site_id)
    routing = await ctx.routing.settings(viewer.site_id)
    return JSONResponse({**site_view(site), "routing": routing.to_json()})


def embed_snippet(base_url: str, site_key: str) -> str:
    return f'<script src="{base_url}/widget.js" data-site="{site_key}" async></script>'


def install_view(site: Site, base_url: str, seen: list[OriginSeen]) -> dict[str, Any]:
    """What an owner needs to put the widget on the shop and check that it runs there."""
    return {
        "site_id": site.id,
        "site_key": site.site_key,
        "embed": embed_snippet(base_url, site.site_key),
        "help_url": f"{base_url}/help/{site.site_key}",
        "domains": list(site.domains),
        "origins": [{"origin": o.origin, "last_seen_at": o.last_seen_at} for o in seen],
        "user_hash_snippets": USER_HASH_SNIPPETS,
    }


async def site_install(request: Request) -> Response:
    viewer = await authenticate(request)
    if viewer.role != "owner":
        raise errors.forbidden("only the site's owners see the install details")
    ctx = context_of(request)
    site = await sites.site_of(ctx.db, viewer.site_id)
    base = (ctx.settings.public_url or str(request.base_url)).rstrip("/")
    return JSONResponse(install_view(site, base, await origins.seen_from(ctx.db, site)))


async def rotate(request: Request) -> Response:
    """A new API token or identity secret, answered once (only its hash or the site keeps it)."""
    viewer = await authenticate(request)
    db = context_of(request).db
    if request.url.path.endswith("/api-token/rotate"):
        return JSONResponse({"api_token": await sites.rotate_api_token(db, viewer)})
    secret = await sites.rotate_identity_secret(db, viewer)
    return JSONResponse({"identity_secret": secret, "user_hash_snippets": USER_HASH_SNIPPETS})


routes = [
    Route("/api/v1/site", site_settings, methods=["GET", "PUT"]),
    Route("/api/v1/site/api-token/rotate", rotate, methods=["POST"]),
    Route("/api/v1/site/identity-secret/rotate", rotate, methods=["POST"]),
    Route("/api/v1/site/install", site_install),
]
