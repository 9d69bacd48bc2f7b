"""Teams of agents and conversation labels: names, colours, and the checks on what clients
send. Pure, no I/O.

A team ("Pembayaran", "Pengiriman") is a group of a site's agents; a conversation that
belongs to a team waits for that team's online agents (domain/routing.py `plan_teams`).
A label is a site-wide tag with a colour that agents put on conversations.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chat_server import errors
from chat_server.domain.colors import HEX

MAX_NAME = 60
MAX_TEAMS = 100
MAX_LABELS = 500  # per site
MAX_ROOM_LABELS = 20
MAX_MEMBERS = 1000
# The audit log's entries for teams and labels (services/teams.py, services/labels.py).
TEAM_CREATED = "team_created"
TEAM_RENAMED = "team_renamed"
TEAM_DELETED = "team_deleted"
TEAM_MEMBER_ADDED = "team_member_added"
TEAM_MEMBER_REMOVED = "team_member_removed"
LABEL_CREATED = "label_created"
LABEL_UPDATED = "label_updated"
LABEL_DELETED = "label_deleted"
AUDIT_ACTIONS = (
    TEAM_CREATED,
    TEAM_RENAMED,
    TEAM_DELETED,
    TEAM_MEMBER_ADDED,
    TEAM_MEMBER_REMOVED,
    LABEL_CREATED,
    LABEL_UPDATED,
    LABEL_DELETED,
)
# Colours a label made on the fly gets (picked by its name, so the same name looks the same
# on every site): readable dark text on each, and told apart from each other.
PALETTE = (
    "#fca5a5",
    "#fdba74",
    "#fcd34d",
    "#bef264",
    "#86efac",
    "#5eead4",
    "#7dd3fc",
    "#a5b4fc",
    "#d8b4fe",
    "#f9a8d4",
)


def name(value: Any, what: str = "name") -> str:
    """A team's or label's name: 1-60 characters of one line, spaces collapsed."""
    if not isinstance(value, str):
        raise errors.bad_request(f"'{what}' must be text")
    cleaned = " ".join(value.split())
    if not cleaned or len(cleaned) > MAX_NAME:
        raise errors.bad_request(f"'{what}' is 1 to {MAX_NAME} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in cleaned):
        raise errors.bad_request(f"'{what}' must be plain text")
    return cleaned


def name_key(cleaned: str) -> str:
    """What two names must differ in: not only case ("VIP" and "vip" are one label)."""
    return unicodedata.normalize("NFKC", cleaned).casefold()


def color(value: Any) -> str:
    if not isinstance(value, str) or not HEX.match(value):
        raise errors.bad_request("'color' must be a colour like #7dd3fc")
    return value.lower()


def default_color(cleaned: str) -> str:
    digest = hashlib.sha256(name_key(cleaned).encode()).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def ids(value: Any, what: str, limit: int) -> tuple[str, ...]:
    """A list of ids (strings), duplicates dropped, order kept."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise errors.bad_request(f"'{what}' must be a list of ids")
    unique = tuple(dict.fromkeys(value))
    if len(unique) > limit:
        raise errors.bad_request(f"at most {limit} {what}")
    return unique


@dataclass(frozen=True, slots=True)
class LabelChoice:
    """What `PUT /api/v1/rooms/{id}/labels` asks for: existing labels by id, and names (an
    existing label of that name, or a new one made on the fly)."""

    label_ids: tuple[str, ...]
    names: tuple[str, ...]


def label_choice(data: Mapping[str, Any]) -> LabelChoice:
    unknown = set(data) - {"label_ids", "names"}
    if unknown:
        raise errors.bad_request(f"unknown fields: {', '.join(sorted(unknown))}")
    if "label_ids" not in data and "names" not in data:
        raise errors.bad_request("give 'label_ids' and/or 'names'")
    label_ids = ids(data.get("label_ids", []), "label_ids", MAX_ROOM_LABELS)
    raw_names = data.get("names", [])
    if not isinstance(raw_names, list):
        raise errors.bad_request("'names' must be a list of names")
    names = tuple(dict.fromkeys(name(n, "names") for n in raw_names))
    if len(label_ids) + len(names) > MAX_ROOM_LABELS:
        raise errors.bad_request(f"at most {MAX_ROOM_LABELS} labels on a conversation")
    return LabelChoice(label_ids, names)


def member_changes(before: tuple[str, ...], after: tuple[str, ...]) -> list[tuple[str, str]]:
    """(audit action, agent id) for each member a new list adds or drops, in a stable order."""
    added = [(TEAM_MEMBER_ADDED, a) for a in after if a not in before]
    return added + [(TEAM_MEMBER_REMOVED, a) for a in before if a not in after]
