"""`sapa faq import|export`: the same rules as the REST import, with a progress bar."""

from __future__ import annotations

import json
import sys

from chat_server import errors
from chat_server.domain.faq_rules import FaqFields, export_csv, parse_import
from chat_server.services.faq import entry_view
from chat_server.store import faq as faq_store
from chat_server.store import sites as site_store
from chat_server.store.database import Database
from chat_server.store.sql import Tx


def _progress(done: int, total: int) -> None:
    if not sys.stderr.isatty() and done not in (total,):
        return
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


async def import_file(db: Database, site_id: str, raw: bytes, fmt: str) -> int:
    if await site_store.get_site(db, site_id) is None:
        raise errors.not_found("site")
    entries = parse_import(raw, fmt)  # a bad line stops here, before anything is written
    total = len(entries)

    def job(conn: Tx, chunk: list[FaqFields]) -> None:
        for fields in chunk:
            faq_store.insert_entry(conn, site_id, fields)

    # One transaction for the whole file (nothing half-imported), shown in steps.
    def whole(conn: Tx) -> int:
        for start in range(0, total, 100):
            job(conn, entries[start : start + 100])
            _progress(min(start + 100, total), total)
        return total

    return await db.write(whole)


async def export_text(db: Database, site_id: str, fmt: str) -> str:
    if await site_store.get_site(db, site_id) is None:
        raise errors.not_found("site")
    views = [entry_view(e) for e in await faq_store.list_entries(db, site_id)]
    if fmt == "csv":
        return export_csv(views)
    keep = ("question", "answer", "category", "tags", "lang", "status")
    rows = [
        {k: v[k] for k in keep} | {"phrasings": [p["text"] for p in v["phrasings"]]} for v in views
    ]
    return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
