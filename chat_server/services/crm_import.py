"""`sapa import customers|orders FILE --site`: CSV in, a per-line report out.

Lines that fail validation are skipped and reported by number; a fatal problem
(bad encoding, missing columns, an unknown site) imports nothing. The valid
lines go in bounded chunks, each its own short transaction (at most
`CHUNK_ROWS` rows or about `CHUNK_BUDGET_S` of work), with a pause after each,
so that a server using the same file keeps acknowledging chat messages while a
big file goes in: its writer waits at most one chunk. A crash halfway leaves
whole rows and whole orders, never half of one; importing the same file again
finishes the job and changes nothing twice (customers are upserted by
`external_id`, orders are known by `order_id`).
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from chat_server import errors
from chat_server.domain import crm_rules
from chat_server.store import crm as crm_store
from chat_server.store import sites as site_store
from chat_server.store.database import Database
from chat_server.store.sql import Tx

CHUNK_ROWS = 500
CHUNK_BUDGET_S = 0.008
# After each chunk the file is left alone this long: a server's writer waiting on the lock
# retries every 2 ms or less, so it gets in before the next chunk.
PAUSE_S = 0.005


# What `sapa import customers|orders --help` prints (README.md shows the same).
CUSTOMERS_FORMAT = """\
CSV, UTF-8, with a header row. Columns (only external_id is required):
  external_id  your shop's id for the customer (1-128 characters); a known id is updated
  name, email, phone, locale ("id" or "en")
  tags         separated by |, e.g. vip|reseller (replaces the customer's tags)
  any other    becomes an attribute of that name (city, member_since, ...)

Example:
  external_id,name,email,phone,locale,tags,city
  cus-1001,Ani Lestari,ani@contoh.id,+6281211110001,id,vip|reseller,Medan

Sample file: chat_server/data/sample_customers.csv
A bad line is skipped and reported; the rest is imported in short chunks, so a
running server keeps answering chats. Importing the same file again is safe.
"""

ORDERS_FORMAT = """\
CSV, UTF-8, with a header row. Columns (external_id and order_id are required):
  external_id  the customer (created when unknown)
  order_id     your order number; one order may take several lines, one per item
  total        the order's total; empty: the sum of quantity x price of its items
  currency     3 letters, default IDR
  placed_at    RFC 3339, e.g. 2026-11-28T09:15:00+07:00 (default: now)
  sku, name, quantity, price   one item per line (quantity default 1)
  items        or: all items as a JSON list on the order's line, e.g.
               [{"sku": "KAOS-HTM-L", "name": "Kaos", "quantity": 2, "price": 85000}]
The first line of an order gives its external_id, total, currency and placed_at;
its other lines may leave them empty.

Example (items as columns):
  external_id,order_id,total,currency,placed_at,sku,name,quantity,price
  cus-1001,INV-24001,,IDR,2026-11-28T09:15:00+07:00,KAOS-HTM-L,Kaos Polos Hitam L,2,85000
  cus-1001,INV-24001,,,,TAS-KNV,Tas Kanvas,1,120000

Example (items as JSON; quote the field and double its quotes):
  external_id,order_id,total,placed_at,items
  cus-1002,INV-24010,85000,2026-11-25T10:00:00+07:00,"[{""sku"": ""KAOS-PTH-M"", ""quantity"": 1, ""price"": 85000}]"

Sample file: chat_server/data/sample_orders.csv
An order_id already stored is left unchanged; a bad order is skipped and reported
with its line numbers. Scores (RFM) follow within seconds on a running server.
"""


@dataclass(slots=True)
class ImportReport:
    imported: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ChunkResult:
    next_index: int
    imported: int
    unchanged: int
    errors: tuple[str, ...]


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _chunk(
    conn: Tx,
    site_id: str,
    kind: str,
    rows: list[tuple[int, dict[str, Any]]],
    start: int,
) -> ChunkResult:
    """Import rows from `start` until the chunk's row or time budget is spent.

    Pure towards Python state (it answers what it did): the writer may run it again from the
    start when another process held the lock.
    """
    began = time.monotonic()
    imported = unchanged = 0
    problems: list[str] = []
    index = start
    while index < len(rows) and index - start < CHUNK_ROWS:
        if index > start and time.monotonic() - began >= CHUNK_BUDGET_S:
            break
        line, row = rows[index]
        index += 1
        if kind == "customers":
            crm_store.profile_by_external(conn, site_id, row["external_id"], row["profile"])
            imported += 1
            continue
        try:
            # A refused order is undone alone: the chunk's other lines stay in its transaction.
            _, created = crm_store.order_by_external(
                conn, site_id, row["external_id"], row["order"]
            )
        except errors.SapaError as exc:
            problems.append(f"line {line}: {exc.message}")
            continue
        if created:
            imported += 1
        else:
            unchanged += 1
    return ChunkResult(index, imported, unchanged, tuple(problems))


def _first_line(text: str) -> int:
    found = re.search(r"\d+", text)
    return int(found.group()) if found else 0


def parse(kind: str, raw: bytes) -> crm_rules.CsvReport:
    return crm_rules.customers_csv(raw) if kind == "customers" else crm_rules.orders_csv(raw)


async def run(
    db: Database, site_id: str, kind: str, raw: bytes, progress: bool = True
) -> ImportReport:
    if await site_store.get_site(db, site_id) is None:
        raise errors.not_found("site")
    parsed = parse(kind, raw)
    report = await import_rows(db, site_id, kind, parsed.rows, progress)
    report.errors = sorted([*parsed.errors, *report.errors], key=_first_line)
    return report


async def import_rows(
    db: Database,
    site_id: str,
    kind: str,
    rows: list[tuple[int, dict[str, Any]]],
    progress: bool = False,
) -> ImportReport:
    """Write parsed rows in bounded chunks, pausing after each (see the module's docstring)."""
    report = ImportReport()
    total = len(rows)
    index, shown = 0, 0
    while index < total:
        done = await db.write_bulk(
            partial(_chunk, site_id=site_id, kind=kind, rows=rows, start=index)
        )
        index = done.next_index
        report.imported += done.imported
        report.unchanged += done.unchanged
        report.errors += done.errors
        if progress and (index - shown >= 1000 or index == total):
            shown = index
            _progress(index, total)
        await asyncio.sleep(PAUSE_S)
    return report
