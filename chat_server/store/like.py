"""LIKE patterns from user text: '%' and '_' in a search are letters, not wildcards."""

from __future__ import annotations

# Every LIKE that takes a pattern from `contains` ends with this clause.
ESCAPE = "ESCAPE '\\'"


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(text: str) -> str:
    """A pattern matching values that contain `text` as typed (use with `ESCAPE`)."""
    return f"%{escape(text)}%"
