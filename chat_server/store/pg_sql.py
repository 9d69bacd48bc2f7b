"""The store's SQL, as written for SQLite, made to run on PostgreSQL unchanged.

Store functions are written once (placeholders `?`, see store/sql.py). On PostgreSQL they
go through `translate`, cached per statement text:
- `?` becomes `%s` and a literal `%` becomes `%%` (psycopg's placeholder syntax);
- `INSERT OR IGNORE` becomes `INSERT ... ON CONFLICT DO NOTHING`;
- scalar `max(a, b)` / `min(a, b)` become `GREATEST` / `LEAST` (aggregates are left alone);
- `a IS ?` / `a IS NOT ?` become `IS [NOT] DISTINCT FROM`, and SQLite's unary `+column`
  (an index hint) is dropped;
- `LIKE` becomes `ILIKE`: SQLite's LIKE ignores ASCII case; on collation "C" (every text
  column, schema/postgres/0001) ILIKE folds ASCII only, as SQLite does.
String literals are copied untouched. Rows answer by name and by position, and numbers
and truth values come back as SQLite returns them (int or float, 0/1), so JSON built from
a row is the same on both backends.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from psycopg.adapt import AdaptersMap, Loader
from psycopg.cursor import BaseCursor
from psycopg.postgres import adapters as default_adapters
from psycopg.rows import RowMaker

_TOKEN = re.compile(
    r"'(?:[^']|'')*'|\bIS\s+NOT\s+\?|\bIS\s+\?|(?:\bAND|\bWHERE|\bOR|\bON|\()\s*\+(?=[a-z_])"
    r"|\?|%|\bINSERT\s+OR\s+IGNORE\s+INTO\b|\b(?:max|min)\s*\(|\bLIKE\b",
    re.IGNORECASE,
)
_STRING = re.compile(r"'(?:[^']|'')*'")


def _top_level_commas(sql: str, start: int) -> bool:
    """Whether the call whose `(` is just before `start` has more than one argument."""
    depth = 0
    i = start
    while i < len(sql):
        char = sql[i]
        if char == "'":
            match = _STRING.match(sql, i)
            i = match.end() if match else i + 1
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                return False
            depth -= 1
        elif char == "," and depth == 0:
            return True
        i += 1
    return False


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    out: list[str] = []
    pos = 0
    ignore = False
    for match in _TOKEN.finditer(sql):
        token = match.group(0)
        out.append(sql[pos : match.start()])
        pos = match.end()
        upper = token.upper()
        if token.startswith("'"):
            out.append(token.replace("%", "%%"))
        elif token == "?":
            out.append("%s")
        elif upper.startswith("IS"):
            # SQLite's `IS` compares any two values, NULL included.
            out.append("IS DISTINCT FROM %s" if "NOT" in upper else "IS NOT DISTINCT FROM %s")
        elif token.endswith("+"):
            # SQLite's unary `+col` (keeps the planner off an index) is a no-op here.
            out.append(token[:-1])
        elif token == "%":
            out.append("%%")
        elif upper.startswith("INSERT"):
            ignore = True
            out.append("INSERT INTO")
        elif upper == "LIKE":
            out.append("ILIKE")
        elif _top_level_commas(sql, match.end()):
            out.append("GREATEST(" if upper.startswith("MAX") else "LEAST(")
        else:
            out.append(token)
    out.append(sql[pos:])
    text = "".join(out)
    if ignore and "ON CONFLICT" not in text.upper():
        text = text.rstrip().rstrip(";")
        at = text.upper().rfind(" RETURNING ")
        if at >= 0:
            text = text[:at] + " ON CONFLICT DO NOTHING" + text[at:]
        else:
            text += " ON CONFLICT DO NOTHING"
    return text


class PgRow:
    """A row like `sqlite3.Row`: by column name or position, `keys()`, iterable."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: dict[str, int], values: Sequence[Any]) -> None:
        self._names = names
        self._values = values

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self._values[self._names[key]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._names)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PgRow):
            return tuple(self._values) == tuple(other._values) and self.keys() == other.keys()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._values))

    def __repr__(self) -> str:
        return f"PgRow({dict(zip(self._names, self._values, strict=False))!r})"


def row_factory(cursor: BaseCursor[Any, Any]) -> RowMaker[PgRow]:
    names: dict[str, int] = {}
    # The names straight from the result: `cursor.description` would build a Column object
    # per column for every statement (a room row has over thirty).
    result = cursor.pgresult
    for i in range(result.nfields if result is not None else 0):
        name = result.fname(i)  # type: ignore[union-attr]
        # Like sqlite3.Row: the first of two equally named columns wins.
        names.setdefault(name.decode() if name is not None else "", i)

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(names, values)

    return make


class _NumericLoader(Loader):
    """sum()/avg() over integers are `numeric`: give int or float, as SQLite does."""

    def load(self, data: Any) -> Any:
        value = Decimal(bytes(data).decode())
        if value == value.to_integral_value() and "." not in bytes(data).decode():
            return int(value)
        return float(value)


class _BoolLoader(Loader):
    """A comparison in a select list is 0/1 in SQLite; keep it so (JSON shapes)."""

    def load(self, data: Any) -> Any:
        return 1 if bytes(data) == b"t" else 0


def adapters() -> AdaptersMap:
    """Loaders shared by every connection of the store."""
    mapping = AdaptersMap(default_adapters)
    mapping.register_loader("numeric", _NumericLoader)
    mapping.register_loader("bool", _BoolLoader)
    return mapping
