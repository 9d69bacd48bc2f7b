"""Canned responses: owners keep the site's, every agent their own; using one fills in the
conversation's customer, the agent and the site."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chat_server import errors
from chat_server.domain import canned
from chat_server.domain.access import Viewer
from chat_server.domain.models import anonymous_name
from chat_server.errors import ErrorCode, SapaError
from chat_server.store import canned as canned_store
from chat_server.store import rooms as room_store
from chat_server.store import sites as site_store
from chat_server.store.canned import CannedResponse
from chat_server.store.database import Database
from chat_server.store.sql import Tx


def _is_person(viewer: Viewer) -> bool:
    """A site's own server (API token) is no agent: it has no personal responses."""
    return not viewer.id.startswith("api_")


class CannedService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def available(self, viewer: Viewer, room_id: str | None = None) -> list[dict[str, Any]]:
        """The responses this agent may use; with `room_id`, each with its `text` filled in
        for that conversation."""
        items = await canned_store.visible(self.db, viewer.site_id, viewer.id)
        out = [item.to_json() for item in items]
        if room_id is not None:
            values = await self._values(viewer, room_id)
            for item in out:
                item["text"] = canned.render(item["body"], values)
        return out

    async def _values(self, viewer: Viewer, room_id: str) -> dict[str, str]:
        room = await room_store.get_room(self.db, viewer.site_id, room_id)
        if room is None:
            raise errors.not_found("room")
        site = await site_store.get_site(self.db, viewer.site_id)
        values = {"agent.name": viewer.name, "site.name": site.name if site else ""}
        customer = room.extra.get("customer")
        if customer:
            values["customer.name"] = customer.get("name") or anonymous_name(customer["id"])
        return values

    async def create(self, viewer: Viewer, data: Mapping[str, Any]) -> CannedResponse:
        scope = canned.scope(data.get("scope", "personal" if _is_person(viewer) else "site"))
        shortcut, body = canned.shortcut(data.get("shortcut")), canned.body(data.get("body"))
        owner_key = self._owner_key(viewer, scope)

        def job(conn: Tx) -> CannedResponse | None:
            if canned_store.count(conn, viewer.site_id, owner_key) >= canned.MAX_PER_SCOPE:
                raise errors.bad_request(f"at most {canned.MAX_PER_SCOPE} responses")
            return canned_store.insert(conn, viewer.site_id, owner_key, shortcut, body)

        made = await self.db.write(job)
        if made is None:
            raise SapaError(ErrorCode.CONFLICT, f"'/{shortcut}' is already taken")
        return made

    async def update(
        self, viewer: Viewer, canned_id: str, data: Mapping[str, Any]
    ) -> CannedResponse:
        current = await self._editable(viewer, canned_id)
        shortcut = canned.shortcut(data["shortcut"]) if "shortcut" in data else current.shortcut
        body = canned.body(data["body"]) if "body" in data else current.body
        changed = await self.db.write(
            lambda conn: canned_store.update(conn, viewer.site_id, canned_id, shortcut, body)
        )
        if changed is None:
            raise SapaError(ErrorCode.CONFLICT, f"'/{shortcut}' is already taken")
        return changed

    async def delete(self, viewer: Viewer, canned_id: str) -> None:
        await self._editable(viewer, canned_id)
        await self.db.write(lambda conn: canned_store.delete(conn, viewer.site_id, canned_id))

    async def _editable(self, viewer: Viewer, canned_id: str) -> CannedResponse:
        found = await canned_store.get(self.db, viewer.site_id, canned_id)
        # Another agent's personal response does not exist for this one.
        if found is None or found.owner_agent_id not in (None, viewer.id):
            raise errors.not_found("canned response")
        self._owner_key(viewer, found.scope)  # the site's are the owners' to change
        return found

    @staticmethod
    def _owner_key(viewer: Viewer, scope: str) -> str:
        if scope == "site":
            if viewer.role != "owner":
                raise errors.forbidden("only the site's owners manage its canned responses")
            return canned_store.SITE_KEY
        if not _is_person(viewer):
            raise errors.bad_request("an API token has no personal responses; use scope site")
        return viewer.id
