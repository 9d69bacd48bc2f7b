"""Who gets the next conversation: the assignment policy, pure and without I/O.

A site routes by hand (`manual`) or automatically: `round_robin` gives the next
conversation to the agent with a free slot who was given one longest ago, `least_busy`
to the one holding the fewest open conversations (ties as round robin). Only agents who
are online receive, each up to their cap (their own, else the site's default). Waiting
conversations are served strictly in arrival order. The store reads the inputs inside
the write transaction, so the plan always sees every earlier decision.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from chat_server import errors
from chat_server.domain.models import RoomKind

RoutingMode = Literal["manual", "round_robin", "least_busy"]
MODES: tuple[RoutingMode, ...] = ("manual", "round_robin", "least_busy")
DEFAULT_CAP = 3
MAX_CAP = 100  # more open conversations than anyone can follow is a typo, not a setting
ETA_SAMPLE = 20  # the latest assignments out of the queue an estimate is made from
MIN_WAIT_S = 1.0  # an assignment on arrival says nothing about how fast the queue moves
MAX_OFFLINE_RETURN = 7 * 24 * 60  # minutes: a week offline is the longest wait one may set


@dataclass(frozen=True, slots=True)
class RoutingSettings:
    mode: RoutingMode = "manual"
    default_cap: int = DEFAULT_CAP
    # Minutes an agent may be offline (no console open) before their open conversations go
    # back to the queue; None: they keep them.
    offline_return_minutes: int | None = None

    @property
    def automatic(self) -> bool:
        return self.mode != "manual"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode, "default_cap": self.default_cap}
        if self.offline_return_minutes is not None:
            out["offline_return_minutes"] = self.offline_return_minutes
        return out


@dataclass(frozen=True, slots=True)
class AgentLoad:
    """An online agent as the policy sees them."""

    agent_id: str
    name: str
    open: int  # conversations assigned to them and not resolved
    cap: int | None  # None: the site's default
    last_assigned_at: str = ""  # "" never; fixed-width UTC times compare as text

    def limit(self, default_cap: int) -> int:
        return self.cap if self.cap is not None else default_cap


def waiting(kind: RoomKind, status: str, assignee_id: str | None, snoozed: bool = False) -> bool:
    """Whether a room with this state stands in its site's queue (a snoozed one steps out)."""
    return kind == "private" and status == "queued" and assignee_id is None and not snoozed


def places(teams: Sequence[str | None]) -> list[int]:
    """Each waiting conversation's place in line, given the team of each in arrival order: a
    team's conversation counts only its team's (its agents take those first); one of no team
    counts everyone before it, as the site's line always did."""
    seen: dict[str | None, int] = {}
    out = []
    for i, team in enumerate(teams, start=1):
        seen[team] = seen.get(team, 0) + 1
        out.append(i if team is None else seen[team])
    return out


def parse_cap(value: Any, name: str = "cap") -> int:
    """A cap: a whole number from 1 to MAX_CAP (0, negative, fractional or huge is refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CAP:
        raise errors.bad_request(f"'{name}' must be a whole number from 1 to {MAX_CAP}")
    return value


def parse_settings(value: Any, current: RoutingSettings) -> RoutingSettings:
    """`{"mode"?, "default_cap"?}` applied over the current settings."""
    if not isinstance(value, Mapping):
        raise errors.bad_request("'routing' must be an object")
    unknown = set(value) - {"mode", "default_cap", "offline_return_minutes"}
    if unknown:
        raise errors.bad_request(f"unknown routing settings: {', '.join(sorted(unknown))}")
    mode = value.get("mode", current.mode)
    if mode not in MODES:
        raise errors.bad_request("'routing.mode' must be manual, round_robin or least_busy")
    cap = current.default_cap
    if "default_cap" in value:
        cap = parse_cap(value["default_cap"], "routing.default_cap")
    offline = current.offline_return_minutes
    if "offline_return_minutes" in value:
        offline = parse_offline_return(value["offline_return_minutes"])
    return RoutingSettings(mode, cap, offline)


def parse_offline_return(value: Any) -> int | None:
    """Minutes offline before conversations return: 1 to a week, or null (never)."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_OFFLINE_RETURN
    ):
        raise errors.bad_request(
            f"'routing.offline_return_minutes' must be null or a whole number"
            f" from 1 to {MAX_OFFLINE_RETURN}"
        )
    return value


def _order(mode: RoutingMode, load: AgentLoad) -> tuple[Any, ...]:
    fairness = (load.last_assigned_at, load.agent_id)
    return (load.open, *fairness) if mode == "least_busy" else fairness


def choose(settings: RoutingSettings, loads: Sequence[AgentLoad]) -> AgentLoad | None:
    """The agent the next conversation goes to, or None when every slot is taken."""
    if not settings.automatic:
        return None
    free = [a for a in loads if a.open < a.limit(settings.default_cap)]
    return min(free, key=lambda a: _order(settings.mode, a)) if free else None


def plan(
    settings: RoutingSettings, queue: Sequence[str], loads: Sequence[AgentLoad]
) -> list[tuple[str, AgentLoad]]:
    """Assign the queue's head, oldest first, while slots are free: [(room_id, agent)]."""
    current = {a.agent_id: a for a in loads}
    out: list[tuple[str, AgentLoad]] = []
    for turn, room_id in enumerate(queue):
        agent = choose(settings, list(current.values()))
        if agent is None:
            break
        out.append((room_id, agent))
        # Later than any stored time, in the order given here.
        current[agent.agent_id] = replace(
            agent, open=agent.open + 1, last_assigned_at=f"~{turn:09d}"
        )
    return out


def free_slots(settings: RoutingSettings, loads: Sequence[AgentLoad]) -> int:
    return sum(max(0, a.limit(settings.default_cap) - a.open) for a in loads)


def _seconds(at: str) -> float:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


def eta_seconds(position: int, recent: Sequence[tuple[str, str]]) -> int | None:
    """Expected wait of the `position`-th in line, from recent (queued_at, assigned_at) pairs.

    Only conversations that waited count: their assignments are the moments a slot freed,
    so the mean gap between them is how fast the line moves. None until there are two.
    """
    moments = sorted(_seconds(done) for queued, done in recent if _waited(queued, done))
    if len(moments) < 2:
        return None
    gap = (moments[-1] - moments[0]) / (len(moments) - 1)
    return max(1, round(position * gap))


def _waited(queued: str, done: str) -> bool:
    return _seconds(done) - _seconds(queued) >= MIN_WAIT_S


def team_free_slots(
    settings: RoutingSettings, loads: Sequence[AgentLoad], teams_of: Mapping[str, frozenset[str]]
) -> dict[str, int]:
    """Free slots per team among the online agents (`teams_of`: agent id -> their teams)."""
    out: dict[str, int] = {}
    for load in loads:
        free = max(0, load.limit(settings.default_cap) - load.open)
        for team_id in teams_of.get(load.agent_id, ()):
            out[team_id] = out.get(team_id, 0) + free
    return out


def plan_teams(
    settings: RoutingSettings,
    queue: Sequence[tuple[str, str | None]],
    loads: Sequence[AgentLoad],
    teams_of: Mapping[str, frozenset[str]],
) -> list[tuple[str, AgentLoad]]:
    """`plan` for a queue of (room_id, team_id | None), oldest first: a team's conversation
    goes only to that team's agents (it waits for them, and those behind it do not), any
    other to anyone."""
    current = {a.agent_id: a for a in loads}
    out: list[tuple[str, AgentLoad]] = []
    for turn, (room_id, team_id) in enumerate(queue):
        pool = [
            a
            for a in current.values()
            if team_id is None or team_id in teams_of.get(a.agent_id, ())
        ]
        agent = choose(settings, pool)
        if agent is None:
            if team_id is None:
                break  # no free slot anywhere: nobody behind can be placed either
            continue
        out.append((room_id, agent))
        current[agent.agent_id] = replace(
            agent, open=agent.open + 1, last_assigned_at=f"~{turn:09d}"
        )
    return out


@dataclass(frozen=True, slots=True)
class OfflineSweep:
    """What to do about agents holding conversations, given who has a console open."""

    mark: tuple[str, ...] = ()  # offline, not noticed yet: offline from now
    clear: tuple[str, ...] = ()  # a console is open again
    overdue: tuple[str, ...] = ()  # offline for longer than the site allows: give back

    def __bool__(self) -> bool:
        return bool(self.mark or self.clear or self.overdue)


def offline_sweep(
    holders: Sequence[tuple[str, str | None]], connected: Collection[str], cutoff: str
) -> OfflineSweep:
    """`holders`: (agent id, offline since or None); `cutoff`: the time (UTC text) before which
    an agent went offline for their conversations to go back. An away agent is connected."""
    mark, clear, overdue = [], [], []
    for agent_id, since in holders:
        if agent_id in connected:
            if since is not None:
                clear.append(agent_id)
        elif since is None:
            mark.append(agent_id)
        elif since <= cutoff:
            overdue.append(agent_id)
    return OfflineSweep(tuple(mark), tuple(clear), tuple(overdue))
