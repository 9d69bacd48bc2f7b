"""Provisioning: sites and agents (the CLI and the demo use these)."""

from __future__ import annotations

from argon2 import PasswordHasher

from chat_server import errors
from chat_server.services.passwords import check_new
from chat_server.services.public_rooms import insert_default_room
from chat_server.store import agents as agent_store
from chat_server.store import sites as site_store
from chat_server.store.database import Database
from chat_server.store.sql import Tx

hasher = PasswordHasher()


async def create_site(
    db: Database, name: str, domains: list[str], *, greeting: str = "", locale: str = "id"
) -> site_store.SiteCredentials:
    if not name.strip():
        raise errors.bad_request("a site needs a name")
    if not domains:
        raise errors.bad_request("a site needs at least one --domain")

    def job(conn: Tx) -> site_store.SiteCredentials:
        creds = site_store.insert_site(conn, name.strip(), domains, greeting, locale)
        # Every site starts with one public room ("Tanya Jawab" / "Questions").
        insert_default_room(conn, creds.site_id, locale)
        return creds

    return await db.write(job)


async def create_agent(
    db: Database, site_id: str, email: str, name: str, role: str, password: str
) -> str:
    if role not in ("agent", "owner"):
        raise errors.bad_request("role must be agent or owner")
    check_new(password)
    if "@" not in email:
        raise errors.bad_request("not an email address")
    if await site_store.get_site(db, site_id) is None:
        raise errors.not_found("site")
    password_hash = hasher.hash(password)
    return await db.write(
        lambda conn: agent_store.insert_agent(conn, site_id, email, name, role, password_hash)
    )
