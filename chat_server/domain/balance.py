"""How many clients a process should hand back when its share is too large (pure).

When a process joins (a new replica, or one restarted after a crash), the load balancer only
sends it new connections: the long-lived sockets stay where they are. A process well above the
mean asks part of its widgets to reconnect (1012, spread over time); the load balancer places
them again, and the loads converge. Agents are never moved: there are few, and a console
reconnect is visible to a person.
"""

from __future__ import annotations

# Below these the imbalance is noise, not worth a reconnect.
MIN_EXCESS = 50
RELATIVE_EXCESS = 0.2


def to_shed(own: int, loads: list[int], min_excess: int = MIN_EXCESS) -> int:
    """Widgets this process should ask to reconnect, given every live process's count
    (`loads` includes `own`)."""
    if len(loads) < 2:
        return 0
    mean = sum(loads) / len(loads)
    excess = own - mean
    if excess < max(min_excess, mean * RELATIVE_EXCESS):
        return 0
    return int(excess)
