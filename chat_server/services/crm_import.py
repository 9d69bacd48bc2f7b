"""`sapa import customers|orders FILE --site`: CSV in, a per-line report out.

Lines that fail validation are skipped and reported by number; a fatal problem
(bad encoding, missing columns, an unknown site) imports nothing. The valid
lines go in one transaction, so a crash halfway leaves nothing half-imported.
"""

from __future__ import annotations

import sqlite3
import sys
from dataclasses import dataclass, field

from chat_server import errors
from chat_server.domain import crm_rules
from chat_server.store import crm as crm_store
from chat_server.store import sites as site_store
from chat_server.store.database import Database


@dataclass(slots=True)
class ImportReport:
    imported: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


async def run(
    db: Database, site_id: str, kind: str, raw: bytes, progress: bool = True
) -> ImportReport:
    if await site_store.get_site(db, site_id) is None:
        raise errors.not_found("site")
    parsed = crm_rules.customers_csv(raw) if kind == "customers" else crm_rules.orders_csv(raw)
    report = ImportReport(errors=list(parsed.errors))
    total = len(parsed.rows)

    def job(conn: sqlite3.Connection) -> None:
        for done, (line, row) in enumerate(parsed.rows, start=1):
            customer_id = crm_store.ensure_by_external(conn, site_id, row["external_id"])
            if kind == "customers":
                crm_store.apply_profile(conn, customer_id, row["profile"])
                report.imported += 1
            else:
                conn.execute("SAVEPOINT line")
                try:
                    _, created = crm_store.insert_order(conn, site_id, customer_id, row["order"])
                    conn.execute("RELEASE line")
                except errors.SapaError as exc:
                    conn.execute("ROLLBACK TO line")
                    conn.execute("RELEASE line")
                    report.errors.append(f"line {line}: {exc.message}")
                    continue
                if created:
                    report.imported += 1
                else:
                    report.unchanged += 1
            if progress and (done % 200 == 0 or done == total):
                _progress(done, total)
        if kind == "orders":
            crm_store.rescore_site(conn, site_id)

    await db.write(job)
    report.errors.sort(key=lambda text: int(text.split()[1].rstrip(":")))
    return report
