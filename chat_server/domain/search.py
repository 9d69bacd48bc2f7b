"""What a search asks for: words from free text, and the filters, checked. Pure, no I/O.

The text a person types never reaches a full-text engine as syntax: it is cut into words
(letters and digits of any script), each quoted on its own, so quotes, `*`, `NEAR`, `OR`,
brackets or 10,000 characters are only ever words to look for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from chat_server import errors
from chat_server.ids import format_time

MAX_TERMS = 12
MAX_TERM = 64
MAX_QUERY = 1000  # characters read from `q`; the rest is ignored
STATUSES = ("queued", "assigned", "resolved")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    terms: tuple[str, ...]
    text: str  # the words as one string, for the customers' names and emails
    status: str | None = None
    assignee: str | None = None  # an agent id, or "none"
    since: str | None = None  # messages written at or after (RFC 3339, UTC)
    until: str | None = None  # and before
    team: str | None = None  # a team id, or "none"
    label: str | None = None  # a label id

    def fts5(self) -> str:
        """SQLite FTS5: every word must appear; the last may be the start of a word."""
        quoted = [f'"{t}"' for t in self.terms]
        quoted[-1] += "*"
        return " ".join(quoted)

    def tsquery(self) -> str:
        """PostgreSQL `to_tsquery('simple', ...)`: the same, in its syntax."""
        parts = [f"'{t}'" for t in self.terms]
        parts[-1] += ":*"
        return " & ".join(parts)


def terms(text: str) -> tuple[str, ...]:
    words = _WORD.findall(text[:MAX_QUERY].lower())
    return tuple(w[:MAX_TERM] for w in words[:MAX_TERMS])


def _time(value: str | None, name: str) -> str | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise errors.bad_request(f"'{name}' must be a date or time like 2026-12-06") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_time(moment)


def parse(
    q: str | None,
    status: str | None = None,
    assignee: str | None = None,
    since: str | None = None,
    until: str | None = None,
    team: str | None = None,
    label: str | None = None,
) -> SearchQuery:
    if status and status not in STATUSES:
        raise errors.bad_request("'status' must be queued, assigned or resolved")
    words = terms(q or "")
    return SearchQuery(
        words,
        " ".join(words),
        status or None,
        assignee or None,
        _time(since, "from"),
        _time(until, "to"),
        team or None,
        label or None,
    )
