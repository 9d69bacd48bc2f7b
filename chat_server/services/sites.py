"""Sites as the web layer and the CLI see them: look-ups, owners' settings, and the
installation-wide values kept beside them (the cookie key, the demo shop)."""

from __future__ import annotations

from collections.abc import Mapping

from chat_server import errors, ids
from chat_server.domain.access import Viewer
from chat_server.domain.models import Site
from chat_server.domain.origins import origin_allowed
from chat_server.services import audit
from chat_server.services.demo import DEMO_SITE_META
from chat_server.services.storage import Store
from chat_server.store import sites as site_store
from chat_server.store.sql import Tx

SECRET_KEY_META = "secret_key"


async def site_of(db: Store, site_id: str) -> Site:
    site = await site_store.get_site(db, site_id)
    if site is None:
        raise errors.not_found("site")
    return site


async def by_key(db: Store, site_key: str) -> Site | None:
    """The site a widget or a help page names by its public key."""
    return await site_store.get_site_by_key(db, site_key)


async def by_api_token(db: Store, api_token: str) -> Site | None:
    """The site whose own server holds this API token."""
    return await site_store.get_site_by_api_token(db, api_token)


async def list_all(db: Store) -> list[Site]:
    return await site_store.list_sites(db)


async def update_settings(
    db: Store, site_id: str, changes: Mapping[str, object], by: Viewer | None = None
) -> Site:
    """Apply validated settings (see web/site_routes.py) and answer the site as it is now."""
    if "email_settings" in changes:
        # Settings not named keep their values.
        current = await site_of(db, site_id)
        named = changes["email_settings"]
        assert isinstance(named, dict)
        domains = changes.get("domains", current.domains)
        assert isinstance(domains, (list, tuple))
        if named.get("open_url") and not origin_allowed(named["open_url"], tuple(domains)):
            # Reply emails link there: never to a page off the shop's own domains.
            raise errors.bad_request("'open_url' must be on one of the site's domains")
        changes = {**changes, "email_settings": {**current.email_settings, **named}}
    if changes:

        def job(conn: Tx) -> None:
            site_store.update_site(conn, site_id, changes)
            if by is not None:
                detail = {"fields": sorted(changes)}
                audit.record(conn, site_id, audit.Actor.of(by), "settings_changed", "site", detail)

        await db.write(job)
    return await site_of(db, site_id)


async def rotate_api_token(db: Store, viewer: Viewer) -> str:
    """A new API token for the site's server, shown once; the old one stops working now."""
    audit.require_owner(viewer)
    token = ids.new_secret(32)

    def job(conn: Tx) -> None:
        site_store.set_api_token_hash(conn, viewer.site_id, ids.hash_token(token))
        audit.record(conn, viewer.site_id, audit.Actor.of(viewer), "api_token_rotated", "site")

    await db.write(job)
    return token


async def rotate_identity_secret(db: Store, viewer: Viewer) -> str:
    """A new secret for `user_hash`: shoppers identified with the old one must be again."""
    audit.require_owner(viewer)
    secret = ids.new_secret(32)

    def job(conn: Tx) -> None:
        site_store.set_identity_secret(conn, viewer.site_id, secret)
        audit.record(
            conn, viewer.site_id, audit.Actor.of(viewer), "identity_secret_rotated", "site"
        )

    await db.write(job)
    return secret


async def secret_key(db: Store) -> str:
    """The cookie-signing key: generated once, then shared by every worker through the store."""
    fresh = ids.new_secret(32)
    stored: str = await db.write(
        lambda conn: site_store.set_meta_once(conn, SECRET_KEY_META, fresh)
    )
    return stored


async def demo_site_key(db: Store) -> str | None:
    """The demo shop's widget key, once `sapa serve --demo` has made it."""
    demo_id = await db.write(lambda conn: site_store.get_meta(conn, DEMO_SITE_META))
    demo_site = await site_store.get_site(db, demo_id) if demo_id else None
    return demo_site.site_key if demo_site else None
