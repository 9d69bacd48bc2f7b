"""Which browser origins may open a site's widget socket."""

from __future__ import annotations

from urllib.parse import urlsplit


def host_of(origin: str) -> str | None:
    try:
        parts = urlsplit(origin)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname.lower()


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
