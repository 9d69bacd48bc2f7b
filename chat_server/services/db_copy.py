"""Moving an installation to another database (`sapa db copy`), then proving it arrived.

Every server must be stopped first: the copy reads the source in chunks, not in one
snapshot, and the verification reads it again, so a write made meanwhile shows up as a
mismatch rather than going missing quietly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from chat_server.errors import ErrorCode, SapaError
from chat_server.services.storage import Store, open_store
from chat_server.store import copy as copy_store
from chat_server.store.copy import IdCounter, Table, TableSum
from chat_server.store.sql import Tx

# (phase "copy" or "verify", table, rows done so far, rows in the table)
ProgressFn = Callable[[str, str, int, int], None]


@dataclass(frozen=True, slots=True)
class Mismatch:
    source: TableSum
    target: TableSum


@dataclass(frozen=True, slots=True)
class CopyReport:
    tables: tuple[TableSum, ...]
    mismatches: tuple[Mismatch, ...]

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _fail(message: str) -> SapaError:
    return SapaError(ErrorCode.CONFLICT, message)


async def copy_installation(source_url: str, target_url: str, progress: ProgressFn) -> CopyReport:
    if source_url == target_url:
        raise SapaError(ErrorCode.BAD_REQUEST, "--from and --to name the same database")
    source = await open_store(source_url)
    try:
        target = await open_store(target_url)
        try:
            return await copy_between(source, target, progress)
        finally:
            await target.close()
    finally:
        await source.close()


async def tables_to_copy(source: Store, target: Store) -> list[Table]:
    """The tables to copy, read as the target declares them; refuses schemas that differ."""
    known = set(copy_store.TABLES)
    for side, db in (("source", source), ("target", target)):
        names = await copy_store.table_names(db)
        if names - known:
            unknown = ", ".join(sorted(names - known))
            raise _fail(f"the {side} has tables this version cannot copy: {unknown}")
        if known - names:
            missing = ", ".join(sorted(known - names))
            raise _fail(f"the {side} lacks tables: {missing}")
    tables = []
    for name in copy_store.TABLES:
        try:
            theirs, ours = (
                await copy_store.describe(source, name),
                await copy_store.describe(target, name),
            )
        except ValueError as exc:
            raise _fail(f"{name}: {exc}") from exc
        if set(theirs.column_names) != set(ours.column_names) or theirs.key != ours.key:
            raise _fail(f"table {name} has other columns in the source than in the target")
        # The source's column order, the target's kinds: values arrive as the target wants them.
        kinds = {c.name: c.kind for c in ours.columns}
        columns = tuple(copy_store.Column(c, kinds[c]) for c in theirs.column_names)
        tables.append(Table(name, columns, ours.key))
    return tables


async def copy_between(source: Store, target: Store, progress: ProgressFn) -> CopyReport:
    tables = await tables_to_copy(source, target)
    filled = await copy_store.first_filled(target, copy_store.TABLES)
    if filled is not None:
        raise _fail(
            f"the target database is not empty ({filled} has rows): copy into a new, empty one"
        )
    for table in tables:
        total = await copy_store.count(source, table.name)
        done = 0
        progress("copy", table.name, done, total)
        # One chunk is written while the next is read.
        writing: asyncio.Future[None] | None = None
        try:
            async for chunk in copy_store.chunks(source, table):

                def job(
                    conn: Tx, table: Table = table, rows: list[tuple[object, ...]] = chunk
                ) -> None:
                    copy_store.insert_rows(conn, table, rows)

                if writing is not None:
                    await writing
                    progress("copy", table.name, done, total)
                writing = asyncio.ensure_future(target.write_bulk(job))
                done += len(chunk)
        finally:
            if writing is not None:
                # Also when the read failed: the write's own error, if any, is not lost.
                await writing
        if done:
            progress("copy", table.name, done, total)
    await _carry_counters(source, target)
    return await verify(source, target, tables, progress)


async def _carry_counters(source: Store, target: Store) -> None:
    """Ids handed out after the copy continue past every id the source ever handed out."""
    used = {c.table: c.value for c in await copy_store.sequences(source)}
    counters = []
    for counter in await copy_store.sequences(target):
        highest = await copy_store.max_id(target, counter.table, counter.column)
        value = max(used.get(counter.table, 0), highest)
        counters.append(IdCounter(counter.table, counter.column, value))
    kind = copy_store.dialect(target)

    def job(conn: Tx) -> None:
        for counter in counters:
            copy_store.set_sequence(conn, kind, counter)

    # An ordinary (fully synced) write: it also makes the bulk chunks before it durable.
    await target.write(job)


async def verify(
    source: Store, target: Store, tables: list[Table], progress: ProgressFn
) -> CopyReport:
    sums, mismatches = [], []
    for table in tables:
        theirs, ours = await asyncio.gather(
            copy_store.checksum(source, table), copy_store.checksum(target, table)
        )
        sums.append(theirs)
        if theirs != ours:
            mismatches.append(Mismatch(theirs, ours))
        progress("verify", table.name, ours.rows, theirs.rows)
    return CopyReport(tuple(sums), tuple(mismatches))
