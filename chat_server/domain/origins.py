"""Which browser origins may open a site's widget socket."""

from __future__ import annotations

import functools
from urllib.parse import SplitResult, urlsplit


def _web_origin(origin: str) -> SplitResult | None:
    try:
        parts = urlsplit(origin)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts


def host_of(origin: str) -> str | None:
    parts = _web_origin(origin)
    return parts.hostname.lower() if parts and parts.hostname else None


def normalised(origin: str | None) -> str | None:
    """scheme://host[:port] of an Origin header, or None when it is not one."""
    if not origin or len(origin) > 300:
        return None
    parts = _web_origin(origin)
    return f"{parts.scheme}://{parts.netloc.lower()}" if parts else None


# Every widget session call and hello asks it (a URL parse each), with few distinct answers.
@functools.lru_cache(maxsize=4096)
def origin_allowed(origin: str | None, domains: tuple[str, ...]) -> bool:
    """Exact host match; `*.shop.test` admits subdomains of shop.test (not shop.test itself)."""
    if not origin:
        return False
    host = host_of(origin)
    if host is None:
        return False
    for domain in domains:
        domain = domain.lower().strip()
        if domain.startswith("*."):
            if host.endswith(domain[1:]):
                return True
        elif host == domain:
            return True
    return False
