"""Teams of agents (owners create, rename and delete them and choose their members); a
conversation given to a team waits for that team's online agents (`chat._plan`).

Not `team.py`, which is the staff administration of issue 13 (invitations, links, audit).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chat_server import errors
from chat_server.domain import workgroups
from chat_server.domain.access import Viewer
from chat_server.errors import ErrorCode, SapaError
from chat_server.services import audit
from chat_server.services.chat import ChatService
from chat_server.services.public_rooms import require_owner
from chat_server.store import rooms as room_store
from chat_server.store import teams as team_store
from chat_server.store.database import Database
from chat_server.store.sql import Tx
from chat_server.store.teams import Team


def _taken(name: str) -> SapaError:
    return SapaError(ErrorCode.CONFLICT, f"a team named '{name}' already exists")


def _members(conn: Tx, site_id: str, data: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The `members` asked for, each an agent of this site (else 404), or None when absent."""
    if "members" not in data:
        return None
    wanted = workgroups.ids(data["members"], "members", workgroups.MAX_MEMBERS)
    if team_store.site_agents(conn, site_id, wanted) != set(wanted):
        raise errors.not_found("agent")
    return wanted


def _audit(conn: Tx, viewer: Viewer, action: str, team_id: str, detail: dict[str, Any]) -> None:
    audit.record(conn, viewer.site_id, audit.Actor.of(viewer), action, team_id, detail)


def _audit_members(
    conn: Tx, viewer: Viewer, team: Team, before: tuple[str, ...], after: tuple[str, ...]
) -> None:
    for action, agent_id in workgroups.member_changes(before, after):
        _audit(conn, viewer, action, team.id, {"team": team.name, "agent_id": agent_id})


class TeamsService:
    def __init__(self, db: Database, chat: ChatService) -> None:
        self.db = db
        self.chat = chat

    async def all(self, viewer: Viewer) -> list[Team]:
        return await team_store.list_teams(self.db, viewer.site_id)

    async def create(self, viewer: Viewer, data: Mapping[str, Any]) -> Team:
        require_owner(viewer, "manage teams")
        name = workgroups.name(data.get("name"))

        def job(conn: Tx) -> Team:
            if team_store.count(conn, viewer.site_id) >= workgroups.MAX_TEAMS:
                raise errors.bad_request(f"at most {workgroups.MAX_TEAMS} teams")
            members = _members(conn, viewer.site_id, data) or ()
            team_id = team_store.insert(conn, viewer.site_id, name, workgroups.name_key(name))
            if team_id is None:
                raise _taken(name)
            team_store.set_members(conn, team_id, members)
            made = team_store.load_team(conn, viewer.site_id, team_id)
            assert made is not None
            _audit(conn, viewer, workgroups.TEAM_CREATED, made.id, {"name": made.name})
            _audit_members(conn, viewer, made, (), made.members)
            return made

        made = await self.db.write(job)
        await self.chat.route(viewer.site_id)  # a new team holds no conversation: cheap
        return made

    async def update(self, viewer: Viewer, team_id: str, data: Mapping[str, Any]) -> Team:
        """`{"name"?, "members"?}`: a rename, or the whole list of members. A new member
        may take the team's waiting conversations at once."""
        require_owner(viewer, "manage teams")
        unknown = set(data) - {"name", "members"}
        if unknown:
            raise errors.bad_request(f"unknown fields: {', '.join(sorted(unknown))}")
        name = workgroups.name(data["name"]) if "name" in data else None

        def job(conn: Tx) -> tuple[Team, list[str]]:
            before = team_store.load_team(conn, viewer.site_id, team_id)
            if before is None:
                raise errors.not_found("team")
            if name is not None and not team_store.rename(
                conn, viewer.site_id, team_id, name, workgroups.name_key(name)
            ):
                raise _taken(name)
            members = _members(conn, viewer.site_id, data)
            if members is not None:
                team_store.set_members(conn, team_id, members)
            changed = team_store.load_team(conn, viewer.site_id, team_id)
            assert changed is not None
            if changed.name != before.name:
                detail = {"from": before.name, "to": changed.name}
                _audit(conn, viewer, workgroups.TEAM_RENAMED, team_id, detail)
            _audit_members(conn, viewer, changed, before.members, changed.members)
            return changed, team_store.room_ids(conn, team_id) if name is not None else []

        changed, renamed_rooms = await self.db.write(job)
        await self._republish(viewer.site_id, renamed_rooms)
        if "members" in data:
            await self.chat.route(viewer.site_id)
        return changed

    async def delete(self, viewer: Viewer, team_id: str) -> None:
        """The team goes; its conversations belong to no team, and those waiting may now go
        to anyone."""
        require_owner(viewer, "manage teams")

        def job(conn: Tx) -> list[str]:
            team = team_store.load_team(conn, viewer.site_id, team_id)
            if team is None:
                raise errors.not_found("team")
            _audit(conn, viewer, workgroups.TEAM_DELETED, team_id, {"name": team.name})
            return team_store.delete(conn, viewer.site_id, team_id)

        rooms = await self.db.write(job)
        await self._republish(viewer.site_id, rooms)
        # Its waiting conversations join the site's line: their places change.
        await self.chat.route(viewer.site_id, moved=bool(rooms))

    async def _republish(self, site_id: str, room_ids: list[str]) -> None:
        """Rooms whose team changed its name or went: agents' inboxes show the new state."""
        for room_id in room_ids:
            room = await room_store.get_room(self.db, site_id, room_id)
            if room is not None:
                await self.chat.publish_staff_room(room)
