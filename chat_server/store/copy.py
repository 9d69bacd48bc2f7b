"""Copying a whole installation from one database to another (`sapa db copy`).

The copy knows every table of the schema by name, in foreign-key order (`TABLES`): a table
the migrations add but this list lacks stops the copy before it starts, rather than being
left behind (a test compares the list with the schema). Rows move in chunks, read in
primary-key order and written through the store's ordinary write path, so either side may be
SQLite or PostgreSQL.

Values are coerced to the kind of their column as declared (integer, real, text, blob), so
SQLite's loose typing arrives in PostgreSQL's strict columns, and the checksum of a table
(SHA-256 over its rows in primary-key order, each value in one canonical spelling) comes out
the same on both backends when the data is the same. Text keys are ordered byte-wise on both
sides (SQLite's BINARY, PostgreSQL's "C" collation), or the orders would differ.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from chat_server.store.database import Database
from chat_server.store.sql import Row, Tx

Dialect = Literal["sqlite", "postgresql"]
Kind = Literal["int", "real", "text", "blob"]

# Every table of the schema, each after the tables its foreign keys point to.
TABLES: tuple[str, ...] = (
    "meta",
    "sites",
    "agents",
    "console_sessions",
    "account_changes",
    "agent_links",
    "audit_log",
    "recovery_codes",
    "login_challenges",
    "teams",
    "team_members",
    "labels",
    "customers",
    "widget_tokens",
    "customer_attributes",
    "customer_tags",
    "customer_notes",
    "consents",
    "orders",
    "customer_stats",
    "erasures",
    "rooms",
    "room_labels",
    "messages",
    "attachments",
    "read_marks",
    "ratings",
    "room_mutes",
    "faq_entries",
    "faq_phrasings",
    "faq_revisions",
    "faq_events",
    "site_origins",
    "rfm_dirty",
    "rfm_thresholds",
    "mail_outbox",
    "mail_inbound",
    "mail_threads",
    "canned_responses",
)
# The backends' own bookkeeping, never part of an installation's data.
INTERNAL_TABLES = frozenset({"sqlite_sequence", "schema_migrations"})
# SQLite's search index, its shadow tables and its watermark: fed from `messages` as the
# copy's chunks commit (store/search.py `index_new_messages`), never copied themselves.
DERIVED_TABLES = frozenset(
    {f"message_search{part}" for part in ("", "_data", "_idx", "_docsize", "_config")}
    | {"search_watermark"}
)

CHUNK_ROWS = 500


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


@dataclass(frozen=True, slots=True)
class TableSum:
    table: str
    rows: int
    sha256: str


@dataclass(frozen=True, slots=True)
class IdCounter:
    """A counter that hands out ids (AUTOINCREMENT, a PostgreSQL sequence) and its value."""

    table: str
    column: str
    value: int


def dialect(db: Database) -> Dialect:
    return "postgresql" if db.backend == "postgresql" else "sqlite"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def kind_of(declared: str) -> Kind:
    """A column's kind from its declared type, by SQLite's affinity rules (PostgreSQL's names
    fit them too: bigint, double precision, text, bytea, boolean)."""
    t = declared.upper()
    if "INT" in t or t == "BOOLEAN":
        return "int"
    if any(word in t for word in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if "BLOB" in t or "BYTEA" in t:
        return "blob"
    if any(word in t for word in ("REAL", "FLOA", "DOUB", "NUMERIC")):
        return "real"
    # A time or JSON type would need its own canonical spelling to compare across backends.
    raise ValueError(f"the copy does not know the column type {declared!r}")


def _coerce(value: Any, kind: Kind) -> Any:
    if value is None:
        return None
    if kind == "int":
        return int(value)
    if kind == "real":
        return float(value)
    if kind == "text":
        return value if isinstance(value, str) else str(value)
    return bytes(value)


def _canonical(value: Any) -> str:
    if value is None:
        return "N"
    if isinstance(value, bytes):
        return "B" + value.hex()
    if isinstance(value, float):
        return "R" + repr(value)
    if isinstance(value, int):
        return "I" + str(value)
    return "T" + str(value)


# -- the schema as each backend describes it ----------------------------------------------


async def table_names(db: Database) -> set[str]:
    if dialect(db) == "sqlite":
        rows = await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = await db.fetch_all(
            "SELECT table_name AS name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    return {str(row["name"]) for row in rows} - INTERNAL_TABLES - DERIVED_TABLES


async def describe(db: Database, name: str) -> Table:
    """A table's columns (in their order, generated columns left out) and primary key."""
    if dialect(db) == "sqlite":
        rows = await db.fetch_all(
            "SELECT name, type, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid", (name,)
        )
        columns = tuple(Column(r["name"], kind_of(r["type"])) for r in rows if not r["hidden"])
        keyed = sorted((r["pk"], r["name"]) for r in rows if r["pk"])
        key = tuple(column for _, column in keyed)
    else:
        rows = await db.fetch_all(
            "SELECT column_name AS name, data_type AS type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ?"
            " AND is_generated = 'NEVER' ORDER BY ordinal_position",
            (name,),
        )
        columns = tuple(Column(r["name"], kind_of(r["type"])) for r in rows)
        keys = await db.fetch_all(
            "SELECT k.column_name AS name FROM information_schema.table_constraints c"
            " JOIN information_schema.key_column_usage k"
            " ON k.constraint_name = c.constraint_name AND k.table_schema = c.table_schema"
            " AND k.table_name = c.table_name"
            " WHERE c.table_schema = current_schema() AND c.table_name = ?"
            " AND c.constraint_type = 'PRIMARY KEY' ORDER BY k.ordinal_position",
            (name,),
        )
        key = tuple(str(r["name"]) for r in keys)
    if not key:
        raise RuntimeError(f"table {name} has no primary key: it cannot be copied in order")
    return Table(name, columns, key)


async def sequences(db: Database) -> list[IdCounter]:
    """Every id counter of the schema, with the last value it handed out (0: none yet)."""
    found = []
    if dialect(db) == "sqlite":
        rows = await db.fetch_all(
            "SELECT m.name AS name, coalesce(s.seq, 0) AS value FROM sqlite_master m"
            " LEFT JOIN sqlite_sequence s ON s.name = m.name"
            " WHERE m.type = 'table' AND upper(m.sql) LIKE '%AUTOINCREMENT%'"
        )
        for row in rows:
            table = await describe(db, row["name"])
            found.append(IdCounter(table.name, table.key[0], int(row["value"])))
        return found
    rows = await db.fetch_all(
        "SELECT c.table_name AS name, c.column_name AS col,"
        " coalesce(s.last_value, 0) AS value FROM information_schema.columns c"
        " JOIN pg_sequences s ON s.schemaname = current_schema()"
        " AND format('%I.%I', s.schemaname, s.sequencename)"
        " = pg_get_serial_sequence(format('%I', c.table_name), c.column_name)"
        " WHERE c.table_schema = current_schema()"
    )
    return [IdCounter(r["name"], r["col"], int(r["value"])) for r in rows]


# -- reading and writing rows -------------------------------------------------------------


def _order(db: Database, table: Table) -> list[str]:
    kinds = {c.name: c.kind for c in table.columns}
    text_key = dialect(db) == "postgresql"
    return [
        _quote(k) + (' COLLATE "C"' if text_key and kinds[k] == "text" else "") for k in table.key
    ]


async def chunks(
    db: Database, table: Table, size: int = CHUNK_ROWS
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """The table's rows in primary-key order, coerced to their columns' kinds, in chunks."""
    columns = ", ".join(_quote(c) for c in table.column_names)
    order = _order(db, table)
    key_at = [table.column_names.index(k) for k in table.key]
    base = f"SELECT {columns} FROM {_quote(table.name)}"
    tail = f" ORDER BY {', '.join(order)} LIMIT {int(size)}"
    after: tuple[Any, ...] | None = None
    while True:
        if after is None:
            rows = await db.fetch_all(base + tail)
        else:
            marks = ", ".join("?" for _ in after)
            rows = await db.fetch_all(f"{base} WHERE ({', '.join(order)}) > ({marks}){tail}", after)
        if not rows:
            return
        out = [_coerced(row, table) for row in rows]
        yield out
        if len(rows) < size:
            return
        last = out[-1]
        after = tuple(last[i] for i in key_at)


def _coerced(row: Row, table: Table) -> tuple[Any, ...]:
    return tuple(_coerce(row[i], c.kind) for i, c in enumerate(table.columns))


def insert_rows(conn: Tx, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    columns = ", ".join(_quote(c) for c in table.column_names)
    marks = ", ".join("?" for _ in table.columns)
    conn.executemany(f"INSERT INTO {_quote(table.name)} ({columns}) VALUES ({marks})", rows)


async def count(db: Database, table: str) -> int:
    row = await db.fetch_one(f"SELECT count(*) AS n FROM {_quote(table)}")
    return int(row["n"]) if row is not None else 0


async def first_filled(db: Database, tables: Sequence[str]) -> str | None:
    """The first of `tables` that holds a row, or None when all are empty."""
    for name in tables:
        if await db.fetch_one(f"SELECT 1 AS one FROM {_quote(name)} LIMIT 1") is not None:
            return name
    return None


async def checksum(db: Database, table: Table) -> TableSum:
    digest = hashlib.sha256()
    rows = 0
    async for chunk in chunks(db, table):
        for row in chunk:
            line = json.dumps([_canonical(v) for v in row], ensure_ascii=False)
            digest.update(line.encode("utf-8") + b"\n")
        rows += len(chunk)
    return TableSum(table.name, rows, digest.hexdigest())


async def max_id(db: Database, table: str, column: str) -> int:
    row = await db.fetch_one(f"SELECT max({_quote(column)}) AS n FROM {_quote(table)}")
    return int(row["n"]) if row is not None and row["n"] is not None else 0


def set_sequence(conn: Tx, target: Dialect, seq: IdCounter) -> None:
    """Make the target's counter hand out ids after `seq.value` (done after the rows moved)."""
    if seq.value <= 0:
        return
    if target == "sqlite":
        updated = conn.execute(
            "UPDATE sqlite_sequence SET seq = CASE WHEN seq > ? THEN seq ELSE ? END WHERE name = ?",
            (seq.value, seq.value, seq.table),
        )
        if updated.rowcount == 0:
            conn.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (seq.table, seq.value)
            )
        return
    conn.execute(
        "SELECT setval(pg_get_serial_sequence(?, ?), ?, true)",
        (_quote(seq.table), seq.column, seq.value),
    )
