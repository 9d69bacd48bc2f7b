"""Canned responses: shortcuts, their text, and the variables filled in when one is used.

Only `{{customer.name}}`, `{{agent.name}}` and `{{site.name}}` are variables. Anything
else between braces (an unknown name, an expression, template code) stays exactly as
written: the text is never evaluated, and a filled-in value is never scanned again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from chat_server import errors

Scope = Literal["site", "personal"]
SCOPES: tuple[Scope, ...] = ("site", "personal")
MAX_SHORTCUT = 32
MAX_BODY = 4000  # what a message may hold
MAX_PER_SCOPE = 500
VARIABLES = ("customer.name", "agent.name", "site.name")
_VARIABLE = re.compile(r"\{\{\s*([a-z]+\.[a-z]+)\s*\}\}")
# Letters (any script), digits, '-' and '_': what follows '/' in the reply box.
_SHORTCUT = re.compile(r"[^\W][\w-]*", re.UNICODE)


def render(body: str, values: Mapping[str, str]) -> str:
    """`body` with each known variable replaced by its value; unknown ones left literal."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return values[name] if name in VARIABLES and name in values else match.group(0)

    return _VARIABLE.sub(fill, body)


def shortcut(value: Any) -> str:
    if not isinstance(value, str):
        raise errors.bad_request("'shortcut' must be text")
    cleaned = value.strip().lstrip("/").lower()
    if not 0 < len(cleaned) <= MAX_SHORTCUT or not _SHORTCUT.fullmatch(cleaned):
        raise errors.bad_request(
            f"'shortcut' is 1 to {MAX_SHORTCUT} letters, digits, '-' or '_' (no spaces)"
        )
    return cleaned


def body(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.bad_request("'body' must be non-empty text")
    if len(value) > MAX_BODY:
        raise errors.bad_request(f"'body' is at most {MAX_BODY} characters")
    return value.strip()


def scope(value: Any) -> Scope:
    if value not in SCOPES:
        raise errors.bad_request("'scope' must be site or personal")
    return value  # type: ignore[no-any-return]
