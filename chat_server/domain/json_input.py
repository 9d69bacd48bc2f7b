"""The one way client JSON is read: REST bodies, socket frames and import files.

`json.loads` alone lets through what later breaks a handler far from the input:
nesting deep enough to exhaust the stack, lone surrogates ("\\ud800") that no
UTF-8 encoder (SQLite, the socket) accepts, NaN and Infinity, integers too big
for SQLite, and duplicate keys that two parsers read differently. Here each of
those is a `bad_request`, decided before any handler sees the data.

Most texts (every socket frame) are read by orjson first, at a fraction of the cost, and
kept only when nothing in them can be what the rules refuse: no number past SQLite's
integers, no surrogate escape, no deeper nesting than allowed, and as many `:` in the text
as names in the objects read (so no name was given twice). Anything else,
orjson's refusals included, goes through the strict decoder below, which decides and words
the refusal exactly as before.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from chat_server.errors import ErrorCode, SapaError

MAX_DEPTH = 32
# SQLite's INTEGER; anything wider raises OverflowError deep inside a write.
MAX_INT = 2**63 - 1
MIN_INT = -(2**63)
_SURROGATE = re.compile("[\ud800-\udfff]")
# Only a \uD800-\uDFFF escape can put a surrogate into a decoded string.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class BadJson(SapaError):
    """Input that is not the JSON Sapa accepts; `line` is set for syntax errors."""

    def __init__(self, detail: str, line: int | None = None) -> None:
        where = f" (line {line})" if line is not None else ""
        super().__init__(ErrorCode.BAD_REQUEST, f"not valid JSON: {detail}{where}")
        self.detail = detail
        self.line = line


class _Refused(ValueError):
    pass


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        # I-JSON (RFC 7493): names must be unique. Refusing is safer than picking one.
        raise _Refused("duplicate key in an object")
    return out


def _int(text: str) -> int:
    value = int(text)
    if not -MAX_INT - 1 <= value <= MAX_INT:
        raise _Refused("integer out of range")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("number out of range")
    return value


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON value")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object, parse_int=_int, parse_float=_float, parse_constant=_constant
)


# A surrogate escape is the strict decoder's to judge (orjson refuses a lone one anyway).
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")
_SLOW = object()


def decode(raw: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """The value of one JSON text, or BadJson. Bytes must be UTF-8 (a leading BOM is allowed)."""
    value = _fast(raw, max_depth)
    return _strict(raw, max_depth) if value is _SLOW else value


def _fast(raw: str | bytes, max_depth: int) -> Any:
    if isinstance(raw, bytes):
        if _SURROGATE_ESCAPE_BYTES.search(raw) is not None:
            return _SLOW
        colons = raw.count(b":")
    else:
        if _SURROGATE_ESCAPE.search(raw) is not None:
            return _SLOW
        colons = raw.count(":")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _SLOW
    if _pairs([value], max_depth + 1) != colons:
        return _SLOW
    return value


def _pairs(value: list[Any], max_depth: int) -> int:
    """How many names the objects in `value` hold together; -1 if nested too deeply or if
    it holds a number out of SQLite's range (orjson reads an integer past 64 bits as a float:
    whether the text wrote an integer is the strict decoder's to tell)."""
    count = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth >= max_depth:
            return -1
        if type(item) is dict:
            count += len(item)
            item = item.values()
        for child in item:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append((child, depth + 1))
            elif kind is int:
                if not MIN_INT <= child <= MAX_INT:
                    return -1
            elif kind is float and not MIN_INT < child < -MIN_INT:
                # An integer past 64 bits, as orjson reads it (2**63 + 1 is 2.0**63).
                return -1
    return count


def _strict(raw: str | bytes, max_depth: int) -> Any:
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")  # strict: refuses encoded surrogates too
        except UnicodeDecodeError as exc:
            raise BadJson("not UTF-8 text", raw[: exc.start].count(b"\n") + 1) from None
    else:
        text = raw
        if not text.isascii() and _SURROGATE.search(text):
            raise BadJson("text holds a lone surrogate")
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise BadJson(exc.msg, exc.lineno) from None
    except _Refused as exc:
        raise BadJson(str(exc)) from None
    except (ValueError, RecursionError):
        # ValueError: an integer over Python's digit limit; RecursionError: absurd nesting.
        raise BadJson("value too large or too deeply nested") from None
    # Cheap tests first: most texts cannot hold what the walk looks for.
    deep = text.count("[") + text.count("{") > max_depth
    escaped = _SURROGATE_ESCAPE.search(text) is not None
    if deep or escaped:
        _walk(value, max_depth, escaped)
    return value


def _walk(value: Any, max_depth: int, strings: bool) -> None:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth >= max_depth:
                raise BadJson(f"nested deeper than {max_depth} levels")
            if strings:
                for key in item:
                    _check_string(key)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            if depth >= max_depth:
                raise BadJson(f"nested deeper than {max_depth} levels")
            stack.extend((v, depth + 1) for v in item)
        elif strings and isinstance(item, str):
            _check_string(item)


def _check_string(text: str) -> None:
    if not text.isascii() and _SURROGATE.search(text):
        raise BadJson("a string holds a lone surrogate")
