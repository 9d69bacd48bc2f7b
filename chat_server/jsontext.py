"""Compact JSON text for what the server sends: orjson, or json for what orjson refuses.

The text is what `json.dumps(value, ensure_ascii=False, separators=(",", ":"))` wrote
before (UTF-8, no escaping of non-ASCII; a float may be spelt differently, e.g. `1e16`
for `1e+16`, the same number to any JSON reader). Encoding every socket frame with the
standard library cost about as much as writing it (bench/README.md, "Where the time goes").
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_OPTIONS).decode()
    except TypeError:
        # Integers past 64 bits, lone surrogates: json writes them as it always did.
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
